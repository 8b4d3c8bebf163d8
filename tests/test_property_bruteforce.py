"""Property test: the engine's optimum equals brute force on random small portfolios.

Each example is a random portfolio in format v1 (CSV files + scenario.yaml in a temporary
folder): up to 6 initiatives, up to 6 quarters from 2026/27 Q1 (so some cross into
2027/28), staff demands (build / run / k offsets), money demands, capacity rows per period
and per financial year, all four dependency types, mandatory and forced items, a funding
row possibly gated on a milestone, external staff, random discount rate and weights; and the
planning cycle of format v1.1: initiatives in progress (with stop costs, allow_stopping on or off),
training rows (trainer, clinical time and paid bank/locum hours, over 1-3 periods before go-live,
hours_per_fte set so that they bind) and an approved plan (hand-made id,start; starts inside and
outside the new windows, in-progress ones started before the horizon) with every changes.keep mode,
max_moved and both penalties.

For each example:

* brute force (tests/bruteforce.py) over ``prioritiser.load``'s Portfolio gives the best
  objective, or None when no plan is feasible;
* the best plan is re-checked on a Portfolio built directly from the generated values
  (no parser): a cross-check of the engine's reading of the files;
* if validation rejects the files (InputError), the case must have no feasible plan;
* ``prioritiser.run`` with HiGHS and with CBC must agree: ``infeasible`` when brute force
  finds nothing, else ``optimal`` with the same objective, and its plan and external
  purchases must pass the independent checker with the same objective.

``test_generator_and_brute_force`` needs no engine: it checks the generator and the
brute force's pruning against plain enumeration.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruteforce import brute_force, build_portfolio, count_plans, fy_label
from conftest import write_case
from prioritiser.check import check_plan

SOLVERS = ("highs", "cbc")
MAX_PLANS = 3000  # product over initiatives of (allowed starts + 1), before pruning
ROLES = ("developer", "nurse")
START_YEAR = 2026


def qlabel(p: int) -> str:
    """Label of quarter index p counted from 2026/27 Q1 (may lie past the horizon)."""
    return f"{fy_label(START_YEAR + p // 4)} Q{p % 4 + 1}"


def n_allowed(T: int, d: int, es: int, lf) -> int:
    return sum(1 for s in range(es, T) if lf is None or s + d - 1 <= lf)


# ----------------------------------------------------------------------------------------
# the generator


@st.composite
def cases(draw, cycle: bool = False):
    """A random case; `cycle` weighs it towards the planning cycle (longer horizons, always an approved
    plan, more work in progress)."""
    T = draw(st.sampled_from([6, 5, 4, 6, 3, 5] if cycle else [6, 5, 4, 6, 3, 5, 2, 1]))
    n = draw(st.integers(1, 6))
    ids = [f"I{k}" for k in range(n)]
    blanks = draw(st.booleans())  # write defaults as blank cells

    inits = []
    for iid in ids:
        d = draw(st.integers(1, 3))
        es = min(T - 1, draw(st.sampled_from([0, 0, 1, 0, 2, 3, 4, 5])))
        lf = draw(st.one_of(st.none(), st.integers(0, 3).map(lambda x, es=es, d=d: es + d - 1 + x)))
        in_progress = draw(st.integers(0, 3 if cycle else 7)) == 0
        if in_progress:  # already being built: starts in the first period
            es, lf = 0, draw(st.one_of(st.none(), st.integers(d - 1, d + 2)))
        inits.append(
            {
                "id": iid,
                "status": "in_progress" if in_progress else draw(st.sampled_from(["proposed", "proposed", "approved"])),
                "stop_cost": 1000.0 * draw(st.sampled_from([0, 5, 20, 60])) if in_progress else 0.0,
                "duration": d,
                "earliest_start": es,
                "latest_finish": lf,
                "mandatory": draw(st.integers(0, 14)) == 0,
                "capital_cost": 6000.0 * draw(st.integers(0, 20)),
                "revenue_cost": 6000.0 * draw(st.integers(0, 5)),
                "running_cost": 1000.0 * draw(st.sampled_from([0, 0, 1, 2, 5])),
                "benefit": 1000.0 * draw(st.integers(0, 60 if in_progress else 150)),  # stopping may pay
                "revenue": 1000.0 * draw(st.sampled_from([0, 0, 2, 5, 10])),
                "ramp": draw(st.integers(0, 3)),
                "score_trust": float(draw(st.integers(0, 5))),
                "score_ldr": float(draw(st.integers(0, 5))),
            }
        )
    # keep the brute force small: drop initiatives from the end
    total, keep = 1, 0
    for x in inits:
        k = (1 if x["status"] == "in_progress" else n_allowed(T, x["duration"], x["earliest_start"],
                                                              x["latest_finish"])) + 1
        if total * k > MAX_PLANS:
            break
        total *= k
        keep += 1
    inits = inits[:keep]
    ids = ids[:keep]
    n = keep

    roles = list(ROLES[: draw(st.integers(1, 2))])
    # now and then staff is short per period and external staff is cheap: plans buy it
    tight_staff = draw(st.integers(0, 3)) == 0
    resources = [
        {
            "resource": r,
            "kind": "staff",
            "external_cost": 500.0 * draw(st.integers(0, 2 if tight_staff else 6)),
            "external_max": draw(st.sampled_from([2.0, 3.0] if tight_staff else [0.0, 1.0, 2.0, 3.0])),
        }
        for r in roles
    ]

    demands = []
    for iid in ids:
        for r in roles:
            for _ in range(draw(st.sampled_from([1, 0, 2, 1]))):
                off = draw(st.sampled_from(["build", "build", "run", 0, 1, 2, 3]))
                demands.append((iid, r, off, 0.5 * draw(st.integers(1, 6))))
        if draw(st.integers(0, 5)) == 0:  # a money demand
            money = draw(st.sampled_from(["revenue", "capital"]))
            off = draw(st.sampled_from(["build", "run", 0, 2]))
            demands.append((iid, money, off, 1000.0 * draw(st.integers(1, 10))))

    labels = [qlabel(p) for p in range(T)]
    fys = sorted({p // 4 for p in range(T)})
    capacity = []
    for r in ["capital", "revenue", *roles]:
        staff = r in roles
        mode = "period" if staff and tight_staff else draw(st.sampled_from(["none", "period", "year", "both"]))
        if mode in ("period", "both"):
            for lab in labels:
                if draw(st.integers(0, 3)) > 0:
                    if staff:
                        amt = 0.5 * draw(st.integers(0, 2 if tight_staff else 6))
                    else:
                        amt = 6000.0 * draw(st.integers(3, 50))
                    capacity.append((r, lab, amt))
        if mode in ("year", "both"):
            for y in fys:
                in_horizon = sum(1 for p in range(T) if p // 4 == y)
                if staff and in_horizon < 2:
                    continue  # a one-period year row of staff: ambiguous for external purchases
                amt = 0.5 * draw(st.integers(1, 20)) if staff else 6000.0 * draw(st.integers(10, 150))
                capacity.append((r, fy_label(START_YEAR + y), amt))
    if not capacity:
        capacity.append(("capital", fy_label(START_YEAR), 6000.0 * draw(st.integers(0, 150))))

    funding = []
    money_rows = [c for c in capacity if c[0] in ("capital", "revenue")]
    if money_rows and draw(st.booleans()):
        r, lab, _ = draw(st.sampled_from(money_rows))
        milestone = draw(st.one_of(st.none(), st.sampled_from(ids)))
        funding.append(("central-fund", r, lab, 6000.0 * draw(st.integers(1, 30)), milestone))

    mandatory = {x["id"] for x in inits if x["mandatory"]}
    force_in, force_out = [], []
    free = [i for i in ids if i not in mandatory]
    if free and draw(st.integers(0, 4)) == 0:
        force_in.append(draw(st.sampled_from(free)))
    free = [i for i in free if i not in force_in]
    if free and draw(st.integers(0, 4)) == 0:
        force_out.append(draw(st.sampled_from(free)))
    forced = mandatory | set(force_in)

    dependencies = []
    for a in range(n):
        for b in range(a + 1, n):
            if draw(st.integers(0, 3)) != 0:
                continue
            typ = draw(st.sampled_from(["finish_to_start", "start_to_start", "requires", "excludes"]))
            if typ == "excludes":
                if ids[a] in forced and ids[b] in forced:
                    continue  # a direct contradiction; validation may reject it
                pair = (ids[b], ids[a]) if draw(st.booleans()) else (ids[a], ids[b])
                dependencies.append((*pair, typ, 0))
            else:  # predecessor has the lower index: no cycles
                dependencies.append((ids[a], ids[b], typ, draw(st.integers(0, 2))))

    planning = draw(planning_cycle(T, inits, capacity, resources, labels, fys, cycle))
    return {
        **planning,
        "T": T,
        "blanks": blanks,
        "initiatives": inits,
        "resources": resources,
        "demands": demands,
        "capacity": capacity,
        "funding": funding,
        "dependencies": dependencies,
        "discount_rate": draw(st.sampled_from([0.0, 0.035, 0.1, 0.25])),
        "weights": {
            "benefit": float(draw(st.sampled_from([0, 1, 1, 2]))),
            "revenue": float(draw(st.sampled_from([0, 1]))),
            "in_year_revenue": float(draw(st.sampled_from([0, 0.5, 1]))),
            "alignment": float(draw(st.sampled_from([0, 1000, 5000]))),
            "cost": float(draw(st.sampled_from([0.5, 1, 1, 1.5]))),
        },
        "alignment_weights": draw(
            st.sampled_from([{}, {"trust": 1.0}, {"trust": 0.5, "ldr": 0.3, "stp": 0.2}])
        ),
        "external": tight_staff or draw(st.integers(0, 3)) > 0,
        "force_in": force_in,
        "force_out": force_out,
    }


@st.composite
def planning_cycle(draw, T, inits, capacity, resources, labels, fys, always_approved=False):
    """Training rows, an approved plan and changes for a case (capacity and resources are extended)."""
    training = []
    for x in inits:
        if draw(st.integers(0, 2)) == 0:
            training.append({"initiative": x["id"], "staff_group": "nurses",
                             "headcount": float(draw(st.sampled_from([0, 10, 20]))),
                             "hours_each": float(draw(st.sampled_from([1, 2, 4]))),
                             "bank_locum_share": draw(st.sampled_from([0.0, 0.25, 0.5])),
                             "bank_rate": float(draw(st.sampled_from([0, 100, 500]))),
                             "trainees_per_trainer": float(draw(st.sampled_from([5, 10]))),
                             "periods_before_go_live": draw(st.integers(1, 3))})
    if training and draw(st.integers(0, 3)) > 0:  # else trainer and clinical_time exist implicitly, unlimited
        # 40 and 80 hours a year: an FTE-quarter is 10 trainer hours or 20 clinical hours
        resources += [{"resource": "trainer", "kind": "staff", "external_cost": 500.0 * draw(st.integers(0, 2)),
                       "external_max": draw(st.sampled_from([0.0, 1.0])), "hours_per_fte": 40.0},
                      {"resource": "clinical_time", "kind": "staff", "external_cost": 0.0, "external_max": 0.0,
                       "hours_per_fte": 80.0}]
        for r in ("trainer", "clinical_time"):
            if draw(st.booleans()):
                capacity += [(r, lab, 0.5 * draw(st.integers(0, 8))) for lab in labels]
            else:
                capacity += [(r, fy_label(START_YEAR + y), 0.5 * draw(st.integers(1, 20))) for y in fys]
    approved, approved_labels = {}, {}
    if always_approved or draw(st.booleans()):
        for x in inits:
            if draw(st.integers(0, 2)) == 0:
                continue
            window = [s for s in range(x["earliest_start"], T) if x["latest_finish"] is None
                      or s + x["duration"] - 1 <= x["latest_finish"]]
            if x["status"] == "in_progress":  # started before the horizon, or in its first period
                s = draw(st.sampled_from([-2, 0]))
            elif window and draw(st.integers(0, 3)) > 0:  # mostly a start its window allows
                s = draw(st.sampled_from(window))
            else:
                s = draw(st.integers(0, T - 1))
            approved[x["id"]] = s
            approved_labels[x["id"]] = qlabel(s) if s >= 0 else f"{fy_label(START_YEAR - 1)} Q{4 + s + 1}"
    changes = {"keep": draw(st.sampled_from(["none", "none", "start", "selection"])),
               "max_moved": draw(st.sampled_from([None, None, None, 0, 1, 2])),
               "move_penalty": 1000.0 * draw(st.sampled_from([0, 0, 5, 30])),
               "drop_penalty": 1000.0 * draw(st.sampled_from([0, 0, 10, 50]))}
    return {"training": training, "approved": approved, "approved_labels": approved_labels,
            "allow_stopping": draw(st.booleans()), "changes": changes if approved else {}}


def direct_portfolio(case: dict):
    kw = {k: v for k, v in case.items() if k not in ("blanks", "approved_labels")}
    return build_portfolio(**kw)


def write_drawn(case: dict, folder: Path) -> Path:
    """Write the case as format v1 CSV files and a scenario.yaml; returns the scenario path."""
    folder.mkdir(parents=True, exist_ok=True)
    blanks = case["blanks"]

    def cell(value, default):
        return "" if blanks and value == default else value

    rows = []
    for x in case["initiatives"]:
        rows.append(
            {
                "id": x["id"],
                "name": f"Initiative {x['id']}",
                "duration": x["duration"],
                "earliest_start": cell(qlabel(x["earliest_start"]), qlabel(0)),
                "latest_finish": "" if x["latest_finish"] is None else qlabel(x["latest_finish"]),
                "mandatory": cell("true" if x["mandatory"] else "false", "false"),
                "capital_cost": cell(x["capital_cost"], 0.0),
                "revenue_cost": cell(x["revenue_cost"], 0.0),
                "running_cost": cell(x["running_cost"], 0.0),
                "benefit": cell(x["benefit"], 0.0),
                "revenue": cell(x["revenue"], 0.0),
                "ramp": cell(x["ramp"], 0),
                "score_trust": cell(x["score_trust"], 0.0),
                "score_ldr": cell(x["score_ldr"], 0.0),
                "status": cell(x["status"], "proposed"),
                "stop_cost": cell(x["stop_cost"], 0.0),
            }
        )
    tables = {"initiatives": pd.DataFrame(rows),
              "resources": pd.DataFrame(case["resources"], columns=["resource", "kind", "external_cost",
                                                                    "external_max", "hours_per_fte"])}
    if case["training"]:
        tables["training"] = pd.DataFrame(case["training"])
    if case["approved"]:
        pd.DataFrame(list(case["approved_labels"].items()), columns=["id", "start"]).to_csv(
            folder / "approved.csv", index=False)
    if case["demands"]:
        tables["demands"] = pd.DataFrame(case["demands"], columns=["initiative", "resource", "offset", "amount"])
    tables["capacity"] = pd.DataFrame(case["capacity"], columns=["resource", "period", "amount"])
    if case["dependencies"]:
        tables["dependencies"] = pd.DataFrame(case["dependencies"],
                                              columns=["predecessor", "successor", "type", "lag"])
    if case["funding"]:
        tables["funding"] = pd.DataFrame(
            [(s, r, lab, a, "" if m is None else m) for s, r, lab, a, m in case["funding"]],
            columns=["source", "resource", "period", "amount", "milestone"],
        )

    scenario = {
        "horizon": {"start": qlabel(0), "periods": case["T"], "granularity": "quarter"},
        "objective": {
            "discount_rate": case["discount_rate"],
            "weights": case["weights"],
            "alignment_weights": case["alignment_weights"],
        },
        "external": case["external"],
        "force_in": case["force_in"],
        "force_out": case["force_out"],
        "allow_stopping": case["allow_stopping"],
        "solver": {"gap": 0, "time_limit": 30},
    }
    if case["approved"]:
        scenario["approved_plan"] = "approved.csv"
        scenario["changes"] = {k: v for k, v in case["changes"].items() if v is not None}
    return write_case(folder, tables, scenario, name="property", defaults=None, file="scenario.yaml")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b)) + 1e-4


# ----------------------------------------------------------------------------------------
# tests


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_generator_and_brute_force(case):
    """No engine needed: pruned brute force equals plain enumeration; the best plan re-checks."""
    p = direct_portfolio(case)
    assert count_plans(p) <= MAX_PLANS
    best, starts = brute_force(p)
    plain, _ = brute_force(p, prune=False)
    if best is None:
        assert plain is None
        return
    assert plain is not None and close(best, plain)
    r = check_plan(p, starts)
    assert r.ok and r.objective == pytest.approx(best)


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_engine_matches_brute_force(case):
    engine_matches_brute_force(case)


@pytest.mark.slow
@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases(cycle=True))
def test_engine_matches_brute_force_in_the_planning_cycle(case):
    """Weighted toward re-planning: an approved plan always, more work in progress."""
    engine_matches_brute_force(case)


def engine_matches_brute_force(case):
    import prioritiser

    with tempfile.TemporaryDirectory() as tmp:
        scenario = write_drawn(case, Path(tmp))
        try:
            portfolio = prioritiser.load(str(scenario))
        except prioritiser.InputError as exc:
            # the generator writes well-formed files: validation may reject a portfolio only
            # for a contradiction it can see (e.g. forced in, needing one forced out), so
            # there must be no feasible plan
            direct_best, direct_starts = brute_force(direct_portfolio(case))
            assert direct_best is None, (
                f"validation rejected a portfolio that has a feasible plan {direct_starts}: {exc}"
            )
            return
        best, best_starts = brute_force(portfolio)

        # the engine's reading of the files vs. the values they were written from
        if best is not None:
            direct = check_plan(direct_portfolio(case), best_starts)
            assert direct.ok, f"best plan {best_starts} fails on the directly built portfolio: {direct.violations}"
            assert close(direct.objective, best), (
                f"objective of {best_starts}: {best} on the loaded portfolio, {direct.objective} built directly"
            )

        for solver in SOLVERS:
            r = prioritiser.run(str(scenario), solver=solver)
            status = str(getattr(r.status, "value", r.status))
            if best is None:
                assert status == "infeasible", f"{solver}: status {status}, brute force finds no feasible plan"
                continue
            assert status == "optimal", f"{solver}: status {status}, brute force best {best} at {best_starts}"
            assert close(r.objective, best), (
                f"{solver}: objective {r.objective} != brute force {best} (plan {r.starts} vs {best_starts})"
            )
            rep = check_plan(r.portfolio, r.starts, r.external_purchases)
            assert rep.ok, f"{solver}: plan {r.starts} fails the checker: {rep.violations}"
            assert close(rep.objective, r.objective), (
                f"{solver}: checker objective {rep.objective} != engine objective {r.objective}"
            )
