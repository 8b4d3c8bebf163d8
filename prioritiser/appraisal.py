"""The money a finance director is judged on (format v1.1, issue 13): the benefits realisation
schedule, the targets the plan meets, and the HM Treasury Green Book appraisal of the chosen plan.

- `benefits_table`: benefits.csv, one row per selected initiative and financial year of the horizon:
  the benefit the plan counts on (undiscounted, with its ramp), split cash-releasing and not, and revenue.
- `green_book`: per initiative and for the portfolio, PV costs (whole life to the horizon's end:
  capital, revenue, running, money demands, training pay), PV benefits (benefit and revenue), net
  present social value NPSV = PV benefits - PV costs and the benefit-cost ratio BCR = PV benefits /
  PV costs (blank when PV costs are 0). The portfolio's PV costs also hold the plan's external staff
  and stop costs. With optimism bias on, the same figures are given without it, at the same starts:
  the scenario validated again with `optimism_bias.apply: false` and the plan re-priced there.
- `target_table`: each target's measure as the plan reaches it, from the model's own target rows.

Every figure is computed from the model's pieces (`model.pieces_at`, `model.live_share`), so that
what the reports show is what the plan was chosen on.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .model import Model, live_share, pieces_at
from .portfolio import Portfolio

BENEFITS_COLUMNS = ["id", "financial_year", "benefit", "cash_releasing", "non_cash_releasing", "revenue"]
APPRAISAL_KEYS = ("pv_costs", "pv_benefits", "npsv", "bcr")
# plan.csv's Green Book columns; the `_without_ob` ones and the uplifted figures only with optimism bias on
PLAN_APPRAISAL_COLUMNS = ["npsv", "bcr"]
PLAN_BIAS_COLUMNS = ["capital_cost_uplifted", "duration_uplifted", "pv_cost_without_ob", "pv_benefits_without_ob",
                     "npsv_without_ob", "bcr_without_ob"]
TARGET_COLUMNS = ["measure", "financial_year", "at_least", "achieved", "headroom"]


def _selected(p: Portfolio, starts: dict) -> tuple[np.ndarray, np.ndarray]:
    """(initiative positions, starts) of the selected initiatives, in portfolio order."""
    pos = np.array([k for k, iid in enumerate(p.ids) if starts.get(iid) is not None], dtype=np.int64)
    return pos, np.array([starts[p.ids[k]] for k in pos], dtype=np.int64)


def benefits_table(p: Portfolio, starts: dict) -> pd.DataFrame:
    """benefits.csv (module docstring): every selected initiative x every financial year of the horizon."""
    pos, start = _selected(p, starts)
    years = p.horizon.fy_labels
    per_year = np.zeros((p.horizon.T, len(years)))
    per_year[np.arange(p.horizon.T), p.horizon.fy] = 1.0
    live = live_share(p, pos, start) @ per_year  # selected x years: periods' worth of full benefit
    ini = p.initiatives
    benefit = live * ini["benefit"].to_numpy(float)[pos][:, None]
    cash = benefit * ini["cash_releasing"].to_numpy(float)[pos][:, None]
    return pd.DataFrame({"id": np.repeat(p.ids.to_numpy(object)[pos], len(years)),
                         "financial_year": np.tile(np.array(years, dtype=object), len(pos)),
                         "benefit": benefit.ravel(), "cash_releasing": cash.ravel(),
                         "non_cash_releasing": (benefit - cash).ravel(),
                         "revenue": (live * ini["revenue"].to_numpy(float)[pos][:, None]).ravel()})[BENEFITS_COLUMNS]


def ratios(pv_costs, pv_benefits) -> tuple[np.ndarray, np.ndarray]:
    """NPSV and BCR (NaN where PV costs are 0: a ratio to nothing means nothing)."""
    pv_costs, pv_benefits = np.asarray(pv_costs, float), np.asarray(pv_benefits, float)
    safe = np.where(np.abs(pv_costs) > 1e-9, pv_costs, 1.0)
    return pv_benefits - pv_costs, np.where(np.abs(pv_costs) > 1e-9, pv_benefits / safe, np.nan)


def _figures(pv_costs: float, pv_benefits: float) -> dict:
    npsv, bcr = ratios([pv_costs], [pv_benefits])
    return {"pv_costs": float(pv_costs), "pv_benefits": float(pv_benefits), "npsv": float(npsv[0]),
            "bcr": None if np.isnan(bcr[0]) else float(bcr[0])}


def unbiased_portfolio(p: Portfolio) -> Portfolio | None:
    """The same scenario validated without optimism bias (None when the portfolio has no scenario)."""
    from .validate import build_portfolio  # validation is upstream of the model; loaded only when needed

    if p.scenario is None:
        return None
    settings = p.scenario.settings
    off = dataclasses.replace(settings.optimism_bias, apply=False)
    return build_portfolio(p.scenario.replace(optimism_bias=off))


def green_book(p: Portfolio, plan: pd.DataFrame, components: dict, starts: dict) -> dict:
    """Adds the Green Book columns to `plan` (in place) and returns the portfolio's figures, for the
    summary: pv_costs, pv_benefits, npsv, bcr, optimism_bias, and `without_optimism_bias` when it is on."""
    sel = plan["selected"].to_numpy(bool)
    pv_benefits = (plan["pv_benefit"] + plan["pv_revenue"]).to_numpy(float)
    npsv, bcr = ratios(plan["pv_cost"], pv_benefits)
    plan["npsv"], plan["bcr"] = np.where(sel, npsv, np.nan), np.where(sel, bcr, np.nan)
    overheads = components.get("pv_external", 0.0) + components.get("stop_cost", 0.0)
    out = {**_figures(plan.loc[sel, "pv_cost"].sum() + overheads, pv_benefits[sel].sum()),
           "optimism_bias": p.optimism_bias}
    if not p.optimism_bias:
        return out
    ini = p.initiatives
    plan["capital_cost_uplifted"], plan["duration_uplifted"] = ini["capital_cost"], ini["duration"]
    base = unbiased_portfolio(p)
    pos, start = _selected(p, starts)
    pieces = pieces_at(base, pos, start) if base is not None else None
    for col in PLAN_BIAS_COLUMNS[2:]:
        plan[col] = np.nan
    if pieces is None:
        return out
    ids = p.ids[pos]
    plan.loc[ids, "pv_cost_without_ob"] = pieces["pv_cost"].to_numpy()
    plan.loc[ids, "pv_benefits_without_ob"] = (pieces["pv_benefit"] + pieces["pv_revenue"]).to_numpy()
    n, b = ratios(plan.loc[ids, "pv_cost_without_ob"], plan.loc[ids, "pv_benefits_without_ob"])
    plan.loc[ids, "npsv_without_ob"], plan.loc[ids, "bcr_without_ob"] = n, b
    out["without_optimism_bias"] = _figures(pieces["pv_cost"].sum() + overheads,
                                            (pieces["pv_benefit"] + pieces["pv_revenue"]).sum())
    return out


def target_table(model: Model, v: np.ndarray | None) -> pd.DataFrame:
    """Each target with what the plan `v` reaches: the activity of its model row."""
    targets = model.portfolio.targets
    rows = model.families.get("target")
    achieved = np.asarray(model.A[rows] @ v).ravel() if rows is not None and v is not None else \
        np.full(len(targets), np.nan)
    return pd.DataFrame({"measure": targets["measure"], "financial_year": targets["financial_year"],
                         "at_least": targets["at_least"], "achieved": achieved,
                         "headroom": achieved - targets["at_least"].to_numpy(float)})[TARGET_COLUMNS]


def target_shortfalls(model: Model, time_limit: float = 10.0) -> list[dict]:
    """Why an infeasible scenario's targets cannot all be met: for each target alone (the others set
    aside, every limit and rule kept), the most any plan reaches, by a solve that maximises it; a target
    above that is a diagnosis item naming its year and the shortfall (whole pounds, rounded up, so that
    lowering the target by it is enough). Nothing when the scenario has no plan even without targets."""
    import math

    from .result import Status
    from .solvers import solve

    rows = model.families.get("target")
    if rows is None:
        return []
    free_lo = model.row_lo.copy()
    free_lo[rows] = -np.inf
    items = []
    for r in range(rows.start, rows.stop):
        measure = np.asarray(model.A[r].todense()).ravel()
        alone = dataclasses.replace(model, c=measure, row_lo=free_lo, tiebreak=None, objective_constant=0.0)
        outcome = solve(alone, "highs", time_limit, 1e-9)
        if outcome.status is Status.INFEASIBLE or outcome.x is None:
            return []  # no plan even without the targets: the other limits and rules are in the way
        best = float(measure @ outcome.x)  # our own number, not the solver's
        meta, at_least = model.rows.iloc[r], float(model.row_lo[r])
        if best >= at_least - 1e-6 * max(1.0, at_least):
            continue
        proven = outcome.bound is not None and outcome.bound <= best + 1e-6 * max(1.0, abs(best))
        shortfall = float(math.ceil(at_least - best - 1e-9))
        items.append({"kind": "limit", "resource": meta["resource"], "period": meta["period"], "shortfall": shortfall,
                      "initiatives": [], "rule": "target",
                      "text": f"{meta['resource']} target {meta['period']}: at most £{best:,.0f} can be reached "
                              f"within every limit and rule, short of £{at_least:,.0f} by £{shortfall:,.0f}"
                              + ("" if proven else f" (the best found in {time_limit:g} s, not proven the most)")})
    if not items and rows.stop > rows.start:
        items.append({"kind": "rule", "rule": "target", "initiatives": [],
                      "text": "each target can be met on its own, but not all of them together (or not with the "
                              "other rules): lower one of them"})
    return items
