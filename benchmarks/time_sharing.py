"""Does the time-sharing policy (branch-and-bound, then neighbourhood search) help each solver?

For every instance and solver, the same time limit is spent two ways, side by side in one run:
branch-and-bound alone for the whole limit; branch-and-bound for the first half, then
neighbourhood search through the same solver's sub-MIPs; and (HiGHS) the same with
branch-and-bound handing over early once its plan has stalled. Both get rank-and-place as the start
(HiGHS uses it; CBC is never given one). One solver thread, one instance at a time.

    .venv/bin/python benchmarks/time_sharing.py [--time-limit 60] [--instances synth-200 ...]

Prints a Markdown table (and writes it to benchmarks/results/time_sharing.md).
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import prioritiser  # noqa: E402
from prioritiser import solvers  # noqa: E402
from prioritiser.engine import _plan_vector, finish  # noqa: E402
from prioritiser.heuristic import rank_and_place  # noqa: E402
from prioritiser.model import build_model  # noqa: E402

SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"
INSTANCES = ("synth-200", "quarterly-500", "synth-1000", "synth-2000")


def reference_values() -> dict[str, float]:
    with open(SYNTH / "values.csv") as f:
        return {r["instance"]: float(r["reference_objective"]) for r in csv.DictReader(f)}


POLICIES = {"B&B only": (math.inf, False), "B&B then LNS": (None, False),
            "B&B then LNS, stall hand-over": (None, True)}


def one(name: str, solver: str, policy: str, time_limit: float) -> dict:
    p = prioritiser.load(SYNTH / name / "scenario.yaml")
    model = build_model(p)
    greedy = rank_and_place(model)
    saved = solvers.LNS_MIN_TIME_LIMIT, solvers.STALL_HANDOVER
    min_limit, solvers.STALL_HANDOVER = POLICIES[policy]
    solvers.LNS_MIN_TIME_LIMIT = saved[0] if min_limit is None else min_limit
    try:
        outcome = solvers.solve(model, solver, time_limit, p.scenario.solver.gap, greedy, threads=1)
    finally:
        solvers.LNS_MIN_TIME_LIMIT, solvers.STALL_HANDOVER = saved
    result = finish(model, outcome, _plan_vector(model, greedy), {}, outcome.seconds)
    return {"instance": name, "solver": solver, "policy": policy,
            "objective": result.objective, "gap": result.gap, "status": result.status.value,
            "seconds": outcome.seconds, "lns_improvements": outcome.lns_improvements, "check": result.check.ok}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--instances", nargs="*", default=list(INSTANCES))
    ap.add_argument("--solvers", nargs="*", default=list(solvers.SOLVER_NAMES))
    args = ap.parse_args(argv)
    ref = reference_values()
    lines = [f"Time limit {args.time_limit:g} s, one thread; objective as a share of the published reference "
             "(`values.csv`, a 300 s HiGHS solve); gap = the published plan's own gap to the solver's bound.", "",
             "| instance | solver | policy | objective / reference | gap | status | LNS improvements | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in args.instances:
        for solver in args.solvers:
            for policy in POLICIES:
                if solver == "cbc" and "stall" in policy:
                    continue  # CBC runs as a child process: it is not handed over early
                r = one(name, solver, policy, args.time_limit)
                share = f"{r['objective'] / ref[name]:.4f}" if r["objective"] is not None else "-"
                gap = f"{100 * r['gap']:.2f}%" if r["gap"] is not None else "-"
                lines.append(f"| {name} | {solver} | {r['policy']} | {share} | {gap} | {r['status']} | "
                             f"{r['lns_improvements']} | {r['seconds']:.1f} |")
                print(lines[-1], flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "time_sharing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
