"""Issue 14's formulation directions, measured side by side in one run (minutes; not part of `make test`).

    .venv/bin/python benchmarks/formulation.py [--only synth-200,...] [--forms first:0,first:2,short:4]
                                               [--limit 10] [--mip-forms first:0,short:4] [--no-mip]

Per synthetic portfolio (../shared/benchmarks/synthetic/, reference values from values.csv):
  1. precedence forms (`model.precedence_form`, switch PRIORITISER_PRECEDENCE): rows and nonzeros,
     the LP relaxation's time and bound (its optimum, as a ratio to the reference objective), and for
     the forms in --mip-forms the engine's solve at --limit s (objective / reference, gap, checker);
  2. knapsack covers on the money rows (`covers`), separated from the LP optimum in up to three rounds,
     added as rows, the LP re-solved: cuts, bound before and after, time; then the engine's solve of
     the model with the covers at the limit less the separation's time;
  3. identical initiatives (`identical_groups`): how many there are, the precondition for any
     ordering constraint among them.
Every time is HiGHS on one thread; the load average (1 minute) is recorded around each measurement.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import prioritiser  # noqa: E402
from prioritiser.model import Model, build_model  # noqa: E402

SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"
INSTANCES = ("synth-200", "synth-500", "synth-1000", "synth-2000", "quarterly-500", "quarterly-1000")
FORMS = ("disaggregated", "first:0", "first:2", "first:4", "first:8", "short:16")
COVER_ROUNDS = 3
VIOLATION = 1e-4  # a cover enters when the LP exceeds it by this much


# ------------------------------------------------------------------------------------ the LP


def lp_relaxation(model: Model, time_limit: float = 120.0) -> tuple[np.ndarray | None, float, float | None]:
    """(LP optimum's columns or None, seconds, its objective: the LP bound with the constant)."""
    import highspy

    from prioritiser.solvers.highs import _S, _use_threads, load

    # HiGHS's one thread scheduler per process, started afresh: an earlier solve in this process (a test
    # run before this one in the same worker) may have sized it otherwise or left it stopped
    highspy.Highs.resetGlobalScheduler(True)
    _use_threads(1)
    lp = load(model, integer=False)
    lp.setOptionValue("time_limit", float(time_limit))
    lp.setOptionValue("threads", 1)
    t = time.perf_counter()
    lp.solve()
    seconds = time.perf_counter() - t
    if lp.getModelStatus() != _S.kOptimal:
        print(f"  LP relaxation of {model.portfolio.name}: {lp.modelStatusToString(lp.getModelStatus())} "
              f"after {seconds:.1f} s", file=sys.stderr)
        return None, seconds, None
    x = np.asarray(lp.getSolution().col_value, dtype=float)
    return x, seconds, model.solver_value(x)


# ------------------------------------------------------------------------------------ covers


def money_rows(model: Model) -> np.ndarray:
    """Capacity rows of money resources that are knapsacks: every coefficient >= 0 (columns >= 0), so
    the x columns' part alone is at most the limit at every feasible plan."""
    p = model.portfolio
    cap = model.families["capacity"]
    money = set(p.resources.index[p.resources["kind"].to_numpy() == "money"])
    rows = np.arange(cap.start, cap.stop)
    rows = rows[np.isin(model.rows["resource"].to_numpy()[rows], list(money))]
    A = model.A[rows]
    negative = np.asarray((A < 0).sum(axis=1)).ravel()
    return rows[(negative == 0) & np.isfinite(model.row_hi[rows])]


def _cover_on_row(model: Model, r: int, x: np.ndarray) -> tuple[np.ndarray, float] | None:
    """A violated GUB cover of row r from the LP point x, or None. Items are initiatives: item i's weight
    alpha_i is the least coefficient among its columns the LP uses on this row, and its columns are all of
    its columns with coefficient >= alpha_i (S_i). If sum over C of alpha_i > b, no plan starts every
    i in C inside S_i (each starts once), so sum_{i in C} sum_{s in S_i} x[i, s] <= |C| - 1."""
    row = model.A.getrow(r)
    cols, a = row.indices[row.indices < model.n_x], row.data[row.indices < model.n_x]
    used = (x[cols] > 1e-9) & (a > 0)
    if not used.any():
        return None
    init = model.col_init[cols]
    alpha = pd.Series(a[used]).groupby(init[used]).min()
    in_s = a >= alpha.reindex(init).to_numpy()  # NaN (unused initiative) compares False
    value = pd.Series(x[cols][in_s]).groupby(init[in_s]).sum().reindex(alpha.index).to_numpy()
    weight = alpha.to_numpy()
    order = np.argsort((1.0 - value) / weight, kind="stable")  # nearly whole and heavy first
    reach = np.cumsum(weight[order])
    b = model.row_hi[r]
    if reach[-1] <= b:
        return None
    chosen = list(order[:int(np.searchsorted(reach, b, side="right")) + 1])
    for k in sorted(chosen, key=lambda k: value[k]):  # minimal: drop the least used while still a cover
        if weight[chosen].sum() - weight[k] > b:
            chosen.remove(k)
    if value[chosen].sum() <= len(chosen) - 1 + VIOLATION:
        return None
    members = np.isin(init, alpha.index.to_numpy()[chosen]) & in_s
    return cols[members], float(len(chosen) - 1)


def covers(model: Model, x: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The violated covers of every money row at x: (rows over the model's columns, right-hand sides)."""
    found = [c for c in (_cover_on_row(model, int(r), x) for r in money_rows(model)) if c is not None]
    if not found:
        return sp.csr_matrix((0, model.n_cols)), np.zeros(0)
    owner = np.repeat(np.arange(len(found)), [len(c) for c, _ in found])
    cols = np.concatenate([c for c, _ in found])
    return (sp.csr_matrix((np.ones(len(cols)), (owner, cols)), shape=(len(found), model.n_cols)),
            np.array([rhs for _, rhs in found]))


def with_rows(model: Model, A: sp.csr_matrix, hi: np.ndarray) -> Model:
    """The model with rows A v <= hi appended as family "cover" (labels: the capacity family's)."""
    if not A.shape[0]:
        return model
    extra = pd.DataFrame({"family": ["cover"] * A.shape[0]})
    families = dict(model.families, cover=slice(model.A.shape[0], model.A.shape[0] + A.shape[0]))
    return dataclasses.replace(model, A=sp.vstack([model.A, A]).tocsr(),
                               row_lo=np.concatenate([model.row_lo, np.full(A.shape[0], -np.inf)]),
                               row_hi=np.concatenate([model.row_hi, hi]),
                               rows=pd.concat([model.rows, extra], ignore_index=True), families=families)


def separate(model: Model, rounds: int = COVER_ROUNDS) -> tuple[Model, list[dict]]:
    """Rounds of: solve the LP, add the violated covers; the model with every cover, and per round its
    LP's bound and seconds and the covers added."""
    log = []
    for _ in range(rounds + 1):
        x, seconds, bound = lp_relaxation(model)
        log.append({"lp_s": seconds, "bound": bound, "rows": model.A.shape[0]})
        if x is None or len(log) > rounds:
            break
        A, hi = covers(model, x)
        log[-1]["cuts"] = A.shape[0]
        if not A.shape[0]:
            break
        model = with_rows(model, A, hi)
    return model, log


# ------------------------------------------------------------------------------------ symmetry


def identical_groups(model: Model) -> list[list[int]]:
    """Initiatives identical in every column: the same starts, objective and column of A outside the
    select rows, and the same select row bounds (mandatory or not). Groups of two or more."""
    sel = model.families["select"]
    others = np.setdiff1d(np.arange(model.A.shape[0]), np.arange(sel.start, sel.stop))
    A = model.A[others].tocsc()
    groups = defaultdict(list)
    for i, cols in enumerate(model.cols_of):
        sub = A[:, cols]
        h = hashlib.sha1()
        for part in (model.col_start[cols], np.round(model.c[cols], 6), np.float64(model.row_lo[sel.start + i]),
                     sub.indptr, sub.indices, np.round(sub.data, 9)):
            h.update(np.ascontiguousarray(part).tobytes())
        groups[h.hexdigest()].append(i)
    return [g for g in groups.values() if len(g) > 1]


# ------------------------------------------------------------------------------------ the run


def load(name: str):
    return prioritiser.load(SYNTH / name / "scenario.yaml")


def build(portfolio, form: str) -> tuple[Model, float]:
    os.environ["PRIORITISER_PRECEDENCE"] = form
    try:
        t = time.perf_counter()
        model = build_model(portfolio)
        return model, time.perf_counter() - t
    finally:
        os.environ.pop("PRIORITISER_PRECEDENCE", None)


def engine_solve(model: Model, limit: float, reference: float) -> dict:
    """The engine's solve (time sharing, LP first plan, checker) as benchmarks/run.py does it."""
    from prioritiser.engine import _plan_vector, finish
    from prioritiser.heuristic import rank_and_place
    from prioritiser.solvers import solve

    greedy = rank_and_place(model)
    greedy_v = _plan_vector(model, greedy) if greedy is not None else None
    load_before = os.getloadavg()[0]
    outcome = solve(model, "highs", limit, model.portfolio.scenario.solver.gap, greedy, threads=1)
    result = finish(model, outcome, greedy_v, {}, outcome.seconds)
    return {"mip_limit": limit, "mip_objective": result.objective, "mip_gap": result.gap,
            "mip_status": result.status.value, "checker": bool(result.check and result.check.ok),
            "mip_ratio": result.objective / reference if result.objective is not None else None,
            "load": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}"}


def measure_form(portfolio, form: str, reference: float, limit: float | None) -> dict:
    model, build_s = build(portfolio, form)
    prec = model.families["precedence"]
    row = {"variant": form, "rows": model.A.shape[0], "nonzeros": int(model.A.nnz),
           "precedence_rows": prec.stop - prec.start, "build_s": build_s, "load_lp": os.getloadavg()[0]}
    _, row["lp_s"], bound = lp_relaxation(model)
    row["lp_ratio"] = bound / reference if bound is not None else None
    if limit:
        row.update(engine_solve(model, limit, reference))
    return row


def measure_covers(portfolio, reference: float, limit: float | None) -> dict:
    model, _ = build(portfolio, "disaggregated")
    t = time.perf_counter()
    cut, log = separate(model)
    seconds = time.perf_counter() - t
    row = {"variant": "covers", "rows": cut.A.shape[0], "nonzeros": int(cut.A.nnz),
           "cuts": cut.A.shape[0] - model.A.shape[0], "rounds": log, "separation_s": seconds,
           "lp_s": log[0]["lp_s"], "lp_ratio_before": (log[0]["bound"] or np.nan) / reference,
           "lp_ratio": (log[-1]["bound"] or np.nan) / reference, "load_lp": os.getloadavg()[0]}
    if limit:
        row.update(engine_solve(cut, max(2.0, limit - seconds), reference))
    return row


def table(results: dict) -> str:
    lines = ["| instance | variant | rows (precedence) | nonzeros | LP s | LP bound / reference | "
             "MIP objective / reference | gap | checker | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda v, f: "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, f)  # noqa: E731
    for name, rows in results.items():
        for r in rows:
            if r["variant"] == "covers":
                variant = (f"covers ({r['cuts']} cuts, {len(r['rounds']) - 1} rounds, {r['separation_s']:.1f} s; "
                           f"LP before {fmt(r['lp_ratio_before'], '.3%')})")
                rows_txt = f"{r['rows']:,}"
            else:
                variant, rows_txt = r["variant"], f"{r['rows']:,} ({r['precedence_rows']:,})"
            checker = "-" if "checker" not in r else "pass" if r["checker"] else "FAIL"
            lines.append(f"| {name} | {variant} | {rows_txt} | {r['nonzeros']:,} | {fmt(r.get('lp_s'), '.2f')} | "
                         f"{fmt(r.get('lp_ratio'), '.3%')} | {fmt(r.get('mip_ratio'), '.2%')} | "
                         f"{fmt(r.get('mip_gap'), '.2%')} | {checker} | "
                         f"{r.get('load', format(r['load_lp'], '.1f'))} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(INSTANCES))
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--mip-forms", default="disaggregated,first:0,first:4")
    ap.add_argument("--limit", type=float, default=10.0)
    ap.add_argument("--no-mip", action="store_true")
    ap.add_argument("--no-covers", action="store_true")
    args = ap.parse_args(argv)
    values = pd.read_csv(SYNTH / "values.csv").set_index("instance")["reference_objective"].to_dict()
    limit = None if args.no_mip else args.limit
    mip_forms = set(args.mip_forms.split(","))
    results, symmetry = {}, {}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for name in args.only.split(","):
        portfolio, ref = load(name), values[name]
        rows = [measure_form(portfolio, f, ref, limit if f in mip_forms else None) for f in args.forms.split(",")]
        if not args.no_covers:
            rows.append(measure_covers(portfolio, ref, limit))
        results[name] = rows
        groups = identical_groups(build(portfolio, "disaggregated")[0])
        symmetry[name] = {"groups": len(groups), "initiatives": sum(map(len, groups))}
        print(table({name: rows}).split("\n", 2)[2], f"| identical initiatives: {symmetry[name]} |", flush=True)
    out = ROOT / "benchmarks" / "results" / "formulation.json"
    out.parent.mkdir(exist_ok=True)
    command = " ".join(["benchmarks/formulation.py", *(argv or sys.argv[1:])])
    out.write_text(json.dumps({"started": started, "command": command,
                               "results": results, "identical": symmetry}, indent=1, default=float))
    print(f"\nMeasured {started}, `python benchmarks/formulation.py {' '.join(argv or sys.argv[1:])}`\n")
    print(table(results))
    print("\nidentical initiatives:", symmetry)


if __name__ == "__main__":
    main()
