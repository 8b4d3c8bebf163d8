"""Performance benchmarks (minutes; not part of `make test`). Writes benchmarks/results/*.json and
the tables in docs/performance.md between the BENCHMARK markers.

    .venv/bin/python benchmarks/run.py [--limit 10,60] [--compare] [--only synth-200,quarterly-500] [--no-write]

Measured in one run, per instance of ../shared/benchmarks/synthetic/ and per time limit:
  - model build time (ours) and, at the largest size, the same MILP built the plain PuLP way;
  - the rank-and-place (greedy) baseline; time to the first plan, to the first plan from the LP
    relaxation (solvers/firstplan.py) and to the first plan within 3% of the reference; objective,
    bound and gap at the time limit; the ratio to the reference objective of values.csv (a 300 s
    reference solve);
  - with --compare, each instance is also solved without the first plan from the LP (the policy
    before it), right after the same instance with it, so the two are side by side under the same load.
The machine's load average is recorded before and after each solve (the machine may be shared).
Plus model build time on generated larger portfolios (initiatives resampled from synth-2000).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import prioritiser  # noqa: E402
from prioritiser.engine import _plan_vector, finish  # noqa: E402
from prioritiser.heuristic import rank_and_place  # noqa: E402
from prioritiser.model import build_model  # noqa: E402
from prioritiser.solvers import solve  # noqa: E402

SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


class Clock:
    """Progress callback: when each plan arrived, and its value by our own numbers (c @ x)."""

    def __init__(self, model):
        self.model, self.t0, self.plans = model, time.perf_counter(), []

    def __call__(self, x=None, bound=None):
        if x is not None and len(x) == self.model.n_cols:
            self.plans.append((time.perf_counter() - self.t0, float(self.model.c @ x)))

    def first_reaching(self, value: float) -> float | None:
        return next((t for t, v in self.plans if v >= value), None)


def parse_options(text: str) -> dict:
    """'mip_heuristic_effort=0.2,presolve=off' -> HiGHS options with their types ({} for '')."""
    out = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=", 1)
        for kind in (int, float):
            try:
                value = kind(value)
                break
            except ValueError:
                continue
        out[key.strip()] = {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value
    return out


def bench_instance(name: str, time_limit: float, reference: dict, compare_pulp: bool, first_plan: bool = True,
                   highs_options: str | None = None, threads: int = 1) -> dict:
    from prioritiser.solvers import highs

    if highs_options is not None:  # None: the engine's own options (solvers/highs.py OPTIONS)
        highs.OPTIONS.clear()
        highs.OPTIONS.update(parse_options(highs_options))
    path = SYNTH / name / "scenario.yaml"
    portfolio = prioritiser.load(path)
    build_s, model = best_of(lambda: build_model(portfolio))
    row = {"instance": name, "initiatives": len(portfolio.initiatives), "columns": model.n_cols,
           "rows": model.A.shape[0], "nonzeros": int(model.A.nnz), "build_s": build_s,
           "time_limit": time_limit, "policy": ("LP first plan" if first_plan else "before (rank-and-place start)")
           + (f", {highs_options or 'HiGHS defaults'}" if highs_options is not None else "")
           + (f", {threads} threads" if threads != 1 else "")}
    if compare_pulp:
        from pulp_loop_model import build_pulp_loop_model
        t = time.perf_counter()
        prob = build_pulp_loop_model(portfolio)
        row["pulp_loop_build_s"] = time.perf_counter() - t
        row["pulp_loop_columns"] = len(prob.variables())
        row["pulp_loop_rows"] = len(prob.constraints)
        del prob
    t = time.perf_counter()
    greedy = rank_and_place(model)
    row["greedy_s"] = time.perf_counter() - t
    greedy_v = _plan_vector(model, greedy) if greedy is not None else None
    row["greedy_objective"] = float(model.c @ greedy_v) if greedy_v is not None else None
    row["load_before"] = os.getloadavg()[0]
    clock = Clock(model)
    outcome = solve(model, "highs", time_limit, portfolio.scenario.solver.gap, greedy, threads=threads,
                    progress=clock, first_plan=first_plan)
    row["load_after"] = os.getloadavg()[0]
    result = finish(model, outcome, greedy_v, {"build": build_s}, outcome.seconds)
    before_solve = build_s + row["greedy_s"]
    row.update({"status": result.status.value, "objective": result.objective, "bound": result.bound,
                "gap": result.gap, "solve_s": outcome.seconds, "check_ok": bool(result.check and result.check.ok),
                "first_plan_s": before_solve + (outcome.first_plan_seconds or 0.0),
                "first_better_plan_s": before_solve + clock.plans[0][0] if clock.plans else None})
    ref = reference.get(name)
    if ref is not None and result.objective is not None:
        row["reference_objective"] = ref
        row["ratio_to_reference"] = result.objective / ref
        reach = clock.first_reaching(0.97 * ref)
        row["within_3pct_s"] = before_solve + reach if reach is not None else None
    return row


def generated_build_times(sizes=(4000, 8000)) -> list[dict]:
    """Build time on larger portfolios: synth-2000's initiatives resampled with new ids."""
    import shutil
    import tempfile

    rows = []
    base = SYNTH / "synth-2000"
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for f in base.glob("*.csv"):
                shutil.copy(f, tmp / f.name)
            ini = pd.read_csv(base / "initiatives.csv", dtype=str, keep_default_na=False)
            dem = pd.read_csv(base / "demands.csv", dtype=str, keep_default_na=False)
            cap = pd.read_csv(base / "capacity.csv", dtype=str, keep_default_na=False)
            copies = n // len(ini)
            inis, dems = [], []
            for c in range(copies):
                a = ini.copy()
                a["id"] = a["id"] + f"-c{c}"
                a["mandatory"] = "false"
                inis.append(a)
                b = dem.copy()
                b["initiative"] = b["initiative"] + f"-c{c}"
                dems.append(b)
            pd.concat(inis).to_csv(tmp / "initiatives.csv", index=False)
            pd.concat(dems).to_csv(tmp / "demands.csv", index=False)
            cap["amount"] = (cap["amount"].astype(float) * copies).map(lambda v: f"{v:.2f}")
            cap.to_csv(tmp / "capacity.csv", index=False)
            for f in ("dependencies.csv", "funding.csv"):
                (tmp / f).unlink(missing_ok=True)
            (tmp / "scenario.yaml").write_text((base / "scenario.yaml").read_text().replace("synth-2000", f"generated-{n}"))
            portfolio = prioritiser.load(tmp / "scenario.yaml")
            build_s, model = best_of(lambda: build_model(portfolio))
            t = time.perf_counter()
            rank_and_place(model)
            rows.append({"instance": f"generated-{n}", "initiatives": n, "columns": model.n_cols,
                         "rows": model.A.shape[0], "nonzeros": int(model.A.nnz), "build_s": build_s,
                         "greedy_s": time.perf_counter() - t})
    return rows


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def markdown(rows: list[dict], gen: list[dict], meta: dict) -> str:
    lines = [f"Measured {meta['date']} on {meta['machine']} ({meta.get('cores', 2)} cores, shared: load average "
             f"{meta.get('load', '?')}), HiGHS one thread, time limits {meta['time_limit']} s, "
             f"`{meta.get('command', 'python benchmarks/run.py')}`.", "",
             "| instance | initiatives | columns x rows (nonzeros) | build s | limit s | policy | greedy / reference | "
             "first plan s | first better plan s | within 3% s | objective / reference | gap | status | "
             "checker | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = r.get("reference_objective")
        greedy = r["greedy_objective"] / ref if ref and r.get("greedy_objective") is not None else None
        lines.append(f"| {r['instance']} | {r['initiatives']} | {r['columns']:,} x {r['rows']:,} ({r['nonzeros']:,}) | "
                     f"{r['build_s']:.3f} | {r.get('time_limit', meta['time_limit']):g} | {r.get('policy', '-')} | "
                     f"{_cell(greedy, '.2%')} | {r['build_s'] + r['greedy_s']:.2f} | {_cell(r.get('first_better_plan_s'), '.2f')} | "
                     f"{_cell(r.get('within_3pct_s'), '.2f')} | {_cell(r.get('ratio_to_reference'), '.2%')} | "
                     f"{_cell(r.get('gap'), '.2%')} | {r['status']} | {'pass' if r['check_ok'] else 'FAIL'} | "
                     f"{r.get('load_before', 0):.1f}-{r.get('load_after', 0):.1f} |")
    pulp = [r for r in rows if "pulp_loop_build_s" in r]
    if pulp:
        lines += ["", "Model build, ours against the same MILP built with plain PuLP loops "
                  "(`benchmarks/pulp_loop_model.py`), same run:", "",
                  "| instance | ours s | PuLP loops s | speed-up |", "|---|---|---|---|"]
        for r in pulp:
            lines.append(f"| {r['instance']} | {r['build_s']:.3f} | {r['pulp_loop_build_s']:.1f} | "
                         f"{r['pulp_loop_build_s'] / r['build_s']:.0f}x |")
    if gen:
        lines += ["", "Model build on generated larger portfolios:", "",
                  "| instance | columns x rows (nonzeros) | build s | rank-and-place s |", "|---|---|---|---|"]
        for r in gen:
            lines.append(f"| {r['instance']} | {r['columns']:,} x {r['rows']:,} ({r['nonzeros']:,}) | "
                         f"{r['build_s']:.3f} | {r['greedy_s']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", "--time-limit", dest="limit", default="60",
                    help="time limit(s) in seconds, comma-separated (e.g. 10,60)")
    ap.add_argument("--compare", action="store_true",
                    help="also solve each instance without the first plan from the LP, side by side")
    ap.add_argument("--highs", action="append", default=None,
                    help="HiGHS options to measure, e.g. 'mip_heuristic_effort=0.2' (repeat; '' = HiGHS's defaults; "
                         "not given: the engine's own, solvers/highs.py OPTIONS), "
                         "each solved side by side per instance")
    ap.add_argument("--threads", default="1", help="solver threads to measure, comma-separated (e.g. 1,2)")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-generated", action="store_true", help="skip the build times of generated portfolios")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render", action="store_true", help="only rewrite the doc from benchmarks/results/")
    args = ap.parse_args(argv)
    if args.render:
        saved = json.loads((RESULTS / "synthetic.json").read_text())
        _write_doc(markdown(saved["instances"], saved["generated"], saved["meta"]))
        return
    limits = [float(v) for v in str(args.limit).split(",")]
    values = pd.read_csv(SYNTH / "values.csv")
    reference = dict(zip(values["instance"], values["reference_objective"]))
    names = [n for n in values["instance"] if not args.only or n in args.only.split(",")]
    loads, rows = [os.getloadavg()[0]], []
    for limit in limits:
        for name in names:
            variants = [(fp, o, int(t)) for fp in ((True, False) if args.compare else (True,))
                        for o in (args.highs or [None]) for t in args.threads.split(",")]
            for first_plan, options, threads in variants:
                print(f"{name} at {limit:g} s{'' if first_plan else ' (before)'} {options} {threads} thread(s) ...",
                      flush=True)
                row = bench_instance(name, limit, reference, compare_pulp=(name == "synth-2000" and limit == limits[0]
                                                                          and first_plan and not args.highs),
                                     first_plan=first_plan, highs_options=options, threads=threads)
                print("  " + json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}),
                      flush=True)
                rows.append(row)
                loads.append(row["load_after"])
    gen = generated_build_times() if not (args.only or args.no_generated) else []
    for r in gen:
        print("  " + json.dumps(r), flush=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": platform.machine() + " " + platform.python_version(), "cores": os.cpu_count(),
            "time_limit": ", ".join(f"{v:g}" for v in limits), "version": prioritiser.__version__,
            "load": f"{min(loads):.1f}-{max(loads):.1f}",
            "command": "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    if args.highs or args.threads != "1":  # a measurement of options: its own file, the doc's tables kept
        if not args.no_write:
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / "options.json").write_text(json.dumps({"meta": meta, "instances": rows}, indent=2))
        print(markdown(rows, [], meta))
        return
    if args.no_write:
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "synthetic.json").write_text(json.dumps({"meta": meta, "instances": rows, "generated": gen}, indent=2))
    _write_doc(markdown(rows, gen, meta))


def _write_doc(table: str) -> None:
    text = DOC.read_text()
    start, end = "<!-- BENCHMARK:engine -->", "<!-- /BENCHMARK:engine -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        DOC.write_text(head + start + "\n" + table + "\n" + end + tail)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
