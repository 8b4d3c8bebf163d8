"""What each decision and each limit is worth, found by re-optimising.

- Opportunity costs (`explain.csv`): per initiative, the best plan with its decision reversed
  (taken out if in, put in if out; a mandatory or forced-in one loses its requirement, so the
  difference is what the mandate costs). opportunity_cost = objective - reversed_objective.
- Marginal values (`marginal.csv`): per binding limit, the best plan with that limit raised by a
  step (default £100,000 or 1 FTE), and the LP relaxation's dual as a guide.

Every variant is an engine run of the user's own scenario file with `decisions` or `limits`
(engine.run), solved by the batch runner (each in its own process, resumable, under a deadline),
warm-started from the base plan repaired to the variant's rules. A variant restricting the base
problem (any reversal that adds a requirement) has a plan that is also a plan of the base: if one
scores more than the base solve's plan, the base is taken at that value, so opportunity costs of
restrictions are never negative. Raising a limit keeps the base plan feasible, and the engine never
returns less than its start, so marginal gains are never negative.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .batch import BatchResult, plan_job, run_jobs
from .formatting import money, score

EXPLAIN_COLUMNS = ["id", "selected", "reversed_objective", "opportunity_cost", "reversed_status", "changes"]
MARGINAL_COLUMNS = ["resource", "period", "step", "objective_gain", "gain_per_unit", "status"]
DEFAULT_STEPS = {"money": 100_000.0, "staff": 1.0}
LP_NOTE = ("lp_dual is the LP relaxation's value of one more unit of the limit, where initiatives may be taken in "
           "part. In the integer plan a limit's value comes in whole initiatives: a step too small for the next one "
           "gains nothing, a larger one can gain more than lp_dual x step. It is a guide to where to look; "
           "objective_gain, from re-optimising, is the figure to use.")


@dataclass
class Explanation:
    """What `explain` found. `table` is explain.csv's (or marginal.csv's with `limits=True`)."""

    table: pd.DataFrame
    base: object  # the base Result
    out: Path
    text: str
    batch: BatchResult | None = None
    seconds: float = 0.0  # wall-clock time of the re-optimisations
    cpu_seconds: float = 0.0  # processor time they took (the workers' own, summed)
    notes: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-.") or "x"


def _scenario_file(scenario, out: Path) -> Path:
    """The scenario as a file the batch workers can read: the user's own, or (an edited Scenario
    held in memory, e.g. the dashboard's) written self-contained beside the results."""
    from .scenario import Scenario, write_scenario

    if not isinstance(scenario, Scenario):
        return Path(scenario).resolve()
    return write_scenario(out / "scenario.yaml", scenario).resolve()


def _selection(plans: BatchResult, name: str) -> pd.Series:
    sel = plans.selection
    return sel[name] if not sel.empty and name in sel else pd.Series(dtype=str)


def _base_selection(base) -> pd.Series:
    H = base.portfolio.horizon
    return pd.Series({i: H.label(s) if s is not None else "" for i, s in base.starts.items()})


def _changes_text(base: pd.Series, other: pd.Series, alternatives: set, skip: str) -> str:
    """'drops A, B; adds C; swaps D for E; slips F; brings forward G' (the reversed one left out)."""
    from .whatif import plan_difference

    diff = plan_difference(base.drop(skip, errors="ignore"), other.drop(skip, errors="ignore"), alternatives)
    parts = []
    for key, verb in (("dropped", "drops"), ("added", "adds"), ("swapped", "swaps"), ("slipped", "slips"),
                      ("earlier", "brings forward")):
        items = [f"{a} for {b}" for a, b in diff[key]] if key == "swapped" else diff[key]
        if items:
            parts.append(f"{verb} {', '.join(items)}")
    return "; ".join(parts) or "nothing else changes"


# ------------------------------------------------------------------------------------ opportunity costs


def _reversal_rows(base, ids: list[str], names: list[str], batch: BatchResult) -> tuple[pd.DataFrame, list[str]]:
    """explain.csv's rows from the reversals' folders (and notes on what the base solve missed)."""
    from .whatif import _alternatives

    p, comp = base.portfolio, batch.comparison
    must = dict(zip(p.ids, p.must_select))
    has_plan = {n: comp.at[n, "status"] in ("optimal", "feasible") for n in names}
    best, notes = float(base.objective), []
    for iid, n in zip(ids, names):  # a restriction's plan is a plan of the base problem too
        if not must[iid] and has_plan[n] and comp.at[n, "objective"] > best + 1e-9 * max(1.0, abs(best)):
            best = float(comp.at[n, "objective"])
            notes.append(f"reversing {iid} found a plan scoring {score(best)}, more than the base solve's "
                         f"{score(base.objective)} (within its gap tolerance); opportunity costs are measured from it")
    was, pairs, rows = _base_selection(base), _alternatives(p), []
    for iid, n in zip(ids, names):
        obj = float(comp.at[n, "objective"]) if has_plan[n] else np.nan
        if has_plan[n]:
            changes = _changes_text(was, _selection(batch, n), pairs, iid)
        else:
            why = comp.at[n, "diagnosis"] if comp.at[n, "status"] == "infeasible" else comp.at[n, "message"]
            changes = f"no plan: {why}" if isinstance(why, str) and why else "no plan"
        rows.append({"id": iid, "selected": base.starts[iid] is not None, "reversed_objective": obj,
                     "opportunity_cost": best - obj, "reversed_status": comp.at[n, "status"], "changes": changes,
                     # without the requirement the best plan may keep it or not: it costs max(0, out - in)
                     "mandate_cost": max(obj - best, 0.0) if must[iid] else np.nan})
    return pd.DataFrame(rows, columns=EXPLAIN_COLUMNS + ["mandate_cost"]), notes


def opportunity_costs(base, path: Path, ids: list[str], root: Path, options: dict, workers: int | None = None,
                      progress=False) -> tuple[pd.DataFrame, BatchResult, list[str]]:
    """Each initiative's decision reversed and the rest re-optimised, through the batch runner."""
    starts = dict(base.starts)
    names = [f"reverse-{_slug(i)}" for i in ids]
    jobs = [plan_job(path, root, {**options, "decisions": {i: starts[i] is None}, "start": starts}, None, name=n,
                     outputs="tables") for i, n in zip(ids, names)]
    batch = run_jobs(jobs, root, workers=workers, progress=progress)
    table, notes = _reversal_rows(base, ids, names, batch)
    return table, batch, notes


def _opportunity_text(base, table: pd.DataFrame, most: int = 12) -> list[str]:
    show = money if _money_objective(base) else score
    lines = []
    order = table.assign(size=table["opportunity_cost"].abs()).sort_values("size", ascending=False)
    for r in order.head(most).itertuples():
        if r.reversed_objective != r.reversed_objective:
            lines.append(f"  {r.id} ({'in' if r.selected else 'out'}): cannot be reversed - {r.changes}")
        elif r.mandate_cost == r.mandate_cost:
            lines.append(f"  {r.id} (must be in): the requirement costs {show(r.mandate_cost)}; without "
                         f"it: {r.changes}")
        else:
            verb = "taking it out" if r.selected else "putting it in"
            lines.append(f"  {r.id} ({'in' if r.selected else 'out'}): {verb} loses {show(r.opportunity_cost)}; "
                         f"{r.changes}")
    if len(table) > most:
        lines.append(f"  ... and {len(table) - most} more in explain.csv")
    return lines


def _money_objective(base) -> bool:
    from .figures import money_is_npv

    return money_is_npv(base) and not float(base.portfolio.settings.weights.get("alignment", 0.0))


# ------------------------------------------------------------------------------------ marginal values


def parse_steps(text: str | float | dict | None) -> dict[str, float]:
    """Steps per resource kind or name: None = £100,000 and 1 FTE; a number = the money step;
    'money=250000,staff=0.5,developer=2' = per kind and per resource."""
    steps = dict(DEFAULT_STEPS)
    if text is None:
        return steps
    if isinstance(text, dict):
        return {**steps, **{k: float(v) for k, v in text.items()}}
    if isinstance(text, (int, float)):
        return {**steps, "money": float(text)}
    for part in filter(None, (x.strip() for x in str(text).split(","))):
        key, _, value = part.rpartition("=")
        try:
            amount = float(value.replace("£", "").replace("_", ""))
        except ValueError:
            raise ValueError(f"--step: {part!r} is not a number or name=number (e.g. money=250000,staff=0.5)")
        if amount <= 0:
            raise ValueError(f"--step: {part!r} must be above zero")
        steps[key.strip() or "money"] = amount
    return steps


def binding_limits(base, steps: dict[str, float]) -> pd.DataFrame:
    """resource, period and step of each limit the base plan binds (usage.csv's binding rows)."""
    u = base.usage[base.usage["binding"].astype(bool)].drop_duplicates(["resource", "period"])
    kinds = base.portfolio.resources["kind"].to_dict()
    step = [steps.get(r, steps["money" if kinds[r] == "money" else "staff"]) for r in u["resource"]]
    return pd.DataFrame({"resource": u["resource"].to_numpy(), "period": u["period"].to_numpy(), "step": step})


def limit_duals(base) -> dict[tuple[str, str], float]:
    """The LP dual of each capacity row's limit, summed over rows of one resource and label."""
    from .solvers import lp_duals

    model = base.model
    duals = lp_duals(model)
    if duals is None:
        return {}
    rows = model.rows.iloc[model.families["capacity"]]
    values = duals[model.families["capacity"]]
    out: dict[tuple[str, str], float] = {}
    for key, value in zip(zip(rows["resource"], rows["period"]), values):
        out[key] = out.get(key, 0.0) + max(float(value), 0.0)
    return out


def marginal_values(base, path: Path, steps: dict[str, float], root: Path, options: dict, workers=None,
                    progress=False) -> tuple[pd.DataFrame, BatchResult]:
    """Each binding limit raised by its step and the plan re-optimised, through the batch runner."""
    limits = binding_limits(base, steps)
    names = [f"raise-{_slug(r)}-{_slug(per)}" for r, per in zip(limits["resource"], limits["period"])]
    jobs = [plan_job(path, root, {**options, "limits": [[r, per, float(st)]], "start": dict(base.starts)}, None,
                     name=n, outputs="tables")
            for r, per, st, n in zip(limits["resource"], limits["period"], limits["step"], names)]
    batch = run_jobs(jobs, root, workers=workers, progress=progress)
    comp, duals = batch.comparison, limit_duals(base)
    gain = np.array([float(comp.at[n, "objective"]) - float(base.objective)
                     if comp.at[n, "status"] in ("optimal", "feasible") else np.nan for n in names])
    gain = np.where(np.abs(gain) <= 1e-9 * max(1.0, abs(base.objective)), 0.0, gain)
    table = limits.assign(objective_gain=gain, gain_per_unit=gain / limits["step"].to_numpy(float),
                          status=[comp.at[n, "status"] for n in names],
                          lp_dual=[duals.get((r, per), np.nan) for r, per in zip(limits["resource"], limits["period"])])
    table = table.sort_values(["objective_gain", "gain_per_unit"], ascending=False, kind="stable")
    return table[MARGINAL_COLUMNS + ["lp_dual"]].reset_index(drop=True), batch


def _marginal_text(base, table: pd.DataFrame) -> list[str]:
    from .explain import limit_amount

    show = money if _money_objective(base) else score
    p = base.portfolio
    lines = []
    for r in table.itertuples():
        unit = "£" if p.resources.at[r.resource, "kind"] == "money" else "FTE"
        dual = f" [LP dual {r.lp_dual:,.2f} per {unit}]" if r.lp_dual == r.lp_dual else ""
        gain = f"objective +{show(r.objective_gain)} ({r.gain_per_unit:,.2f} per {unit})" \
            if r.objective_gain == r.objective_gain else f"no plan ({r.status})"
        lines.append(f"  {r.resource} {r.period} +{limit_amount(p, r.resource, r.step)}: {gain}{dual}")
    return lines or ["  No limit binds: every limit has headroom, so more of any buys nothing by itself."]


# ------------------------------------------------------------------------------------ the entry point


def explain(scenario, ids=None, *, limits: bool = False, step=None, out=None, workers: int | None = None,
            progress=False, solver: str | None = None, time_limit: float | None = None,
            gap: float | None = None, base=None) -> Explanation:
    """Opportunity costs (explain.csv) of every initiative (or those in `ids`), or with `limits` the
    marginal value of each binding limit (marginal.csv), in `out` (default results/<scenario>/explain/)
    beside the base plan's summary.json and report.xlsx (whose Explanations sheet shows them).

    `scenario`: a scenario file or a Scenario. Bad input raises InputError; a scenario with no plan
    gives an empty table and its diagnosis as the text. `base`: the scenario's Result when already
    solved with these options (the dashboard's), so that it is not solved again."""
    from .engine import run
    from .report import console_summary
    from .scenario import Scenario, load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    out = (Path(out) if out else Path("results") / sc.name / "explain").resolve()
    options = {k: v for k, v in {"solver": solver, "time_limit": time_limit, "gap": gap}.items() if v is not None}
    base = base if base is not None else run(sc, **options)
    if not base.has_plan:
        return Explanation(pd.DataFrame(columns=MARGINAL_COLUMNS if limits else EXPLAIN_COLUMNS), base, out,
                           console_summary(base))
    out.mkdir(parents=True, exist_ok=True)
    path = _scenario_file(scenario, out)
    t0 = time.perf_counter()
    if limits:
        table, batch = marginal_values(base, path, parse_steps(step), out / "limits", options, workers, progress)
        notes = []
    else:
        chosen = _ids(base, ids)
        table, batch, notes = opportunity_costs(base, path, chosen, out / "reversals", options, workers, progress)
    seconds = time.perf_counter() - t0
    cpu = float(sum(r.cpu_seconds for r in batch.records))
    found = Explanation(table, base, out, "", batch, seconds, cpu, notes)
    found.text = _write(found, limits)
    return found


def _ids(base, ids) -> list[str]:
    known = list(base.portfolio.ids)
    if ids is None:
        return known
    ids = [i.strip() for i in (ids.split(",") if isinstance(ids, str) else ids) if i.strip()]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"not in the portfolio: {', '.join(unknown)}")
    return list(dict.fromkeys(ids))


def _write(found: Explanation, limits: bool) -> str:
    """explain.csv or marginal.csv, the base's summary.json and report.xlsx (with whichever of the two
    tables the folder holds for this same base plan); returns the console text."""
    from .report import summary_dict, write_workbook

    base, out = found.base, found.out
    name = "marginal.csv" if limits else "explain.csv"
    _atomic_csv(found.table, out / name)
    summary = summary_dict(base)
    other = out / ("explain.csv" if limits else "marginal.csv")
    same_base = _same_base(out / "summary.json", summary)
    base.explanations = {**base.explanations, "marginal" if limits else "opportunity": found.table}
    if other.exists() and same_base:
        base.explanations["opportunity" if limits else "marginal"] = pd.read_csv(other, keep_default_na=False,
                                                                                na_values=[""])
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    write_workbook(base, out / "report.xlsx", summary)
    count = f"{len(found.table)} re-optimisations in {found.seconds:.1f} s ({found.cpu_seconds:.1f} s of processor time)"
    tolerance = float(base.gap or 0.0) + float(base.portfolio.scenario.solver.gap if base.portfolio.scenario else 0.0)
    noise = f"Note: each solve is proven to within its gap tolerance, so differences below about " \
            f"{score(tolerance * abs(base.objective))} are not significant." if tolerance > 0 else ""
    if limits:
        lines = [f"Where the next £ or FTE does most good in {base.scenario}: each binding limit raised by one step "
                 f"and the plan re-optimised ({count}):", *_marginal_text(base, found.table), f"Note: {LP_NOTE}"]
    else:
        lines = [f"Opportunity costs in {base.scenario} (objective {score(base.objective)}; each decision reversed "
                 f"and the rest re-optimised; {count}):", *_opportunity_text(base, found.table)]
        lines += [f"Note: {n}" for n in found.notes]
    return "\n".join(lines + [noise] * bool(noise) + [f"Table: {out / name}; report: {out / 'report.xlsx'}"])


def _same_base(path: Path, summary: dict) -> bool:
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return old.get("input_sha256") == summary.get("input_sha256") and old.get("objective") == summary.get("objective")


def _atomic_csv(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
