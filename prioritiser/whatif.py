"""The comparative questions: what changed between two plans, what a funding cut costs and which
initiatives go first, and what value each level of budget buys (a frontier from re-optimisation).

Stress tests and frontiers write one scenario file per level (each `extends` the user's scenario,
which is never modified) and solve them with the batch runner, so they get its isolation,
deadlines and resumability.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .batch import BatchResult, run_batch
from .formatting import money
from .periods import sort_key
from .scenario import Adjustment, extension_doc, load_scenario, write_scenario


# ------------------------------------------------------------------------------------------ compare
@dataclass
class Comparison:
    a: str
    b: str
    changes: pd.DataFrame  # index initiative: change (added/dropped/moved), start_a, start_b, periods_moved
    metrics: pd.DataFrame  # index metric: a, b, change
    text: str

    def __str__(self) -> str:
        return self.text


def _plan_and_summary(source) -> tuple[str, pd.DataFrame, dict]:
    from .engine import Result
    from .report import plan_frame, summary_dict

    if isinstance(source, Result):
        return source.scenario, plan_frame(source), summary_dict(source)
    folder = Path(source)
    summary = json.loads((folder / "summary.json").read_text())
    plan_path = folder / "plan.csv"
    plan = pd.read_csv(plan_path, dtype={"start": str, "go_live": str}, keep_default_na=False) if plan_path.exists() \
        else pd.DataFrame(columns=["id", "selected", "start"])
    return summary.get("scenario", folder.name), plan, summary


def _period_order(labels) -> dict[str, int]:
    return {lbl: n for n, lbl in enumerate(sorted(set(labels) - {""}, key=sort_key))}


def compare(a, b) -> Comparison:
    """Added, dropped and moved initiatives and the change in headline figures from plan A to B.

    `a` and `b` are result folders (as `prioritiser run` writes them) or Result objects."""
    name_a, plan_a, sum_a = _plan_and_summary(a)
    name_b, plan_b, sum_b = _plan_and_summary(b)
    sel_a = plan_a.set_index("id")["start"].where(plan_a.set_index("id")["selected"].astype(str) == "True", "")
    sel_b = plan_b.set_index("id")["start"].where(plan_b.set_index("id")["selected"].astype(str) == "True", "")
    both = pd.concat([sel_a.rename("start_a"), sel_b.rename("start_b")], axis=1).fillna("")
    order = _period_order(list(both["start_a"]) + list(both["start_b"]))
    change = np.select([(both.start_a == "") & (both.start_b != ""), (both.start_a != "") & (both.start_b == ""),
                        (both.start_a != both.start_b)], ["added", "dropped", "moved"], "")
    both["change"] = change
    both["periods_moved"] = [order[b_] - order[a_] if c == "moved" else 0
                             for a_, b_, c in zip(both.start_a, both.start_b, change)]
    changes = both[both["change"] != ""][["change", "start_a", "start_b", "periods_moved"]]
    changes.index.name = "initiative"
    changes = changes.sort_values(["change", "initiative"])

    def metric(summary, key):
        if key in ("objective", "gap"):
            return summary.get(key)
        return (summary.get("components") or {}).get(key)

    rows = []
    for key, label in (("objective", "objective"), ("npv", "NPV"), ("in_year_revenue", "in-year revenue")):
        va, vb = metric(sum_a, key), metric(sum_b, key)
        rows.append((label, va, vb, (vb - va) if va is not None and vb is not None else None))
    spend = {}
    for side, summary in (("a", sum_a), ("b", sum_b)):
        for item in summary.get("spend_by_year", []):
            spend.setdefault(f"{item['resource']} spend {item['financial_year']}", {})[side] = item["spend"]
    for label, vals in spend.items():
        va, vb = vals.get("a"), vals.get("b")
        rows.append((label, va, vb, (vb - va) if va is not None and vb is not None else None))
    metrics = pd.DataFrame(rows, columns=["metric", "a", "b", "change"]).set_index("metric")

    lines = [f"Comparing {name_a} (A, {sum_a.get('status')}) with {name_b} (B, {sum_b.get('status')})"]
    for label in ("objective", "NPV", "in-year revenue"):
        r = metrics.loc[label]
        if r["change"] is not None and r["change"] == r["change"]:
            lines.append(f"  {label}: {money(r['a'])} -> {money(r['b'])} ({'+' if r['change'] >= 0 else ''}"
                         f"{money(r['change'])})")
    for kind, verb in (("added", "Added"), ("dropped", "Dropped"), ("moved", "Moved")):
        part = changes[changes["change"] == kind]
        if len(part):
            if kind == "moved":
                items = [f"{i} ({r.start_a} -> {r.start_b})" for i, r in part.iterrows()]
            elif kind == "added":
                items = [f"{i} ({r.start_b})" for i, r in part.iterrows()]
            else:
                items = [f"{i} (was {r.start_a})" for i, r in part.iterrows()]
            lines.append(f"  {verb} ({len(part)}): " + ", ".join(items))
    if changes.empty:
        lines.append("  The same initiatives start in the same periods.")
    moved_money = metrics[metrics.index.str.contains(" spend ") & (metrics["change"].abs() > 0.5)]
    for label, r in moved_money.iterrows():
        lines.append(f"  {label}: {money(r['a'])} -> {money(r['b'])}")
    return Comparison(name_a, name_b, changes, metrics, "\n".join(lines))


# ------------------------------------------------------------------------------ variant scenarios
def _write_variants(base_path: Path, folder: Path, variants: list[tuple[str, list[Adjustment]]]) -> list[Path]:
    """One scenario file per (name, extra adjustments), each extending the user's scenario."""
    base = load_scenario(base_path)
    return [write_scenario(folder / f"{name}.yaml", extension_doc(base, name, extra)) for name, extra in variants]


def _starts(batch: BatchResult, name: str) -> pd.Series:
    if batch.selection.empty or name not in batch.selection:
        return pd.Series(dtype=str)
    return batch.selection[name]


# --------------------------------------------------------------------------------------- stress
@dataclass
class StressResult:
    table: pd.DataFrame  # one row per cut (0 first)
    order: pd.DataFrame  # initiatives in the order they drop: initiative, dropped_at_cut
    batch: BatchResult
    text: str


def stress(scenario: str | Path, resource: str = "capital", cuts=(5, 10, 20, 30), start: str | None = None,
           out: str | Path | None = None, workers: int | None = None, progress: bool = False,
           **options) -> StressResult:
    """Value lost and initiatives dropped or slipped as `resource` is cut by each percentage from
    `start` (default: the second financial year of the horizon). `progress` is run_batch's: True
    for a progress bar, or a function called with (cuts solved, cuts in all)."""
    base_path = Path(scenario).resolve()
    base = load_scenario(base_path)
    start = start or base.horizon.second_fy_label
    cuts = sorted({float(c) for c in cuts} | {0.0})
    out = Path(out) if out else Path("results") / f"{base.name}-stress-{resource}"
    tag = lambda c: f"{c:g}".replace(".", "_")  # noqa: E731
    variants = [(f"{base.name}-{resource}-cut-{tag(c)}",
                 [] if c == 0 else [Adjustment(resource, scale=round(1 - c / 100, 10), start=start)])
                for c in cuts]
    paths = _write_variants(base_path, out / "scenarios", variants)
    batch = run_batch(paths, out, workers=workers, progress=progress, **options)
    names = [n for n, _ in variants]
    base_starts = _starts(batch, names[0])
    base_obj = batch.comparison.loc[names[0], "objective"]
    rows, first_drop = [], {}
    for cut, name in zip(cuts, names):
        comp = batch.comparison.loc[name]
        starts = _starts(batch, name)
        in_base = base_starts[base_starts != ""]
        dropped = [i for i in in_base.index if starts.get(i, "") == ""]
        slipped = [i for i in in_base.index if starts.get(i, "") not in ("", in_base[i])
                   and sort_key(starts[i]) > sort_key(in_base[i])]
        for i in dropped:
            first_drop.setdefault(i, cut)
        obj = comp["objective"]
        lost = base_obj - obj if obj == obj and obj is not None and base_obj == base_obj else np.nan
        rows.append({"cut_percent": cut, "scenario": name, "status": comp["status"], "gap": comp["gap"],
                     "objective": obj, "value_lost": lost,
                     "value_lost_percent": 100 * lost / abs(base_obj) if base_obj else np.nan,
                     "selected": comp["selected"], "dropped": ";".join(dropped), "slipped": ";".join(slipped)})
    table = pd.DataFrame(rows)
    order = pd.DataFrame(sorted(first_drop.items(), key=lambda kv: (kv[1], kv[0])),
                         columns=["initiative", "dropped_at_cut_percent"])
    table.to_csv(out / "stress.csv", index=False)
    order.to_csv(out / "stress-order.csv", index=False)
    lines = [f"Stress test of {base.name}: {resource} cut from {start}"]
    for r in table.itertuples():
        if r.cut_percent == 0:
            rec = batch.comparison.loc[r.scenario]
            note = f" - {rec['reason']}: {rec['message']}" if rec["reason"] else ""
            lines.append(f"  no cut: objective {money(r.objective)} ({r.status}){note}")
            continue
        if r.value_lost == r.value_lost:
            lost = f"loses {money(r.value_lost)} ({r.value_lost_percent:.1f}%)"
        else:
            rec = batch.comparison.loc[r.scenario]
            lost = f"{r.status} ({rec['reason'] or 'no plan'}: {rec['message']})"
        newly = [i for i, c in first_drop.items() if c == r.cut_percent]
        lines.append(f"  cut {r.cut_percent:g}%: {lost}" + (f"; drops {', '.join(newly)}" if newly else "")
                     + (f"; slips {r.slipped.replace(';', ', ')}" if r.slipped else ""))
    return StressResult(table, order, batch, "\n".join(lines))


# -------------------------------------------------------------------------------------- frontier
@dataclass
class FrontierResult:
    table: pd.DataFrame  # scale, budget, objective, status, gap, selected, marginal value per £
    batch: BatchResult
    chart: Path | None
    text: str


def frontier(scenario: str | Path, resource: str = "capital", low: float = 0.5, high: float = 1.5, steps: int = 11,
             out: str | Path | None = None, workers: int | None = None, progress: bool = False,
             chart: bool = True, **options) -> FrontierResult:
    """Best value at each level of `resource` (its whole-horizon limits scaled from `low` to `high`),
    each level solved afresh: a true frontier, not a ranking curve."""
    from .validate import load

    base_path = Path(scenario).resolve()
    base = load_scenario(base_path)
    scales = np.round(np.linspace(low, high, int(steps)), 6)
    out = Path(out) if out else Path("results") / f"{base.name}-frontier-{resource}"
    variants = [(f"{base.name}-{resource}-x{s:g}".replace(".", "_"), [Adjustment(resource, scale=float(s))])
                for s in scales]
    paths = _write_variants(base_path, out / "scenarios", variants)
    batch = run_batch(paths, out, workers=workers, progress=progress, **options)
    portfolio = load(base_path)
    cap = portfolio.capacity[portfolio.capacity["resource"] == resource]
    per_year = cap[[len(p) > 1 for p in cap["periods"]]]
    base_budget = float((per_year if len(per_year) else cap)["amount"].sum())
    rows = []
    for s, (name, _) in zip(scales, variants):
        comp = batch.comparison.loc[name]
        rows.append({"scale": s, "scenario": name, "budget": s * base_budget, "status": comp["status"],
                     "gap": comp["gap"], "objective": comp["objective"], "selected": comp["selected"]})
    table = pd.DataFrame(rows)
    table["objective"] = pd.to_numeric(table["objective"])  # a failed level has no objective
    table["marginal_value_per_unit"] = table["objective"].diff() / table["budget"].diff()
    table.to_csv(out / "frontier.csv", index=False)
    png = None
    if chart:
        png = out / "frontier.png"
        _frontier_chart(table, resource, base.name, png)
    lines = [f"Frontier of {base.name}: best value against {resource} budget ({len(table)} levels)"]
    for r in table.itertuples():
        marg = f", next £1 adds {r.marginal_value_per_unit:,.2f}" if r.marginal_value_per_unit == r.marginal_value_per_unit else ""
        lines.append(f"  x{r.scale:g} ({money(r.budget)}): {money(r.objective)} [{r.status}]{marg}")
    return FrontierResult(table, batch, png, "\n".join(lines))


def _frontier_chart(table: pd.DataFrame, resource: str, name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    ok = table["objective"].notna()
    ax.plot(table.loc[ok, "budget"], table.loc[ok, "objective"], marker="o", color="#0072B2")
    base = table.loc[(table["scale"] - 1).abs().idxmin()]
    if base["objective"] == base["objective"]:
        ax.axvline(base["budget"], color="#999999", linestyle="--", linewidth=1)
        ax.annotate("today's budget", (base["budget"], base["objective"]), textcoords="offset points",
                    xytext=(6, -14), color="#555555")
    pounds = FuncFormatter(lambda v, _: f"£{v / 1e6:,.1f}m" if abs(v) >= 1e6 else f"£{v:,.0f}")
    ax.xaxis.set_major_formatter(pounds)
    ax.yaxis.set_major_formatter(pounds)
    ax.set_xlabel(f"{resource} budget over the horizon")
    ax.set_ylabel("best objective (re-optimised at each level)")
    ax.set_title(f"{name}: value against {resource} budget")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
