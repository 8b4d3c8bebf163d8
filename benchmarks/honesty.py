"""Campaign: is any plan wrongly called optimal? (issue 7)

Generates portfolios with `tests/portfolios.random_case` (10 to 40 initiatives, one case in five
41 to 80; 6 to 12 periods of year, quarter or month, money per year and per period, staff with external purchases,
dependencies, milestone funding; gap tolerance 0, 0.01% or 0.1% and time limit 60 s or 5 s in
turn) and for each one:

1. probes the adapter: HiGHS given the rank-and-place start, as it comes (does the plan it hands
   back fall short of the objective it reports?);
2. solves with `prioritiser.run`, as a user does (HiGHS, the start on);
3. solves twice more with no start and no rank-and-place plan to fall back on: HiGHS, and CBC;
4. re-checks every plan with the independent checker.

It reports how many plans were labelled optimal, how many of those another solve beats by more
than the gap (goal 0), how many plans fail the checker (goal 0), and how often the start anomaly
was seen at the adapter, detected by the engine and recovered. CBC's own `optimal` labels are
counted against the HiGHS solves the same way.

    .venv/bin/python benchmarks/honesty.py --cases 1000 [--first 0] [--workers 1]

Writes benchmarks/results/honesty.json and prints a Markdown summary.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

GAPS = (0.0, 1e-4, 1e-3)
TIME_LIMITS = (60.0, 5.0)
LARGER = 5  # every fifth case has 41 to 80 initiatives


def _size(n: int) -> str:
    return "10-19" if n < 20 else "20-29" if n < 30 else "30-40" if n <= 40 else "41-80"


def _independent(portfolio, solver: str, gap: float, time_limit: float):
    from prioritiser import engine, solvers
    from prioritiser.model import build_model

    model = build_model(portfolio)
    out = solvers.solve(model, solver, time_limit, gap)
    return engine.finish(model, out, None, {}, out.seconds)


def _probe(portfolio, gap: float, time_limit: float) -> tuple[bool | None, float | None, float | None]:
    """Whether raw HiGHS, given the start, hands back a plan worth less than it reports; the plan's
    own value and the value reported."""
    from prioritiser.heuristic import rank_and_place
    from prioritiser.model import build_model
    from prioritiser.solvers import highs

    model = build_model(portfolio)
    start = rank_and_place(model)
    if start is None:
        return None, None, None
    out = highs.Session(model).solve(time_limit, gap, start=start)
    if out.x is None or out.objective is None:
        return False, None, None
    own = float(model.c @ out.x)
    return abs(own - out.objective) > 1e-6 * max(1.0, abs(own)), own, out.objective


def _checked(r) -> bool:
    from prioritiser.check import check_plan

    if not r.has_plan:
        return True
    report = check_plan(r.portfolio, r.starts, r.external_purchases)
    return report.ok and abs(report.objective - r.objective) <= 1e-6 * max(1.0, abs(r.objective))


def _beaten(r, others, gap: float) -> bool:
    """An `optimal` plan that another solve beats by more than the gap."""
    best = max((o.objective for o in others if o.has_plan), default=None)
    return best is not None and best > r.objective + (gap + 1e-6) * max(abs(r.objective), 1.0) + 1e-6


def one_case(seed: int) -> dict:
    import prioritiser
    from portfolios import random_case
    from prioritiser.result import Status

    gap, time_limit = GAPS[seed % len(GAPS)], TIME_LIMITS[seed % len(TIME_LIMITS)]
    sizes = (41, 80) if seed % LARGER == LARGER - 1 else (10, 40)
    case = random_case(seed, gap=gap, time_limit=time_limit, initiatives=sizes)
    h = case.scenario["horizon"]
    row = {"seed": seed, "initiatives": len(case.tables["initiatives"]), "granularity": h["granularity"],
           "periods": h["periods"], "gap": gap, "time_limit": time_limit}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = prioritiser.run(case.write(tmp))
        row["run_seconds"] = time.perf_counter() - t0
    p = run.portfolio
    cold = _independent(p, "highs", gap, time_limit)
    cbc = _independent(p, "cbc", gap, time_limit)
    row.update({
        **dict(zip(("anomaly_at_adapter", "adapter_plan", "adapter_reported"), _probe(p, gap, time_limit))),
        "status": run.status.value, "objective": run.objective, "bound": run.bound, "run_gap": run.gap,
        "cold_status": cold.status.value, "cold_objective": cold.objective,
        "cbc_status": cbc.status.value, "cbc_objective": cbc.objective,
        "distrusted": run.distrusted, "message": run.message,
        "checker_failures": sum(not _checked(r) for r in (run, cold, cbc)),
        "optimal_beaten": run.status is Status.OPTIMAL and _beaten(run, (cold, cbc), gap),
        "cbc_optimal_beaten": cbc.status is Status.OPTIMAL and _beaten(cbc, (run, cold), gap),
        "cold_optimal_beaten": cold.status is Status.OPTIMAL and _beaten(cold, (run, cbc), gap),
    })
    detected = any("reported an objective" in d or "worse than the start" in d for d in run.distrusted)
    row["anomaly_detected"] = detected
    row["recovered"] = detected and run.status is Status.OPTIMAL and not _beaten(run, (cold, cbc), gap)
    return row


def _shortfall(rows: list[dict]) -> str:
    """How far below the published optimum the plans HiGHS handed back were, as a share of it."""
    import statistics

    short = [(r["objective"] - r["adapter_plan"]) / max(abs(r["objective"]), 1.0) for r in rows
             if r["adapter_plan"] is not None and r["objective"] is not None]
    return f"{100 * statistics.median(short):.1f}% / {100 * max(short):.1f}%" if short else "-"


def summarise(rows: list[dict]) -> str:
    n = len(rows)
    optimal = [r for r in rows if r["status"] == "optimal"]
    seen = [r for r in rows if r["anomaly_at_adapter"]]
    lines = [
        f"| measure | count |", "| --- | --- |",
        f"| portfolios | {n} |",
        f"| `run` status optimal / feasible / infeasible / error | {len(optimal)} / "
        f"{sum(r['status'] == 'feasible' for r in rows)} / {sum(r['status'] == 'infeasible' for r in rows)} / "
        f"{sum(r['status'] == 'error' for r in rows)} |",
        f"| labelled optimal but beaten by cold HiGHS or CBC by more than the gap (goal 0) | "
        f"{sum(r['optimal_beaten'] for r in rows)} |",
        f"| plans failing the independent checker, over all three solves (goal 0) | "
        f"{sum(r['checker_failures'] for r in rows)} |",
        f"| start anomaly seen at the adapter (raw HiGHS with the start) | {len(seen)} of "
        f"{sum(r['anomaly_at_adapter'] is not None for r in rows)} with a start |",
        f"| ... detected by the engine | {sum(r['anomaly_detected'] for r in rows)} |",
        f"| ... recovered (published optimal, equal to the independent solves) | {sum(r['recovered'] for r in rows)} |",
        f"| ... the plan HiGHS handed back, below the optimum: median / worst | {_shortfall(seen)} |",
        f"| CBC labelled optimal but beaten by HiGHS by more than the gap | {sum(r['cbc_optimal_beaten'] for r in rows)} |",
        f"| cold HiGHS labelled optimal but beaten by more than the gap | {sum(r['cold_optimal_beaten'] for r in rows)} |",
    ]
    shapes = collections.Counter((r["granularity"], _size(r["initiatives"])) for r in rows if r["anomaly_at_adapter"] is not None)
    hits = collections.Counter((r["granularity"], _size(r["initiatives"])) for r in seen)
    lines += ["", "Start anomaly at the adapter, by shape (cases with a start):", "",
              "| granularity | initiatives | anomalies | cases |", "| --- | --- | --- | --- |"]
    for key in sorted(shapes):
        lines.append(f"| {key[0]} | {key[1]} | {hits[key]} | {shapes[key]} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Is any plan wrongly called optimal? (see the module docstring)")
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--first", type=int, default=0, help="first seed")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "honesty.json"))
    args = ap.parse_args(argv)
    seeds = range(args.first, args.first + args.cases)
    t0 = time.perf_counter()
    rows = []
    with multiprocessing.get_context("spawn").Pool(args.workers) if args.workers > 1 else _Serial() as pool:
        for k, row in enumerate(pool.imap(one_case, seeds), 1):
            rows.append(row)
            if row["optimal_beaten"] or row["checker_failures"]:
                print(f"seed {row['seed']}: WRONG {row}", flush=True)
            if k % 50 == 0:
                print(f"{k} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"seeds": [args.first, args.first + args.cases], "rows": rows}, indent=1))
    print(summarise(rows))
    print(f"\n{len(rows)} cases in {time.perf_counter() - t0:.0f} s")
    return 0 if not any(r["optimal_beaten"] or r["checker_failures"] for r in rows) else 1


class _Serial:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, items):
        return map(fn, items)


if __name__ == "__main__":
    sys.exit(main())
