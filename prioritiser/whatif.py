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
from .formatting import money, score
from .outputs import VARIANT_HEADER, VARIANTS, check_output_root, read_csv, replace_file, slug, write_csv
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
    from .result import Result
    from .report import plan_frame, summary_dict

    if isinstance(source, Result):
        return source.scenario, plan_frame(source), summary_dict(source)
    folder = Path(source)
    summary = json.loads((folder / "summary.json").read_text())
    plan_path = folder / "plan.csv"
    plan = read_csv(plan_path, dtype={"start": str, "go_live": str}, keep_default_na=False) if plan_path.exists() \
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
            show = score if label == "objective" else money  # the objective is a score, not money
            sign = "+" if r["change"] >= 0 else ""
            lines.append(f"  {label}: {show(r['a'])} -> {show(r['b'])} ({sign}{show(r['change'])})")
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


CHANGES_COLUMNS = ["initiative", "change", "start_a", "start_b", "periods_moved"]


def write_changes(comparison: Comparison, path: Path, inputs=()) -> Path:
    """The table of changes as a CSV at `path`, written safely: never over a folder, inside a result
    folder compared (`inputs`), or over a file we did not write (ours start with our header line)."""
    from .errors import OutputError, display_path

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{display_path(path)} is a folder; give a file name for the changes, like changes.csv")
    for folder in inputs:
        if path.resolve().is_relative_to(Path(folder).resolve()):
            raise OutputError(f"{display_path(path)} is inside the result folder {display_path(folder)}; write the "
                              "changes somewhere else")
    if path.exists():
        with open(path, "rb") as f:
            first = f.readline(200).decode("utf-8", "replace").strip()
        if first != ",".join(CHANGES_COLUMNS):
            raise OutputError(f"{display_path(path)} already exists and is not a table of changes prioritiser "
                              "wrote, so it is not replaced; give a new file name")
    if not path.parent.is_dir():
        raise OutputError(f"the folder {display_path(path.parent)} does not exist")
    return replace_file(path, lambda tmp: write_csv(comparison.changes.reset_index()[CHANGES_COLUMNS], tmp))


# ------------------------------------------------------------------------------ variant scenarios
def _prepare_out(out: Path, base) -> None:
    """Refuse (OutputError) an output folder that holds the user's inputs or files not ours, before
    the variant scenario files are written into it."""
    from .validate import input_files

    check_output_root(out, input_files(base))


def _write_variants(base_path: Path, folder: Path, variants: list[tuple[str, list[Adjustment]]]) -> list[Path]:
    """One scenario file per (name, extra adjustments), each extending the user's scenario; the
    files start with outputs.VARIANT_HEADER, which marks them as ours."""
    base = load_scenario(base_path)
    return [write_scenario(folder / f"{slug(name)}.yaml", extension_doc(base, name, extra), header=VARIANT_HEADER)
            for name, extra in variants]


def _refuse_unknown_resource(portfolio, resource: str) -> None:
    """A what-if of a resource the portfolio sets no limit for would solve the same plan every time."""
    known = sorted(set(portfolio.capacity["resource"]))
    if resource not in known:
        raise ValueError(f"--resource {resource!r} has no limits in the capacity table; it has: {', '.join(known)}")


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
           warm: bool = False, **options) -> StressResult:
    """Value lost and initiatives dropped, added, moved or swapped (each against the uncut plan) as
    `resource` is cut by each percentage from `start` (default: the second financial year of the
    horizon). `progress` is run_batch's: True for a progress bar, or a function called with (cuts
    solved, cuts in all). `warm`: the uncut scenario is solved first and its plan, repaired to each
    cut's rules, starts each cut's solve (batch.run_warm); off by default, since measured it did not
    pay (docs/performance.md: proofs, not searches, take the time)."""
    from .validate import load

    base_path = Path(scenario).resolve()
    base = load_scenario(base_path)
    portfolio = load(base_path)  # bad input is refused here, before anything is written or solved
    _refuse_unknown_resource(portfolio, resource)
    start = start or base.horizon.second_fy_label
    cuts = sorted({float(c) for c in cuts} | {0.0})
    if cuts[0] < 0 or cuts[-1] > 100:
        raise ValueError(f"--cuts are percentages from 0 to 100 (got {', '.join(f'{c:g}' for c in cuts if c)})")
    out = Path(out) if out else Path("results") / slug(f"{base.name}-stress-{resource}")
    tag = lambda c: f"{c:g}".replace(".", "_")  # noqa: E731
    variants = [(f"{base.name}-{resource}-cut-{tag(c)}",
                 [] if c == 0 else [Adjustment(resource, scale=round(1 - c / 100, 10), start=start)])
                for c in cuts]
    _prepare_out(out, base)
    paths = _write_variants(base_path, out / VARIANTS, variants)
    batch = run_batch(paths, out, workers=workers, progress=progress, warm_from=paths[0] if warm else None,
                      **options)
    names = [n for n, _ in variants]
    table = _stress_table(batch, cuts, names, _alternatives(portfolio))
    first_drop: dict[str, float] = {}
    for cut, dropped in zip(table["cut_percent"], table["dropped"]):
        for i in filter(None, dropped.split(";")):
            first_drop.setdefault(i, cut)
    order = pd.DataFrame(sorted(first_drop.items(), key=lambda kv: (kv[1], kv[0])),
                         columns=["initiative", "dropped_at_cut_percent"])
    replace_file(out / "stress.csv", lambda tmp: write_csv(table, tmp))
    replace_file(out / "stress-order.csv", lambda tmp: write_csv(order, tmp))
    text = _stress_text(table, batch, f"Stress test of {base.name}: {resource} cut from {start}",
                        money_objective=_objective_is_money(base))
    return StressResult(table, order, batch, text)


def _alternatives(portfolio) -> set[frozenset]:
    """Pairs of initiatives that exclude each other (alternatives): one replacing the other is a swap."""
    dep = portfolio.dependencies
    return {frozenset((a, b)) for a, b, t in zip(dep["predecessor"], dep["successor"], dep["type"]) if t == "excludes"}


def _objective_is_money(scenario) -> bool:
    """The objective is NPV in £ (unit weights on money, no alignment or in-year revenue term)."""
    w = scenario.settings.weights
    return all(float(w.get(k, 0)) == 1.0 for k in ("benefit", "revenue", "cost")) and \
        float(w.get("in_year_revenue", 0)) == 0.0 and (float(w.get("alignment", 0)) == 0.0
                                                      or not scenario.settings.alignment_weights)


def plan_difference(base: pd.Series, other: pd.Series, alternatives: set[frozenset]) -> dict[str, list]:
    """What `other` changes against `base` (each: initiative -> start label, "" = out): dropped,
    added, slipped (starts later), earlier, and swapped (an alternative replaced the other: (out, in))."""
    was = {i: s for i, s in base.items() if s != ""}
    now = {i: s for i, s in other.items() if s != ""}
    dropped = sorted(set(was) - set(now))
    added = sorted(set(now) - set(was))
    swapped = []
    for a in list(dropped):
        partner = next((b for b in added if frozenset((a, b)) in alternatives), None)
        if partner is not None:
            swapped.append((a, partner))
            dropped.remove(a)
            added.remove(partner)
    both = sorted(set(was) & set(now))
    slipped = [i for i in both if sort_key(now[i]) > sort_key(was[i])]
    earlier = [i for i in both if sort_key(now[i]) < sort_key(was[i])]
    return {"dropped": dropped, "added": added, "slipped": slipped, "earlier": earlier, "swapped": swapped,
            "was": was, "now": now}


def _why_no_plan(comp: pd.Series) -> str:
    """For a level with no plan: its diagnosis when infeasible, else the batch's message ("" with a plan)."""
    if comp["status"] in ("optimal", "feasible"):
        return ""
    diagnosis = comp.get("diagnosis")
    return diagnosis if comp["status"] == "infeasible" and isinstance(diagnosis, str) and diagnosis else \
        str(comp["message"] if comp["message"] == comp["message"] else "")


def _stress_table(batch: BatchResult, cuts: list[float], names: list[str], alternatives: set) -> pd.DataFrame:
    base_starts = _starts(batch, names[0])
    base = batch.comparison.loc[names[0]]
    base_obj, base_npv = base["objective"], base["npv"]
    rows = []
    for cut, name in zip(cuts, names):
        comp = batch.comparison.loc[name]
        has_plan = comp["status"] in ("optimal", "feasible")
        diff = plan_difference(base_starts, _starts(batch, name), alternatives) if has_plan else \
            {k: [] for k in ("dropped", "added", "slipped", "earlier", "swapped")}
        obj = comp["objective"]
        lost = base_obj - obj if obj == obj and obj is not None and base_obj == base_obj else np.nan
        rows.append({"cut_percent": cut, "scenario": name, "status": comp["status"], "gap": comp["gap"],
                     "objective": obj, "value_lost": lost,
                     "value_lost_percent": 100 * lost / abs(base_obj) if base_obj else np.nan,
                     "npv": comp["npv"], "npv_lost": base_npv - comp["npv"] if has_plan else np.nan,
                     "selected": comp["selected"], "dropped": ";".join(diff["dropped"]),
                     "slipped": ";".join(diff["slipped"]), "added": ";".join(diff["added"]),
                     "earlier": ";".join(diff["earlier"]),
                     "swapped": ";".join(f"{a}>{b}" for a, b in diff["swapped"]),
                     "why_no_plan": _why_no_plan(comp)})
    return pd.DataFrame(rows)


def _stress_text(table: pd.DataFrame, batch: BatchResult, title: str, money_objective: bool) -> str:
    """Per cut: the value lost and the whole difference from the uncut plan."""
    lines = [title + " (each cut against the uncut plan)"]
    for r in table.itertuples():
        rec = batch.comparison.loc[r.scenario]
        if r.cut_percent == 0:
            note = f" - {rec['reason']}: {rec['message']}" if rec["reason"] else ""
            value = money(r.objective) if money_objective else f"{score(r.objective)}, NPV {money(r.npv)}"
            lines.append(f"  no cut: objective {value} ({r.status}){note}")
            continue
        if r.value_lost != r.value_lost:
            lines.append(f"  cut {r.cut_percent:g}%: {r.status} ({rec['reason'] or 'no plan'}: {r.why_no_plan})")
            continue
        if money_objective:
            lost = f"loses {money(r.value_lost)} ({r.value_lost_percent:.1f}%)"
        else:
            lost = (f"objective down {score(r.value_lost)} ({r.value_lost_percent:.1f}%), "
                    f"NPV down {money(r.npv_lost)}")
        parts = [lost]
        for key, verb in (("dropped", "drops"), ("added", "adds"), ("swapped", "swaps"), ("slipped", "slips"),
                          ("earlier", "brings forward")):
            items = [x for x in getattr(r, key).split(";") if x]
            if key == "swapped":
                items = [x.replace(">", " for ") for x in items]
            if items:
                parts.append(f"{verb} {', '.join(items)}")
        if len(parts) == 1:
            parts.append("the same initiatives at the same starts")
        lines.append(f"  cut {r.cut_percent:g}%: " + "; ".join(parts))
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- frontier
@dataclass
class FrontierResult:
    table: pd.DataFrame  # scale, budget, objective, status, gap, selected, gain_per_unit_from_previous_level
    batch: BatchResult
    chart: Path | None
    text: str


def frontier(scenario: str | Path, resource: str = "capital", low: float = 0.5, high: float = 1.5, steps: int = 11,
             out: str | Path | None = None, workers: int | None = None, progress: bool = False,
             chart: bool = True, warm: bool = False, **options) -> FrontierResult:
    """Best value at each level of `resource` (its whole-horizon limits scaled from `low` to `high`),
    each level re-optimised: a true frontier, not a ranking curve. `warm`: the level nearest today's
    budget is solved first and its plan, repaired to each level's rules, starts the others' solves
    (batch.run_warm; a start is a candidate, never trusted); off by default, as in `stress`."""
    from .validate import load

    if int(steps) < 1 or min(low, high) < 0:
        raise ValueError(f"a frontier needs at least one level (--steps {steps}) and shares of today's limits "
                         f"that are not negative (--lowest {low:g}, --highest {high:g})")
    base_path = Path(scenario).resolve()
    base = load_scenario(base_path)
    portfolio = load(base_path)  # bad input is refused here, before anything is written or solved
    _refuse_unknown_resource(portfolio, resource)
    scales = np.round(np.linspace(low, high, int(steps)), 6)
    out = Path(out) if out else Path("results") / slug(f"{base.name}-frontier-{resource}")
    variants = [(f"{base.name}-{resource}-x{s:g}".replace(".", "_"), [Adjustment(resource, scale=float(s))])
                for s in scales]
    _prepare_out(out, base)
    paths = _write_variants(base_path, out / VARIANTS, variants)
    nearest = paths[int(np.abs(scales - 1.0).argmin())]
    batch = run_batch(paths, out, workers=workers, progress=progress, warm_from=nearest if warm else None,
                      **options)
    cap = portfolio.capacity[portfolio.capacity["resource"] == resource]
    per_year = cap[[len(p) > 1 for p in cap["periods"]]]
    base_budget = float((per_year if len(per_year) else cap)["amount"].sum())
    rows = []
    for s, (name, _) in zip(scales, variants):
        comp = batch.comparison.loc[name]
        rows.append({"scale": s, "scenario": name, "budget": s * base_budget, "status": comp["status"],
                     "gap": comp["gap"], "objective": comp["objective"], "selected": comp["selected"],
                     "why_no_plan": _why_no_plan(comp)})
    table = pd.DataFrame(rows)
    table["objective"] = pd.to_numeric(table["objective"])  # a failed level has no objective
    # what each step up buys: the objective gained from the level below, per unit of budget added
    table["gain_per_unit_from_previous_level"] = table["objective"].diff() / table["budget"].diff()
    replace_file(out / "frontier.csv", lambda tmp: write_csv(table, tmp))
    png = None
    if chart:
        png = out / "frontier.png"
        _frontier_chart(table, resource, base.name, png)
    unit = "£" if resource in ("capital", "revenue") else f"unit of {resource}"
    lines = [f"Frontier of {base.name}: best value against {resource} budget ({len(table)} levels; the last "
             f"figure is the objective gained from the level below, per {unit} added)"]
    show = money if _objective_is_money(base) else score
    for r in table.itertuples():
        gain = r.gain_per_unit_from_previous_level
        step = f", +{gain:,.2f} per {unit} over the level below" if gain == gain else ""
        why = f": {r.why_no_plan}" if r.why_no_plan else ""
        lines.append(f"  x{r.scale:g} ({money(r.budget) if unit == '£' else f'{r.budget:,.1f}'}): objective "
                     f"{show(r.objective)} [{r.status}{why}]{step}")
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
    replace_file(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
