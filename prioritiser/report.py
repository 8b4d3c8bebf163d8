"""What a run writes: plan.csv, usage.csv, summary.json, report.xlsx, and the console summary.

Files are written into a temporary sibling folder and renamed into place at the end, so a
half-written result folder never looks finished.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import Result
from .formatting import money

OUTPUT_FILES = ("plan.csv", "usage.csv", "summary.json", "report.xlsx", "run.json")
PLAN_COLUMNS = ["id", "name", "selected", "start", "go_live", "pv_benefit", "pv_revenue", "in_year_revenue",
                "pv_cost", "reason"]


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
    """plan.csv: the spec's columns first, then the user's passthrough columns."""
    plan = result.plan.reset_index().rename(columns={"initiative": "id"})
    extra = [c for c in plan.columns if c not in PLAN_COLUMNS and c not in
             ("category", "directorate", "mandatory", "start_index", "go_live_index", "alignment", "value")]
    return plan[PLAN_COLUMNS + extra]


def spend_by_year(result: Result) -> pd.DataFrame:
    """Capital and revenue spend against budget per financial year (budget = year rows, or the
    sum of per-period rows when the year has none)."""
    p = result.portfolio
    H = p.horizon
    usage = result.usage
    per = usage[usage["period"].isin(H.labels)].copy()
    per["fy"] = [H.fy_label_of(H.labels.index(lbl)) for lbl in per["period"]]
    rows = []
    for resource in ("capital", "revenue"):
        part = per[per["resource"] == resource]
        year_rows = usage[(usage["resource"] == resource) & ~usage["period"].isin(H.labels)]
        for fy, grp in part.groupby("fy", sort=False):
            yr = year_rows[year_rows["period"] == fy]
            budget = float(yr["capacity"].iloc[0]) if len(yr) else (
                float(grp["capacity"].sum()) if grp["capacity"].notna().all() else float("nan"))
            spent = float(grp["used"].sum())
            rows.append({"resource": resource, "financial_year": fy, "spend": spent, "budget": budget,
                         "headroom": budget - spent if budget == budget else float("nan")})
    return pd.DataFrame(rows)


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
        return "\n".join(lines)
    c = result.components
    n_sel = int(result.plan["selected"].sum())
    lines.append(f"Initiatives in: {n_sel} of {len(result.plan)}")
    lines.append(f"Objective: {money(result.objective)}   NPV: {money(c.get('npv'))}   "
                 f"In-year revenue: {money(c.get('in_year_revenue'))}")
    spend = spend_by_year(result)
    if not spend.empty:
        lines.append("Spend against budget per financial year:")
        lines.append(f"  {'year':<9}{'capital':>14}{'of budget':>14}{'revenue':>14}{'of budget':>14}")
        for fy in dict.fromkeys(spend["financial_year"]):
            cap = spend[(spend.resource == "capital") & (spend.financial_year == fy)]
            rev = spend[(spend.resource == "revenue") & (spend.financial_year == fy)]
            def cell(df, col):
                return money(float(df[col].iloc[0])) if len(df) else "-"
            lines.append(f"  {fy:<9}{cell(cap, 'spend'):>14}{cell(cap, 'budget'):>14}"
                         f"{cell(rev, 'spend'):>14}{cell(rev, 'budget'):>14}")
    busy = busiest_staff(result)
    if busy:
        lines.append(f"Busiest staff role: {busy[0]}, {busy[1]:.0%} of its own capacity in {busy[2]}")
    ext = result.usage["external"].fillna(0)
    if ext.sum() > 0:
        u = result.usage[ext > 0]
        roles = ", ".join(sorted(set(u["resource"])))
        lines.append(f"External staff bought: {ext.sum():.1f} FTE-periods ({roles})")
    lines.append(f"Solved by {result.solver_version} in {result.seconds:.1f} s")
    return "\n".join(lines)


def publish(out_dir: str | Path, fill) -> Path:
    """Create `out_dir` atomically: `fill(tmp)` writes into a hidden sibling that is renamed into
    place only when complete, replacing an earlier folder of the same name."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide results from colleagues
    try:
        fill(tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def write_outputs(result: Result, out_dir: str | Path, extra: dict[str, str] | None = None) -> Path:
    """Write plan.csv, usage.csv, report.xlsx (when there is a plan) and summary.json atomically."""
    def fill(tmp: Path) -> None:
        summary = summary_dict(result)
        if result.has_plan:
            plan_frame(result).to_csv(tmp / "plan.csv", index=False)
            result.usage.to_csv(tmp / "usage.csv", index=False)
            write_workbook(result, tmp / "report.xlsx", summary)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text)
    return publish(out_dir, fill)


MONEY_COLUMNS = {"pv_benefit", "pv_revenue", "in_year_revenue", "pv_cost", "spend", "budget", "headroom",
                 "objective", "npv"}


def format_sheet(ws, frame: pd.DataFrame) -> None:
    """Bold NHS-blue header, frozen, readable widths, £ formats on money columns."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="005EB8")  # NHS blue
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for j, col in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)]) + 2
        ws.column_dimensions[letter].width = min(max(width, 10), 60)
        if col in MONEY_COLUMNS or str(col).startswith(("capital_", "revenue_")):
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].number_format = '£#,##0;-£#,##0'


def write_workbook(result: Result, path: Path, summary: dict) -> None:
    c = result.components
    headline = pd.DataFrame([
        ("Scenario", result.scenario), ("Status", result.status.value), ("Gap to best bound", result.gap),
        ("Objective (£)", result.objective), ("Best bound (£)", result.bound), ("NPV (£)", c.get("npv")),
        ("PV benefit (£)", c.get("pv_benefit")), ("PV revenue (£)", c.get("pv_revenue")),
        ("In-year revenue (£)", c.get("in_year_revenue")), ("Alignment score", c.get("alignment")),
        ("PV cost (£)", c.get("pv_cost")), ("PV external staff (£)", c.get("pv_external")),
        ("Initiatives in", int(result.plan["selected"].sum())), ("Initiatives considered", len(result.plan)),
        ("Solver", result.solver_version), ("Seconds", round(result.seconds, 2)),
        ("Input SHA-256", result.portfolio.input_hash), ("prioritiser version", summary["package_version"]),
        ("Note", result.message or ""),
    ], columns=["Item", "Value"])
    plan = plan_frame(result)
    spend = spend_by_year(result)
    usage = result.usage
    warnings = pd.DataFrame({"Warning": summary.get("warnings", [])})
    sheets = {"Summary": headline, "Plan": plan, "Spend by year": spend, "Usage": usage, "Warnings": warnings}
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            frame.to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            format_sheet(ws, frame)
            if name == "Summary":
                for row in ws.iter_rows(min_row=2, min_col=2, max_col=2):
                    label = ws.cell(row=row[0].row, column=1).value or ""
                    if "(£)" in label:
                        row[0].number_format = '£#,##0;-£#,##0'
                    elif label.startswith("Gap"):
                        row[0].number_format = "0.00%"
