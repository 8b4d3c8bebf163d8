"""Other good plans: up to k distinct selections, each within a stated share of the best plan's
objective, as different from the best and from each other as possible.

Each alternative comes from one solve of the model with two more things in it:

- a floor on the objective: c @ v >= best - within x |best|;
- for every plan found so far (the best first), the number of initiatives whose selection differs
  from it, d_j(v) = |S_j| + sum_i (1 - 2 [i in S_j]) y_i, kept at least 1 (a no-good cut: no
  selection twice) and at least t, where t is maximised (the most different plan, max-min).

Among the most different, the highest objective wins (the objective enters scaled below one step
of t). The selection found is then scheduled as well as it can be: an engine run with every
decision fixed to it (`engine.run(decisions=...)`), which the independent checker passes like any
run, and whose folder (plan.csv, usage.csv, summary.json) is the alternative's.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .formatting import money, percent, score

ALTERNATIVE_COLUMNS = ["plan", "objective", "share_of_best", "differs_from_best", "adds", "drops"]


@dataclass
class Alternatives:
    """What `alternatives` found: `table` is alternatives.csv's; `results` the Results, best first."""

    table: pd.DataFrame
    base: object
    results: list = field(default_factory=list)
    out: Path | None = None
    text: str = ""


def parse_within(text) -> float:
    """'2%' or '0.02' (or 2, read as per cent when above 1) as a share of the best objective."""
    raw = str(text).strip()
    try:
        value = float(raw.rstrip("%").strip())
    except ValueError:
        raise ValueError(f"--within: {text!r} is not a share such as 2% or 0.02") from None
    share = value / 100 if raw.endswith("%") or value > 1 else value
    if not 0 <= share < 1:
        raise ValueError(f"--within: {text!r} must be a share from 0% to under 100%")
    return share


def floor(best: float, within: float) -> float:
    """The least objective an alternative may have: `within` of the best's size below it."""
    return best - within * max(abs(best), 1.0)


def share_of_best(objective: float, best: float) -> float:
    """1 for the best; 1 - (best - objective) / |best| otherwise (objective / best when best > 0)."""
    return 1.0 - (best - objective) / max(abs(best), 1.0)


# ------------------------------------------------------------------------------------ the diversity model


def _selection_rows(model, selected: np.ndarray) -> tuple[sp.csr_matrix, float]:
    """d(v) - |S| as one row over the model's columns (1 - 2 [i in S] on each x column), and |S|."""
    sign = np.where(selected[model.col_init], -1.0, 1.0)
    row = sp.csr_matrix((sign, (np.zeros(model.n_x, np.int64), np.arange(model.n_x))), shape=(1, model.n_cols))
    return row, float(selected.sum())


def diversity_model(model, plans: list[np.ndarray], best: float, within: float):
    """The model with an objective floor, a no-good cut per plan and max-min difference t (the last column)."""
    n = model.n_cols
    # the objective is c @ v plus the planning cycle's constant (stop costs, drop penalties)
    rows, lo, hi = [sp.csr_matrix(model.c.reshape(1, -1))], [floor(best, within) - model.objective_constant], [np.inf]
    for selected in plans:
        d, size = _selection_rows(model, selected)
        rows += [d, d]
        lo += [1.0 - size, -size]  # d >= 1 (a new selection); d - t >= 0 (t is the least difference)
        hi += [np.inf, np.inf]
    extra = sp.vstack(rows).tocsr()
    t_col = np.zeros((extra.shape[0], 1))
    t_col[2::2, 0] = -1.0  # the "d - t >= 0" rows
    A = sp.vstack([sp.hstack([model.A, sp.csr_matrix((model.A.shape[0], 1))]),
                   sp.hstack([extra, sp.csr_matrix(t_col)])]).tocsr()
    spread = within * max(abs(best), 1.0) + 1e-3 * max(abs(best), 1.0) + 1.0
    c = np.concatenate([0.5 * model.c / spread, [1.0]])  # t first; among equals the higher objective
    N = len(model.portfolio.ids)
    return dataclasses.replace(model, A=A, c=c, tiebreak=None, objective_constant=0.0,
                               col_hi=np.concatenate([model.col_hi, [float(N)]]),
                               integer=np.concatenate([model.integer, [False]]),
                               row_lo=np.concatenate([model.row_lo, lo]), row_hi=np.concatenate([model.row_hi, hi]))


def _selected(model, v: np.ndarray) -> np.ndarray:
    out = np.zeros(len(model.portfolio.ids), bool)
    out[model.col_init[v[:model.n_x] > 0.5]] = True
    return out


def _next_selection(model, plans, best, within, solver, time_limit, threads):
    """The most different selection within the floor, or None when there is no other."""
    from .engine import _plan_vector
    from .solvers import solve

    div = diversity_model(model, plans, best, within)
    out = solve(div, solver, time_limit, 1e-4, None, threads)
    if out.x is None:
        return None, out
    v = _plan_vector(model, np.asarray(out.x[:model.n_cols]))
    ok = model.objective(v) >= floor(best, within) - 1e-6 * max(1.0, abs(best))
    return (_selected(model, v), v) if ok else None, out


# ------------------------------------------------------------------------------------ the entry point


def alternatives(scenario, count: int = 5, within: float = 0.02, *, out=None, solver: str | None = None,
                 time_limit: float | None = None, gap: float | None = None, threads: int | None = None,
                 base=None) -> Alternatives:
    """Up to `count` other plans within `within` (a share, 0.02 = 2%) of the best, each as different
    from the best and from the others as possible, written to `out` (default
    results/<scenario>/alternatives/): alternatives.csv and one folder per plan (best/, alternative-K/).

    `time_limit` is per solve (default the scenario's). Bad input raises InputError; a scenario with
    no plan gives an empty table and its diagnosis as the text. `base`: the scenario's Result when
    already solved (the dashboard's), so that it is not solved again."""
    from .engine import run
    from .report import console_summary
    from .scenario import Scenario, load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if count < 1:
        raise ValueError("--count must be at least 1")
    options = {k: v for k, v in {"solver": solver, "time_limit": time_limit, "gap": gap, "threads": threads}.items()
               if v is not None}
    base = base if base is not None else run(sc, **options)
    if not base.has_plan:
        return Alternatives(pd.DataFrame(columns=ALTERNATIVE_COLUMNS), base, [base], None, console_summary(base))
    model, best = base.model, float(base.objective)
    plans, results, notes = [_selected(model, _best_vector(base))], [base], []
    name = (solver or sc.solver.name).lower()
    limit = time_limit if time_limit is not None else sc.solver.time_limit
    for k in range(1, count + 1):
        found, outcome = _next_selection(model, plans, best, within, name, limit, threads)
        if found is None:
            notes.append(_why_no_more(outcome, len(results) - 1, within))
            break
        selected, v = found
        plans.append(selected)
        results.append(_scheduled(sc, base, selected, v, k, options))
    found = Alternatives(_table(results, best), base, results)
    found.out = _write(found, sc, out)
    found.text = _text(found, within, notes)
    return found


def _best_vector(base) -> np.ndarray:
    v = np.zeros(base.model.n_cols)
    p, m = base.portfolio, base.model
    for iid, s in base.starts.items():
        if s is not None:
            cols = m.cols_of[p.ids.get_loc(iid)]
            v[cols[m.col_start[cols] == s]] = 1.0
    return v


def _scheduled(sc, base, selected: np.ndarray, v: np.ndarray, k: int, options: dict):
    """The selection's best schedule, as a checked run, worded as an alternative to the base plan."""
    from .engine import run

    p, m = base.portfolio, base.model
    starts = {iid: None for iid in p.ids}
    for col in np.flatnonzero(v[:m.n_x] > 0.5):
        starts[p.ids[m.col_init[col]]] = int(m.col_start[col])
    r = run(sc, decisions=dict(zip(p.ids, map(bool, selected))), start=starts, diagnose=False, **options)
    return _as_alternative(r, base, k)


def _as_alternative(r, base, k: int):
    """Worded against the user's scenario: a plan (feasible), not the best; the base's bound says how far
    from the best any plan can be."""
    from .result import Status

    if not r.has_plan:
        return r
    share = share_of_best(float(r.objective), float(base.objective))
    r.scenario = f"{base.scenario} alternative-{k}"
    r.status, r.bound = Status.FEASIBLE, base.bound
    r.gap = max(0.0, float(base.bound) - float(r.objective)) / max(abs(float(r.objective)), 1.0) \
        if base.bound is not None else None
    r.message = (f"alternative {k} to the best plan ({percent(share)} of its objective): the best schedule of its own "
                 "selection of initiatives")
    return r


def _why_no_more(outcome, found: int, within: float) -> str:
    from .result import Status

    if outcome.status is Status.INFEASIBLE:
        return f"no other selection of initiatives scores within {percent(within)} of the best" + \
            (f" beyond these {found}" if found else "")
    return f"the search for another plan stopped without one ({outcome.message or outcome.status.value})"


def _table(results: list, best: float) -> pd.DataFrame:
    chosen = [{i for i, s in r.starts.items() if s is not None} for r in results]
    rows = []
    for k, (r, sel) in enumerate(zip(results, chosen)):
        adds, drops = sorted(sel - chosen[0]), sorted(chosen[0] - sel)
        rows.append({"plan": "best" if k == 0 else f"alternative-{k}", "objective": float(r.objective),
                     "share_of_best": share_of_best(float(r.objective), best),
                     "differs_from_best": len(adds) + len(drops), "adds": ", ".join(adds), "drops": ", ".join(drops)})
    return pd.DataFrame(rows, columns=ALTERNATIVE_COLUMNS)


def _write(found: Alternatives, sc, out) -> Path:
    from .report import write_outputs

    out = (Path(out) if out else Path("results") / sc.name / "alternatives").resolve()
    out.mkdir(parents=True, exist_ok=True)
    for plan, result in zip(found.table["plan"], found.results):
        write_outputs(result, out / plan)
    tmp = out / ".alternatives.csv.tmp"
    found.table.to_csv(tmp, index=False)
    tmp.replace(out / "alternatives.csv")
    return out


def _text(found: Alternatives, within: float, notes: list[str]) -> str:
    from .figures import money_is_npv

    base = found.base
    show = money if money_is_npv(base) and not float(base.portfolio.settings.weights.get("alignment", 0)) else score
    lines = [f"Plans within {percent(within)} of the best for {base.scenario} (best objective {show(base.objective)}; "
             "each as different from the best and the others as possible):"]
    for r in found.table.iloc[1:].itertuples():
        what = "; ".join(filter(None, [f"adds {r.adds}" if r.adds else "", f"drops {r.drops}" if r.drops else ""]))
        lines.append(f"  {r.plan}: objective {show(r.objective)} ({percent(r.share_of_best)} of the best), "
                     f"{r.differs_from_best} initiative(s) differ: {what}")
    if len(found.table) == 1:
        lines.append("  none found")
    lines += [f"  ({n})" for n in notes]
    lines.append(f"Side by side: {found.out / 'alternatives.csv'}; each plan's folder: {found.out}/<plan>/")
    return "\n".join(lines)
