"""What a run writes: plan.csv, usage.csv, summary.json, report.xlsx, and the console summary.

Files are written into a temporary sibling folder and renamed into place at the end, so a
half-written result folder never looks finished (outputs.publish, which also refuses to replace a
folder that is not ours); every CSV and workbook goes through outputs' safe writers.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .appraisal import PLAN_APPRAISAL_COLUMNS, PLAN_BIAS_COLUMNS, benefits_table
from .figures import external_staff, objective_text, spend_by_year  # spend_by_year: the dashboard reads it here
from .formatting import money
# publish: the one way to write a folder; EXPLANATION_FOLDERS: what explanations add to one (both re-exported)
from .outputs import EXPLANATION_FOLDERS, publish, save_workbook, write_csv, write_frame  # noqa: F401
from .result import Result

OUTPUT_FILES = ("plan.csv", "usage.csv", "summary.json", "report.xlsx", "run.json", "changes.csv", "benefits.csv")
PLAN_COLUMNS = ["id", "name", "selected", "start", "go_live", "pv_benefit", "pv_revenue", "in_year_revenue",
                "pv_cost", "reason"]
# format v1.1: the initiative's status, and the training its plan puts inside the horizon
PLAN_V11_COLUMNS = ["status", "trainer_fte_periods", "clinical_fte_periods", "training_cost"]


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def plan_frame(result: Result) -> pd.DataFrame:
    """plan.csv: the spec's columns first, the Green Book's (and, with optimism bias on, the uplifted
    figures and the appraisal without it), then the user's passthrough columns."""
    plan = result.plan.reset_index().rename(columns={"initiative": "id"})
    money = [c for c in PLAN_APPRAISAL_COLUMNS + PLAN_BIAS_COLUMNS if c in plan.columns]
    extra = [c for c in plan.columns if c not in PLAN_COLUMNS + PLAN_V11_COLUMNS + money and c not in
             ("category", "directorate", "mandatory", "start_index", "go_live_index", "alignment", "value")]
    return plan[PLAN_COLUMNS + PLAN_V11_COLUMNS + money + extra]


def benefits_frame(result: Result) -> pd.DataFrame:
    """benefits.csv: the benefits realisation schedule of the plan (appraisal.benefits_table)."""
    return benefits_table(result.portfolio, result.starts)


def changes_frame(result: Result) -> pd.DataFrame:
    """changes.csv: what the plan changes against the approved plan (empty without one)."""
    from .replan import changes_table  # the model side, loaded only when there are changes to write

    return changes_table(result.portfolio, result.starts, result.plan)


def busiest_staff(result: Result) -> tuple[str, float, str] | None:
    """(role, peak utilisation of its per-period limit, period) for the busiest staff role."""
    p = result.portfolio
    staff = set(p.resources.index[p.resources["kind"] == "staff"])
    u = result.usage
    u = u[u["resource"].isin(staff) & u["capacity"].notna() & (u["capacity"] > 0)]
    if u.empty:
        return None
    util = (u["used"] - u["external"].fillna(0)) / u["capacity"]
    k = util.idxmax()
    return str(u.at[k, "resource"]), float(util[k]), str(u.at[k, "period"])


def summary_dict(result: Result) -> dict:
    s = result.summary()
    s["spend_by_year"] = spend_by_year(result).to_dict(orient="records") if result.has_plan else []
    if result.check is not None:
        s["check"] = {"ok": result.check.ok, "violations": result.check.violations,
                      "objective": result.check.objective}
    s["warnings"] = [str(w) for w in result.portfolio.warnings]
    s["passthrough_columns"] = result.portfolio.passthrough_columns
    return _clean(s)


def console_summary(result: Result) -> str:
    lines = [f"Scenario {result.scenario}: {result.status.value.upper()}"
             + (f" (gap {result.gap:.2%} to the best bound)" if result.gap is not None else "")
             + (f" - {result.message}" if result.message else "")]
    if not result.has_plan:
        return "\n".join(lines + diagnosis_lines(result) + conflict_lines(result))
    c = result.components
    n_sel = int(result.plan["selected"].sum())
    lines.append(f"Initiatives in: {n_sel} of {len(result.plan)}")
    lines.append(f"NPV: {money(c.get('npv'))}   In-year revenue: {money(c.get('in_year_revenue'))}   "
                 f"Alignment: {c.get('alignment', 0.0):,.1f} points")
    lines.append(f"Objective: {objective_text(result)}")
    lines += green_book_lines(result)
    lines += spend_lines(spend_by_year(result))
    lines += changes_lines(result)
    busy = busiest_staff(result)
    if busy:
        lines.append(f"Busiest staff role: {busy[0]}, {busy[1]:.0%} of its own capacity in {busy[2]}")
    fte, cost, roles = external_staff(result)
    if fte > 0:
        lines.append(f"External staff bought: {fte:.1f} FTE-periods, {money(cost)} ({', '.join(roles)})")
    lines.append(f"Solved by {result.solver_version} in {result.seconds:.1f} s")
    return "\n".join(lines)


def diagnosis_lines(result: Result) -> list[str]:
    """Why an infeasible scenario has no plan and the least that would fix it, in plain words."""
    if not result.diagnosis:
        return []
    replan = len(result.portfolio.approved) > 0
    lines = ["Why the approved plan cannot be kept:" if replan else "What makes it infeasible, and the least that would fix it:"]
    lines += [f"  - {item['text']}" for item in result.diagnosis]
    if result.diagnosis_note:
        lines.append(f"  ({result.diagnosis_note})")
    if result.diagnosis_within_limits:
        from .diagnose import WITHIN_LIMITS

        lines += [WITHIN_LIMITS] + [f"  - {item['text']}" for item in result.diagnosis_within_limits]
    return lines


def _bcr(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def green_book_lines(result: Result) -> list[str]:
    """Green Book appraisal of the plan (with and without optimism bias when it is on) and its targets."""
    g = result.green_book
    if not g:
        return []
    bias = " with optimism bias" if g.get("optimism_bias") else ""
    lines = [f"Green Book{bias}: PV costs {money(g['pv_costs'])}, PV benefits {money(g['pv_benefits'])}, "
             f"NPSV {money(g['npsv'])}, BCR {_bcr(g['bcr'])}"]
    off = g.get("without_optimism_bias")
    if off:
        lines.append(f"  without optimism bias (same starts): PV costs {money(off['pv_costs'])}, PV benefits "
                     f"{money(off['pv_benefits'])}, NPSV {money(off['npsv'])}, BCR {_bcr(off['bcr'])}")
    targets = result.targets
    for t in (targets.itertuples() if targets is not None else ()):
        words = t.measure.replace("_", " ")
        lines.append(f"Target {words} {t.financial_year}: {money(t.achieved)} against at least {money(t.at_least)}"
                     f" ({'met' if t.headroom >= -1e-6 * max(1.0, t.at_least) else 'MISSED'})")
    return lines


def spend_lines(spend: pd.DataFrame) -> list[str]:
    """Spend against the committed budget per financial year, milestone-gated money apart."""
    if spend.empty:
        return []
    gated = spend["gated"].fillna(0).abs().sum() > 0.5
    head = f"  {'year':<9}{'capital':>13}{'budget':>13}" + (f"{'+ gated':>12}" if gated else "") + \
        f"{'revenue':>13}{'budget':>13}" + (f"{'+ gated':>12}" if gated else "")
    lines = ["Spend against budget per financial year:", head]
    by = spend.set_index(["resource", "financial_year"])
    for fy in dict.fromkeys(spend["financial_year"]):
        line = f"  {fy:<9}"
        for resource in ("capital", "revenue"):
            row = by.loc[(resource, fy)] if (resource, fy) in by.index else None
            keys = ("spend", "budget", "gated") if gated else ("spend", "budget")
            for key in keys:
                text = "-" if row is None else money(row[key]) if not (key == "gated" and abs(row[key]) < 0.5) \
                    else "-"
                line += f"{text:>{12 if key == 'gated' else 13}}"
        lines.append(line)
    if gated:
        lines.append("  (budget: committed money; + gated: central money released only because this plan "
                     "meets a milestone)")
    return lines


def changes_lines(result: Result) -> list[str]:
    """The console's Changes section: what the re-plan changes against the approved plan, and its price."""
    p = result.portfolio
    if len(p.approved):
        changes, head = changes_frame(result), "Changes against the approved plan"
    else:  # without an approved plan, only work in progress that stops is a change worth a line
        changes = pd.DataFrame({"id": p.ids[p.in_progress & ~result.plan["selected"].to_numpy()], "change": "stopped"})
        head = "Changes"
    if changes.empty:
        return ["Changes against the approved plan: none (every approved initiative keeps its start)"] \
            if len(p.approved) else []
    lines = [f"{head}:"]
    for kind in ("stopped", "dropped", "moved", "added"):
        part = changes[changes["change"] == kind]
        if part.empty:
            continue
        if kind == "moved":
            items = [f"{r.id} ({r.approved_start} -> {r.new_start})" for r in part.itertuples()]
        elif kind == "added":
            items = [f"{r.id} ({r.new_start})" for r in part.itertuples()]
        else:
            items = list(part["id"])
        lines.append(f"  {kind.capitalize()} ({len(part)}): " + ", ".join(items))
        if kind == "stopped":  # what each stop saves, pays and loses: the plan's own words
            lines += [f"    {iid}: {stop_words(result.plan.at[iid, 'reason'])}" for iid in part["id"]]
    c = result.components
    if c.get("stop_cost"):
        lines.append(f"  Stop costs paid: {money(c['stop_cost'])}")
    if c.get("change_penalty"):
        lines.append(f"  Change penalties in the objective: {money(c['change_penalty'])} (a score, not money)")
    return lines


def stop_words(reason: str) -> str:
    """A stopped initiative's reason without its leading "stopped": "saves £X of remaining cost, pays £Y exit
    cost, loses £Z benefit", after "forced out by the scenario: " when the scenario stopped it."""
    text = str(reason)
    if text.startswith("stopped ("):
        why, rest = text[len("stopped ("):].split("): ", 1)
        return f"{why}: {rest}"
    return text.removeprefix("stopped: ")


def conflict_lines(result: Result) -> list[str]:
    """The diagnosis per approved initiative (replan.approved_conflicts): which approved initiatives cannot
    all keep their starts, the limits each draws on and how much of each it uses at its approved start."""
    if not result.diagnosis or result.model is None or not len(result.portfolio.approved):
        return []
    from .replan import approved_conflicts

    lines = []
    for entry in approved_conflicts(result.model, result.diagnosis):
        iid, start = entry["initiative"], entry["approved_start"]
        parts = [f"{lim['resource']} {lim['period']}" + ("" if lim["uses"] is None else
                                                         f" (uses {_amount(result, lim['resource'], lim['uses'])})")
                 for lim in entry["limits"]] + [text.removeprefix(f"{iid} ") for text in entry["rules"]]
        lines.append(f"  {iid} ({'in flight' if start == 'in flight' else 'approved ' + start}): " + "; ".join(parts))
    return (["Approved initiatives in the way (what each uses at its approved start):"] + lines) if lines else []


def _amount(result: Result, resource: str, x: float) -> str:
    return money(x) if result.portfolio.resources.at[resource, "kind"] == "money" else f"{x:.2f} FTE"


def write_outputs(result: Result, out_dir: str | Path, extra: dict[str, str] | None = None,
                  workbook: bool = True) -> Path:
    """Write plan.csv, usage.csv, report.xlsx (when there is a plan and `workbook`) and summary.json
    atomically."""
    def fill(tmp: Path) -> None:
        summary = summary_dict(result)
        if result.has_plan:
            write_csv(plan_frame(result), tmp / "plan.csv")
            write_csv(benefits_frame(result), tmp / "benefits.csv")
            write_csv(result.usage, tmp / "usage.csv")
            if len(result.portfolio.approved):
                write_csv(changes_frame(result), tmp / "changes.csv")
            if workbook:
                write_workbook(result, tmp / "report.xlsx", summary)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text)
    return publish(out_dir, fill)


MONEY_COLUMNS = {"pv_benefit", "pv_revenue", "in_year_revenue", "pv_cost", "spend", "budget", "gated", "available",
                 "headroom", "npv", "value_lost", "training_cost"}


def format_sheet(ws, frame: pd.DataFrame) -> None:
    """An analyst's table written by pandas (header in row 1): bold header, frozen, filtered, £ on
    money columns, readable widths, printed landscape one page wide."""
    from openpyxl.utils import get_column_letter

    from .formatting import XL_MONEY, XL_SCORE
    from .xlsx import header_style, print_setup

    ws.freeze_panes = "B2"
    for cell in ws[1]:
        header_style(cell)
    for j, col in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)]) + 2
        ws.column_dimensions[letter].width = min(max(width, 10), 60)
        fmt = XL_MONEY if col in MONEY_COLUMNS or str(col).startswith(("capital_", "revenue_")) else \
            XL_SCORE if col == "objective" else None
        if fmt:
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].number_format = fmt
    ws.auto_filter.ref = ws.dimensions
    print_setup(ws, title_rows="1:1")


def write_workbook(result: Result, path: Path, summary: dict) -> None:
    """report.xlsx: the board pack (see workbook.py, one function per sheet)."""
    from .workbook import write_workbook as write_pack

    write_pack(result, path, summary)


def workbook(sheets: dict[str, pd.DataFrame]):
    """An openpyxl workbook of one formatted sheet per table, each cell written safely
    (outputs.write_frame: text is never a formula); save it with outputs.save_workbook."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        ws = book.create_sheet(name)
        write_frame(ws, frame)
        format_sheet(ws, frame)
    return book
