"""report.xlsx as a board pack: a registry of sheet builders, one function per sheet.

Each sheet is a function `build(ws, pack)` registered with `@sheet(name, order)`; the workbook
holds the registered sheets in `order` (a sheet whose `when(pack)` is false is left out). To add a
sheet (Explanations, Changes, Benefits, ...), write one builder beside these, for example::

    @sheet("Changes", order=25, when=lambda pack: len(pack.portfolio.approved) > 0)
    def changes(ws, pack):
        write_table(ws, frame, {"id": Col("ID"), ...}, title="Changes against the approved plan")

and lay its table out with `xlsx.write_table` (human headers, number formats, filter, frozen
header, print set-up). The figures come from `figures.py`, the same numbers the console prints.
"""
from __future__ import annotations

import datetime as dt
from copy import copy
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from . import figures
from .explain import BINDING_SHARE, limit_amount
from .formatting import XL_MONEY, XL_SCORE, money, score
from .outputs import save_workbook
from .xlsx import (BODY_SIZE, FONT, LIVE_GREEN, NHS_BLUE, PALE_BLUE, Col, cell_text, cell_value, header_style,
                   print_setup, styled, widths, write_table, write_title)


@dataclass
class Sheet:
    name: str
    order: float
    build: Callable
    when: Callable | None = None


SHEETS: dict[str, Sheet] = {}


def sheet(name: str, order: float, when: Callable | None = None):
    """Register `build(ws, pack)` as the sheet `name`, placed by `order`."""
    def register(build: Callable) -> Callable:
        SHEETS[name] = Sheet(name, order, build, when)
        return build
    return register


@dataclass
class Pack:
    """What the sheet builders read: the result, its summary.json content and shared figures."""

    result: object
    summary: dict

    @property
    def portfolio(self):
        return self.result.portfolio

    @property
    def horizon(self):
        return self.result.portfolio.horizon

    @cached_property
    def spend(self) -> pd.DataFrame:
        return figures.spend_by_year(self.result)

    @cached_property
    def initiatives(self) -> pd.DataFrame:
        return figures.initiative_figures(self.result)

    @cached_property
    def staff(self) -> pd.DataFrame:
        return figures.staff_use(self.result)

    @property
    def discounting(self) -> str:
        rate = self.portfolio.settings.discount_rate
        return f"discounted at {rate:.1%} a year to {self.horizon.start}"


def write_workbook(result, path: Path, summary: dict) -> None:
    """Every registered sheet that applies, in order, into one workbook at `path`."""
    pack = Pack(result, summary)
    book = Workbook()
    book.remove(book.active)
    for spec in sorted(SHEETS.values(), key=lambda s: s.order):
        if spec.when is not None and not spec.when(pack):
            continue
        spec.build(book.create_sheet(spec.name), pack)
    book.active = 0
    save_workbook(book, path)  # no text cell is ever a formula (outputs.defuse)


# -------------------------------------------------------------------------------------- Summary
POINTS = '0.0 "points"'
SUMMARY_WIDTHS = {"A": 34, **{get_column_letter(j): 13.5 for j in range(2, 10)}}
LAST_COLUMN = 9  # I: the spend table's width


class _Rows:
    """Writes the Summary sheet top to bottom."""

    def __init__(self, ws):
        self.ws, self.row = ws, 3

    def heading(self, text: str) -> None:
        self.row += 1
        cell = self.ws.cell(self.row, 1, cell_text(text))
        cell.font = Font(name=FONT, bold=True, size=12, color=NHS_BLUE)
        self.row += 1

    def item(self, label: str, value, kind: str = "text", note: str = "") -> None:
        """A label, its value (formatted by kind) and a note merged across the rest of the row."""
        ws, r = self.ws, self.row
        ws.cell(r, 1, cell_text(label)).font = Font(name=FONT, bold=True, size=BODY_SIZE)
        cell = ws.cell(r, 2, cell_value(value, kind))
        cell.font = Font(name=FONT, size=BODY_SIZE)
        cell.alignment = Alignment(horizontal="right" if kind != "text" else "left", vertical="top")
        if kind == "money":
            cell.number_format = XL_MONEY
        elif kind == "score":
            cell.number_format = XL_SCORE
        elif kind == "points":
            cell.number_format = POINTS
        first_note = 3
        if kind == "text":  # a sentence: let it run across the row
            ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=LAST_COLUMN)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            lines = max(1, -(-len(str(value)) // 120))
            ws.row_dimensions[r].height = 13.5 * lines
        elif note:
            n = ws.cell(r, first_note, cell_text(note))
            n.font = Font(name=FONT, italic=True, size=9, color="425563")
            n.alignment = Alignment(indent=1, vertical="top")
            ws.merge_cells(start_row=r, start_column=first_note, end_row=r, end_column=LAST_COLUMN)
        self.row += 1


@sheet("Summary", order=10)
def summary_sheet(ws, pack: Pack) -> None:
    r = pack.result
    widths(ws, SUMMARY_WIDTHS)
    note = (r.portfolio.scenario.description if r.portfolio.scenario is not None else "") or ""
    write_title(ws, f"Digital portfolio plan: {r.scenario}", note or None, LAST_COLUMN)
    rows = _Rows(ws)
    _result_block(rows, pack)
    _headline_block(rows, pack)
    _green_book_block(rows, pack)
    _objective_block(rows, pack)
    _spend_block(rows, pack)
    _provenance_block(rows, pack)
    print_setup(ws, fit_height=1)
    ws.print_area = f"A1:{get_column_letter(LAST_COLUMN)}{rows.row}"


def _result_block(rows: _Rows, pack: Pack) -> None:
    r = pack.result
    plan = r.plan
    sel = plan["selected"]
    mandatory = plan["mandatory"].astype(bool)
    rows.heading("Result")
    rows.item("Status", figures.status_text(r))
    rows.item("Initiatives in the plan", f"{int(sel.sum())} of {len(plan)}, including {int((sel & mandatory).sum())} "
              f"of {int(mandatory.sum())} mandatory")
    check = r.check
    if check is not None:
        rows.item("Independent check", "Passed: every rule re-checked and the objective re-scored by separate code"
                  if check.ok else "FAILED: " + "; ".join(check.violations[:3]))


def _headline_block(rows: _Rows, pack: Pack) -> None:
    r, c = pack.result, pack.result.components
    spend = pack.spend
    rows.heading(f"Headline figures (£; present values {pack.discounting})")
    rows.item("Net present value (NPV)", c.get("npv"), "money",
              "PV of benefits + PV of new revenue - PV of initiative costs - PV of external staff")
    rows.item("PV of benefits", c.get("pv_benefit"), "money", "monetised benefits after go-live, inside the horizon")
    rows.item("PV of new revenue", c.get("pv_revenue"), "money", "new income after go-live")
    rows.item("PV of initiative costs", c.get("pv_cost"), "money", "capital, build revenue, running costs, money demands")
    rows.item("PV of external staff bought", c.get("pv_external"), "money", "contractors and agency, charged to revenue")
    if c.get("stop_cost"):
        rows.item("Stop costs paid", c["stop_cost"], "money", "work in flight stopped: contract exit and write-off, "
                  "revenue in the first period")
    if "change_penalty" in c:
        rows.item("Change penalties", c["change_penalty"], "money", "approved initiatives moved or dropped, priced by "
                  "changes.move_penalty and drop_penalty: part of the objective, not money spent")
    rows.item(f"In-year revenue {pack.horizon.fy_labels[0]}", c.get("in_year_revenue"), "money",
              "new income in the first financial year, not discounted")
    for resource in ("capital", "revenue"):
        part = spend[spend["resource"] == resource]
        gated = float(part["gated"].sum())
        rows.item(f"{resource.capitalize()} spend over the horizon", float(part["spend"].sum()), "money",
                  f"against {money(part['budget'].sum())} committed budget"
                  + (f" and {money(gated)} milestone-gated central funding this plan unlocks" if gated > 0.5 else
                     "; no milestone-gated funding used"))
    fte, cost, roles = figures.external_staff(r)
    if fte > 0:
        rows.item("External staff bought (£, not discounted)", cost, "money",
                  f"{fte:,.1f} FTE-periods of {', '.join(roles)}")
    rows.item("Strategic alignment", c.get("alignment", 0.0), "points",
              "weighted alignment scores of the initiatives in the plan: points, not £")


def _objective_block(rows: _Rows, pack: Pack) -> None:
    r = pack.result
    ws = rows.ws
    rows.heading("What the objective is made of")
    terms = figures.objective_terms(r)
    head = ["Term", "Amount", "Weight", "Counts in the objective as"]
    for j, text in enumerate(head, start=1):
        header_style(ws.cell(rows.row, j, text))
    ws.row_dimensions[rows.row].height = 28
    rows.row += 1
    for t in terms.itertuples():
        ws.cell(rows.row, 1, cell_text(t.term)).font = Font(name=FONT, size=BODY_SIZE)
        amount = ws.cell(rows.row, 2, cell_value(t.amount, "money" if t.unit == "£" else "points"))
        amount.number_format = XL_MONEY if t.unit == "£" else POINTS
        ws.cell(rows.row, 3, float(t.weight)).number_format = "#,##0.####"
        ws.cell(rows.row, 4, cell_value(t.contribution, "score")).number_format = XL_SCORE
        for j in (2, 3, 4):
            ws.cell(rows.row, j).font = Font(name=FONT, size=BODY_SIZE)
        rows.row += 1
    ws.cell(rows.row, 1, "Objective (a score, not money)").font = Font(name=FONT, bold=True, size=BODY_SIZE)
    total = ws.cell(rows.row, 4, cell_value(r.objective, "score"))
    total.number_format = XL_SCORE
    total.font = Font(name=FONT, bold=True, size=BODY_SIZE)
    rows.row += 1
    note = ws.cell(rows.row, 1, cell_text(
        "The optimiser chooses the plan with the highest objective. Money terms count in £; alignment points "
        "count at their weight, so the objective is a score, not a sum of money: the money is the NPV above."))
    note.font = Font(name=FONT, italic=True, size=9, color="425563")
    ws.merge_cells(start_row=rows.row, start_column=1, end_row=rows.row, end_column=LAST_COLUMN)
    rows.row += 1


SPEND_HEAD = ["Financial year", "Capital spend", "Committed capital", "Gated capital landed", "Capital headroom",
              "Revenue spend", "Committed revenue", "Gated revenue landed", "Revenue headroom"]


def _spend_block(rows: _Rows, pack: Pack) -> None:
    ws = rows.ws
    rows.heading("Spend against budget per financial year (£)")
    for j, text in enumerate(SPEND_HEAD, start=1):
        header_style(ws.cell(rows.row, j, text))
    ws.row_dimensions[rows.row].height = 28
    rows.row += 1
    spend = pack.spend.set_index(["resource", "financial_year"])
    for fy in pack.horizon.fy_labels:
        ws.cell(rows.row, 1, fy).font = Font(name=FONT, size=BODY_SIZE)
        for k, resource in enumerate(("capital", "revenue")):
            row = spend.loc[(resource, fy)] if (resource, fy) in spend.index else None
            for n, key in enumerate(("spend", "budget", "gated", "headroom")):
                cell = ws.cell(rows.row, 2 + 4 * k + n, None if row is None else cell_value(row[key], "money"))
                cell.number_format = XL_MONEY
                cell.font = Font(name=FONT, size=BODY_SIZE)
        rows.row += 1
    note = ws.cell(rows.row, 1, cell_text(
        "Committed = the budget set for the year (with any funding not tied to a milestone). Gated = central "
        "money released only because this plan meets its milestone; without that milestone it does not arrive."))
    note.font = Font(name=FONT, italic=True, size=9, color="425563")
    note.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=rows.row, start_column=1, end_row=rows.row, end_column=LAST_COLUMN)
    ws.row_dimensions[rows.row].height = 25
    rows.row += 1


def _provenance_block(rows: _Rows, pack: Pack) -> None:
    r, s = pack.result, pack.summary
    rows.heading("How this plan was made")
    rows.item("Solved by", f"{r.solver_version or r.solver} in {r.seconds:.1f} s"
              + (f"; {r.message}" if r.message else ""))
    rows.item("Inputs (SHA-256)", r.portfolio.input_hash or "-")
    rows.item("prioritiser version, written", f"{s.get('package_version', '')}, "
              f"{dt.datetime.now().strftime('%d %B %Y %H:%M')}")


# ----------------------------------------------------------------------------------------- Plan
def _plan_frame(pack: Pack) -> tuple[pd.DataFrame, dict[str, Col]]:
    r = pack.result
    plan = r.plan
    fig = pack.initiatives
    frame = pd.DataFrame({"id": plan.index, "name": plan["name"], "category": plan["category"],
                          "mandatory": plan["mandatory"].astype(bool),
                          "selected": plan["selected"].astype(bool)}).reset_index(drop=True)
    for key in ("start", "go_live", "capital", "revenue", "pv_cost", "npv", "alignment"):
        frame[key] = fig[key].to_numpy()
    frame["pv_gain"] = (fig["pv_benefit"] + fig["pv_revenue"]).to_numpy()
    frame["reason"] = plan["reason"].to_numpy()
    frame["status"] = [STATUS_WORDS.get(s, s) for s in plan["status"]]
    for key in ("trainer_fte_periods", "clinical_fte_periods", "training_cost"):
        frame[key] = plan[key].to_numpy()
    _green_book_columns(frame, plan)
    cols = {"id": Col("ID", width=10), "name": Col("Initiative", "wrap", 28), "category": Col("Category", width=13),
            "mandatory": Col("Mandatory", "bool", 10), "selected": Col("In plan", "bool", 7),
            "start": Col("Start (best start if left out)", "period", 11), "go_live": Col("Go-live", "period", 10),
            "capital": Col("Capital (£)", "money", 12), "revenue": Col("Revenue cost (£)", "money", 12),
            "pv_gain": Col("PV benefits and revenue (£)", "money", 13), "pv_cost": Col("PV costs (£)", "money", 12),
            "npv": Col("NPV (£)", "money", 12), "alignment": Col("Alignment (points)", "points", 9),
            "reason": Col("Why it is left out", "wrap", 46), "status": Col("Status", width=11)}
    if (frame[["trainer_fte_periods", "clinical_fte_periods", "training_cost"]].to_numpy() > 0).any():
        cols.update({"trainer_fte_periods": Col("Training: trainer FTE-periods", "fte", 10),
                     "clinical_fte_periods": Col("Training: clinical FTE-periods", "fte", 10),
                     "training_cost": Col("Training: bank and locum pay (£)", "money0", 12)})
    cols.update({k: v for k, v in GREEN_BOOK_COLS.items() if k in frame.columns})
    for extra in r.portfolio.passthrough_columns.get("initiatives", []):
        if extra in plan.columns and extra not in frame.columns:
            frame[extra] = plan[extra].to_numpy()
            cols[extra] = Col(extra, "text")
    order = np.lexsort((frame["id"].to_numpy(), ~frame["selected"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True), cols


@sheet("Plan", order=20)
def plan_sheet(ws, pack: Pack) -> None:
    frame, cols = _plan_frame(pack)
    area = write_table(ws, frame, cols, title=f"The plan: every initiative, in or out ({pack.result.scenario})",
                       note="Initiatives in the plan first. Money is at the planned start; for an initiative left out "
                            "it is what it would cost and earn at its best start (in grey), to compare with what is "
                            "in. Capital and revenue cost: £ drawn inside the horizon, not discounted. PV = present "
                            f"value, {pack.discounting}. Alignment is in points, not £.",
                       freeze_columns=2)
    grey = Font(name=FONT, size=BODY_SIZE, italic=True, color="6F6F6F")
    out_styles = {}
    for n, selected in enumerate(frame["selected"], start=area.first_row):
        if not selected:
            for j in range(1, len(cols) + 1):
                cell = ws.cell(n, j)
                key = tuple(cell._style)
                if key not in out_styles:
                    cell.font = grey
                    out_styles[key] = copy(cell._style)
                cell._style = copy(out_styles[key])


STATUS_WORDS = {"proposed": "proposed", "approved": "approved", "in_progress": "in flight"}
APPROVED_MARK = "◆"  # on the Roadmap: an approved initiative's approved start


# -------------------------------------------------------------------------------------- Changes
@sheet("Changes", order=25, when=lambda pack: len(pack.portfolio.approved) > 0)
def changes_sheet(ws, pack: Pack) -> None:
    from .report import changes_frame

    r = pack.result
    frame = changes_frame(r)
    frame.insert(1, "name", [r.plan.at[i, "name"] for i in frame["id"]])
    frame["change"] = frame["change"].map({"stopped": "stopped (was in flight)", "dropped": "dropped",
                                           "moved": "moved", "added": "added"})
    c = r.components
    price = "; ".join(part for part in (
        f"change penalties in the objective {money(c['change_penalty'])}" if c.get("change_penalty") else "",
        f"stop costs paid {money(c['stop_cost'])}" if c.get("stop_cost") else "") if part)
    if frame.empty:
        frame = pd.DataFrame([{"id": "", "name": "No change: every approved initiative keeps its start, and "
                               "nothing is added", "approved_start": "", "new_start": "", "change": "", "reason": ""}])
    write_table(ws, frame, {"id": Col("ID", width=10), "name": Col("Initiative", "wrap", 32),
                            "approved_start": Col("Approved start", "period", 12),
                            "new_start": Col("New start", "period", 12), "change": Col("Change", width=20),
                            "reason": Col("Why", "wrap", 60)},
                title="Changes against the approved plan",
                note="Each approved initiative that moves, drops or (in flight) stops, and what is added (the rows "
                     "of changes.csv)." + (f" {price[:1].upper()}{price[1:]}." if price else ""))


# -------------------------------------------------------------------------------------- Roadmap
@sheet("Roadmap", order=30)
def roadmap_sheet(ws, pack: Pack) -> None:
    r, H = pack.result, pack.horizon
    plan = r.plan[r.plan["selected"]].copy()
    plan = plan.assign(_s=plan["start_index"]).sort_values(["_s", "go_live_index"], kind="stable")
    frame = pd.DataFrame({"id": plan.index, "name": plan["name"].to_numpy(), "category": plan["category"].to_numpy(),
                          "start": plan["start"].to_numpy(), "go_live": plan["go_live"].to_numpy()})
    cols = {"id": Col("ID", width=10), "name": Col("Initiative", "wrap", 36), "category": Col("Category", width=13),
            "start": Col("Start", "period", 10), "go_live": Col("Go-live", "period", 10)}
    cycle = bool((plan["status"] != "proposed").any())  # work in flight or an approved plan: say which is which
    if cycle:
        frame.insert(3, "status", [STATUS_WORDS.get(s, s) for s in plan["status"]])
        cols = {**dict(list(cols.items())[:3]), "status": Col("Status", width=10), **dict(list(cols.items())[3:])}
    approved = pd.Series(r.portfolio.approved_starts, index=r.portfolio.ids).reindex(plan.index).to_numpy()
    for t, label in enumerate(H.labels):
        frame[f"p{t}"] = np.where((approved == t) & (plan["status"] == "approved").to_numpy(), APPROVED_MARK, None)
        cols[f"p{t}"] = Col(label, "text", 3.4)
    note = "Dark blue: in build. Green: live (benefits and running costs). One column per period." + (
        f" {APPROVED_MARK}: the start the board approved (a move shows as {APPROVED_MARK} away from the bar's start)."
        if len(r.portfolio.approved) else "")
    area = write_table(ws, frame, cols, title="Roadmap: when each initiative is built and goes live", note=note,
                       freeze_columns=2)
    header = area.header_row
    ws.row_dimensions[header].height = 66
    for j in range(len(cols) - H.T + 1, len(cols) + 1):
        ws.cell(header, j).alignment = Alignment(text_rotation=90, horizontal="center", vertical="center")
    build = styled(ws, fill=PatternFill("solid", fgColor=NHS_BLUE))
    live = styled(ws, fill=PatternFill("solid", fgColor=LIVE_GREEN))
    first = len(cols) - H.T + 1
    for n, (s, g) in enumerate(zip(plan["start_index"], plan["go_live_index"]), start=area.first_row):
        for t in range(int(s), H.T):
            ws.cell(n, first + t)._style = copy(build if t < g else live)
        for t in np.flatnonzero(frame.loc[n - area.first_row, [f"p{t}" for t in range(H.T)]].notna().to_numpy()):
            mark = ws.cell(n, first + int(t))  # white on the blue of a build, black elsewhere
            mark.font = Font(name=FONT, size=BODY_SIZE, bold=True, color="FFFFFF" if s <= t < g else "000000")
            mark.alignment = Alignment(horizontal="center")


# ---------------------------------------------------------------------------------- Cost by year
@sheet("Cost by year", order=40)
def cost_sheet(ws, pack: Pack) -> None:
    r = pack.result
    table = figures.money_by_year(r)
    names = r.plan["name"]
    frame = pd.DataFrame({"id": table.index, "name": [names.get(i, "bought in by the plan") for i in table.index]})
    cols = {"id": Col("ID", width=14), "name": Col("Initiative", "wrap", 28)}
    for resource in ("capital", "revenue"):
        part = table[resource]
        for fy in part.columns:
            key = f"{resource}:{fy}"
            frame[key] = part[fy].to_numpy()
            cols[key] = Col(f"{resource.capitalize()} {fy} (£)", "money0", 12)
        frame[f"{resource}:total"] = part.sum(axis=1).to_numpy()
        cols[f"{resource}:total"] = Col(f"{resource.capitalize()} total (£)", "money0", 13)
    area = write_table(ws, frame, cols, title="Cost per financial year of each initiative in the plan",
                       note="Capital and revenue (build, running costs and money demands) each initiative draws in "
                            "each financial year, not discounted, inside the horizon. External staff bought in is "
                            "charged to revenue.", freeze_columns=2)
    total_row = area.last_row + 1
    ws.cell(total_row, 1, "Total").font = Font(name=FONT, bold=True, size=BODY_SIZE)
    for j, key in enumerate(cols, start=1):
        if cols[key].kind.startswith("money"):
            cell = ws.cell(total_row, j, cell_value(frame[key].sum(), "money"))
            cell.number_format = XL_MONEY
            cell.font = Font(name=FONT, bold=True, size=BODY_SIZE)
            cell.fill = PatternFill("solid", fgColor=PALE_BLUE)


# ---------------------------------------------------------------------------------- Spend by year
SPEND_COLS = {"resource": Col("Money", width=10), "financial_year": Col("Financial year", "period", 11),
              "spend": Col("Spend (£)", "money"), "budget": Col("Committed budget (£)", "money"),
              "gated": Col("Milestone-gated funding landed (£)", "money", 15),
              "available": Col("Available: committed + gated (£)", "money", 15),
              "headroom": Col("Headroom (£)", "money"), "used": Col("Share of available used", "share", 11)}


@sheet("Spend by year", order=50)
def spend_sheet(ws, pack: Pack) -> None:
    frame = pack.spend.copy()
    frame["used"] = frame["spend"] / frame["available"].where(frame["available"] > 0)
    area = write_table(ws, frame, SPEND_COLS, title="Spend against budget per financial year",
                       note="Committed budget is the money set for the year (and funding not tied to a milestone). "
                            "Milestone-gated central funding lands only because this plan meets its milestone.",
                       freeze_columns=2)
    anchor_row = area.last_row + 3
    for k, resource in enumerate(("capital", "revenue")):
        rows = [n for n, res in enumerate(frame["resource"], start=area.first_row) if res == resource]
        if rows:
            ws.add_chart(_spend_chart(ws, area, resource, rows[0], rows[-1]), f"{'A' if k == 0 else 'E'}{anchor_row}")
    print_setup(ws, title_rows=f"{area.header_row}:{area.header_row}", fit_height=1)


def _chart_title(text: str):
    """A chart title in 11-point bold (a plain string title is drawn at 18 points)."""
    from openpyxl.chart.text import RichText
    from openpyxl.chart.title import Title
    from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun

    props = CharacterProperties(sz=1100, b=True)
    para = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=openpyxl_text(RichText(p=[para])), overlay=False)


def openpyxl_text(rich):
    from openpyxl.chart.text import Text

    return Text(rich=rich)


def _spend_chart(ws, area, resource: str, first: int, last: int):
    letters = area.letters
    col = {k: ws[f"{v}1"].column for k, v in letters.items()}
    years = Reference(ws, min_col=col["financial_year"], min_row=first, max_row=last)
    bars = BarChart()
    bars.type, bars.grouping = "col", "clustered"
    bars.title = _chart_title(f"{resource.capitalize()}: spend against budget (£)")
    bars.y_axis.numFmt = XL_MONEY
    bars.y_axis.majorGridlines = None
    bars.add_data(Reference(ws, min_col=col["spend"], min_row=first, max_row=last), titles_from_data=False)
    bars.set_categories(years)
    bars.series[0].tx = SeriesLabel(v="Spend")
    bars.series[0].graphicalProperties.solidFill = NHS_BLUE
    lines = LineChart()
    for key, label, colour, dash in (("budget", "Committed budget", "000000", "solid"),
                                     ("available", "Committed + milestone-gated", "D5281B", "dash")):
        lines.add_data(Reference(ws, min_col=col[key], min_row=first, max_row=last), titles_from_data=False)
        s = lines.series[-1]
        s.tx = SeriesLabel(v=label)
        s.graphicalProperties.line.solidFill = colour
        s.graphicalProperties.line.prstDash = dash
        s.graphicalProperties.line.width = 22000
        s.smooth = False
    lines.set_categories(years)
    bars += lines
    bars.legend.position = "b"
    bars.height, bars.width = 7.5, 9.2
    return bars


# ----------------------------------------------------------------------------------------- Staff
@sheet("Staff", order=60, when=lambda pack: bool((pack.portfolio.resources["kind"] == "staff").any()))
def staff_sheet(ws, pack: Pack) -> None:
    H = pack.horizon
    use = pack.staff[pack.staff["period"].isin(H.labels)]
    roles = list(dict.fromkeys(use["role"]))
    share = use.pivot(index="role", columns="period", values="share").reindex(index=roles, columns=H.labels)
    frame = share.reset_index()
    frame.columns = ["role", *[f"p{t}" for t in range(H.T)]]
    frame["peak"] = share.max(axis=1).to_numpy()
    cols = {"role": Col("Role", width=20)}
    cols.update({f"p{t}": Col(label, "share", 5.2) for t, label in enumerate(H.labels)})
    cols["peak"] = Col("Peak", "share", 7)
    area = write_table(ws, frame, cols, title="Staff: share of each role's own capacity used, per period",
                       note="In-house FTE used / FTE available. Green under 80%, amber towards 100%, red at or over "
                            "capacity. Work beyond it is external staff bought in (see Usage). Blank: no limit.")
    ws.row_dimensions[area.header_row].height = 62
    for j in range(2, H.T + 2):
        ws.cell(area.header_row, j).alignment = Alignment(text_rotation=90, horizontal="center", vertical="center")
    first, last = area.letters["p0"], area.letters["peak"]
    ws.conditional_formatting.add(
        f"{first}{area.first_row}:{last}{max(area.last_row, area.first_row)}",
        ColorScaleRule(start_type="num", start_value=0, start_color="63BE7B", mid_type="num", mid_value=0.8,
                       mid_color="FFEB84", end_type="num", end_value=1, end_color="F8696B"))


# ----------------------------------------------------------------------------------------- Usage
@sheet("Usage", order=70)
def usage_sheet(ws, pack: Pack) -> None:
    r = pack.result
    p = r.portfolio
    kind = p.resources["kind"]
    u = r.usage.copy()
    ext = u["external"].astype(float)
    cost = ext * p.resources["external_cost"].reindex(u["resource"]).to_numpy(float)
    frame = pd.DataFrame({"resource": u["resource"], "period": u["period"],
                          "unit": ["£" if kind.get(x) == "money" else "FTE" for x in u["resource"]],
                          "used": u["used"], "capacity": u["capacity"], "external": ext, "external_cost": cost})
    frame["share"] = frame["used"] / frame["capacity"].where(frame["capacity"] > 0)
    frame["binding"] = u["binding"].astype(bool)
    cols = {"resource": Col("Resource", width=20), "period": Col("Period or year", "period", 12),
            "unit": Col("Unit", width=6), "used": Col("Used", "number", 14), "capacity": Col("Limit", "number", 14),
            "share": Col("Share of limit used", "share", 10), "binding": Col("Binds", "bool", 7),
            "external": Col("External staff bought (FTE)", "fte", 11),
            "external_cost": Col("External staff cost (£)", "money", 13)}
    area = write_table(ws, frame, cols, title="Usage of every resource against its limits",
                       note="One row per resource and period, then one per financial-year limit. Money in £, staff "
                            "in FTE; limits include funding that lands under this plan. A limit binds (in bold) when "
                            f"the plan uses it to within {BINDING_SHARE:.1%} of its capacity. External staff cost is "
                            "not discounted.")
    money_rows = frame["unit"].to_numpy() == "£"
    bold = Font(name=FONT, size=BODY_SIZE, bold=True)
    for n, (is_money, binds) in enumerate(zip(money_rows, frame["binding"]), start=area.first_row):
        fmt = XL_MONEY if is_money else "0.00"
        for key in ("used", "capacity"):
            ws[f"{area.letters[key]}{n}"].number_format = fmt
        if binds:
            for letter in area.letters.values():
                ws[f"{letter}{n}"].font = bold


# ---------------------------------------------------------------------------------- Explanations
EXPLANATION_COLUMNS = {"kind": Col("What", width=13), "item": Col("Limit or initiative", width=16),
                       "name": Col("Period or name", "wrap", 24), "explanation": Col("Why", "wrap", 50),
                       "value": Col("Objective lost by reversing it, or gained from one more step", "score", 16),
                       "changes": Col("What else changes", "wrap", 36)}


@sheet("Explanations", order=75)
def explanations_sheet(ws, pack: Pack) -> None:
    """Why the plan is as it is, one row per explanation: the limits that bind (with what one more
    step of each buys, when measured), then each initiative left out and each one in (with what
    reversing the decision costs, when measured)."""
    more = pack.result.explanations
    frame = pd.concat([_binding_rows(pack, more.get("marginal")), _decision_rows(pack, more.get("opportunity"))],
                      ignore_index=True)
    measured = "opportunity" in more or "marginal" in more
    write_table(ws, frame, EXPLANATION_COLUMNS, title=f"Why the plan is as it is ({pack.result.scenario})",
                note=f"A limit binds when the plan uses it to within {BINDING_SHARE:.1%} of its capacity. "
                     + ("The value column: for a limit, the objective gained by raising it one step and re-optimising; "
                        "for an initiative, the objective lost by reversing its decision (out if in, in if out) and "
                        "re-optimising (for a mandatory one, what the mandate costs). It is a score, in £ when the "
                        "objective is NPV." if measured else
                        "Run `prioritiser explain` for what reversing each decision costs and what one more step of "
                        "each limit buys."), freeze_columns=2)


def _binding_rows(pack: Pack, marginal: pd.DataFrame | None) -> pd.DataFrame:
    p = pack.portfolio
    u = pack.result.usage
    u = u[u["binding"].astype(bool)]
    gains = marginal.set_index(["resource", "period"]) if marginal is not None and len(marginal) else None
    rows = []
    for r in u.itertuples():
        show = partial(limit_amount, p, r.resource)
        text = f"uses {show(r.used)} of {show(r.capacity)}"
        if r.used > r.capacity and r.external == r.external and r.external > 0:
            text += f", buying {show(r.external)} from outside"
        value = None
        if gains is not None and (r.resource, r.period) in gains.index:
            g = gains.loc[(r.resource, r.period)]
            value = g["objective_gain"]
            text += f"; one more step ({show(g['step'])}) gains the objective {score(value)}"
        rows.append({"kind": "Limit binds", "item": r.resource, "name": r.period, "explanation": text,
                     "value": value, "changes": ""})
    return pd.DataFrame(rows, columns=list(EXPLANATION_COLUMNS))


def _decision_rows(pack: Pack, opportunity: pd.DataFrame | None) -> pd.DataFrame:
    plan = pack.result.plan
    out = ~plan["selected"].astype(bool)
    mandatory = plan["mandatory"].astype(bool)
    frame = pd.DataFrame({"kind": np.where(out, "Left out", np.where(mandatory, "In (mandatory)", "In the plan")),
                          "item": plan.index, "name": plan["name"],
                          "explanation": plan["reason"].where(out, np.where(mandatory, "mandatory", "in the plan")),
                          "value": np.nan, "changes": ""}).reset_index(drop=True)
    if opportunity is not None and len(opportunity):
        o = opportunity.set_index("id")
        frame["value"] = o["opportunity_cost"].reindex(frame["item"]).to_numpy()
        frame["changes"] = o["changes"].reindex(frame["item"]).fillna("").to_numpy()
    return frame.iloc[np.lexsort((frame["item"].to_numpy(), ~out.to_numpy()))].reset_index(drop=True)


# -------------------------------------------------------------------------------------- Warnings
@sheet("Warnings", order=90)
def warnings_sheet(ws, pack: Pack) -> None:
    items = pack.summary.get("warnings", []) or ["No warnings: the input raised none."]
    write_table(ws, pd.DataFrame({"warning": items}), {"warning": Col("Warning", "wrap", 120)},
                title="Warnings about the input", note="Things that did not stop the run but deserve a look.")


# --------------------------------------------------------------------- money rules (issue 13)
GREEN_BOOK_COLS = {"bcr": Col("BCR", "number", 8),
                   "capital_cost_uplifted": Col("Capital with optimism bias (£)", "money", 13),
                   "duration_uplifted": Col("Build periods with optimism bias", "integer", 10),
                   "npsv_without_ob": Col("NPSV without optimism bias (£)", "money", 13),
                   "bcr_without_ob": Col("BCR without optimism bias", "number", 10)}


def _green_book_columns(frame: pd.DataFrame, plan: pd.DataFrame) -> None:
    """The Plan sheet's Green Book columns, as plan.csv has them (blank for what is left out)."""
    for key in GREEN_BOOK_COLS:
        if key in plan.columns:
            frame[key] = plan[key].to_numpy()


def _green_book_block(rows: _Rows, pack: Pack) -> None:
    """HM Treasury Green Book appraisal of the plan, with and without optimism bias; the targets it meets."""
    g, r = pack.result.green_book, pack.result
    if not g:
        return
    off = g.get("without_optimism_bias")
    rows.heading("Green Book appraisal (£, present values)" + (" with optimism bias" if off else ""))
    note = " (without optimism bias: {})" if off else ""
    for key, label, what in (("pv_costs", "PV costs", "whole life to the horizon's end, external staff and stop "
                              "costs included"), ("pv_benefits", "PV benefits", "benefits and new revenue"),
                             ("npsv", "Net present social value (NPSV)", "PV benefits - PV costs")):
        rows.item(label, g[key], "money", what + (note.format(money(off[key])) if off else ""))
    bcr = "-" if g["bcr"] is None else f"{g['bcr']:.2f}"
    rows.item("Benefit-cost ratio (BCR)", bcr + (f"; without optimism bias {off['bcr']:.2f}" if off and off["bcr"]
                                                  is not None else "") + " (PV benefits / PV costs)")
    if off:
        rows.item("Optimism bias", "capital and build durations uplifted before the plan was chosen (see the Plan "
                  "sheet); the figures without it price the same starts at the costs and durations as given")
    targets = r.targets
    for t in (targets.itertuples() if targets is not None else ()):
        rows.item(f"Target: {t.measure.replace('_', ' ')} {t.financial_year}", t.achieved, "money",
                  f"at least {money(t.at_least)}: " + ("met" if t.headroom >= -1e-6 * max(1.0, t.at_least)
                                                         else "MISSED"))


BENEFITS_COLS = {"id": Col("ID", width=10), "name": Col("Initiative", "wrap", 28),
                 "financial_year": Col("Financial year", width=10), "benefit": Col("Benefit (£)", "money0", 13),
                 "cash_releasing": Col("Cash-releasing (£)", "money0", 13),
                 "non_cash_releasing": Col("Non-cash-releasing (£)", "money0", 13),
                 "revenue": Col("New revenue (£)", "money0", 13)}


@sheet("Benefits", order=35, when=lambda pack: bool(pack.result.plan["selected"].any()))
def benefits_sheet(ws, pack: Pack) -> None:
    """benefits.csv for the board: per selected initiative and financial year, then each year's total."""
    from .report import benefits_frame

    r = pack.result
    frame = benefits_frame(r)
    frame.insert(1, "name", [r.plan.at[i, "name"] for i in frame["id"]])
    totals = frame.groupby("financial_year", sort=False)[["benefit", "cash_releasing", "non_cash_releasing",
                                                         "revenue"]].sum().reset_index()
    totals.insert(0, "id", "Total")
    totals.insert(1, "name", "every initiative in the plan")
    area = write_table(ws, pd.concat([frame, totals], ignore_index=True), BENEFITS_COLS,
                       title="Benefits realisation schedule: what the plan counts on, per financial year",
                       note="Not discounted. Cash-releasing benefits are real savings that count towards the "
                            "cost-improvement target; the rest is time saved and quality. The rows of benefits.csv, "
                            "then each year's total.", freeze_columns=3)
    for n in range(area.first_row + len(frame), area.last_row + 1):
        for j in range(1, len(BENEFITS_COLS) + 1):
            ws.cell(n, j).font = Font(name=FONT, bold=True, size=BODY_SIZE)
