"""Performance benchmarks (minutes; not part of `make test`). Writes benchmarks/results/*.json and
the tables in docs/performance.md between the BENCHMARK markers.

    .venv/bin/python benchmarks/run.py [--time-limit 60] [--only synth-200,quarterly-500] [--no-write]

Measured in one run, per instance of ../shared/benchmarks/synthetic/:
  - model build time (ours) and, at the largest size, the same MILP built the plain PuLP way;
  - the rank-and-place (greedy) baseline; time to the first plan; objective, bound and gap at the
    time limit; the ratio to the reference objective of values.csv (a 300 s reference solve).
Plus model build time on generated larger portfolios (initiatives resampled from synth-2000).
"""
from __future__ import annotations

import argparse
import json
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


def bench_instance(name: str, time_limit: float, reference: dict, compare_pulp: bool) -> dict:
    path = SYNTH / name / "scenario.yaml"
    portfolio = prioritiser.load(path)
    build_s, model = best_of(lambda: build_model(portfolio))
    row = {"instance": name, "initiatives": len(portfolio.initiatives), "columns": model.n_cols,
           "rows": model.A.shape[0], "nonzeros": int(model.A.nnz), "build_s": build_s}
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
    outcome = solve(model, "highs", time_limit, portfolio.scenario.solver.gap, greedy, threads=1)
    result = finish(model, outcome, greedy_v, {"build": build_s}, outcome.seconds)
    row.update({"status": result.status.value, "objective": result.objective, "bound": result.bound,
                "gap": result.gap, "solve_s": outcome.seconds, "check_ok": bool(result.check and result.check.ok),
                "first_plan_s": build_s + row["greedy_s"] + (outcome.first_plan_seconds or 0.0)})
    ref = reference.get(name)
    if ref is not None and result.objective is not None:
        row["reference_objective"] = ref
        row["ratio_to_reference"] = result.objective / ref
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


def markdown(rows: list[dict], gen: list[dict], meta: dict) -> str:
    lines = [f"Measured {meta['date']} on {meta['machine']} (2 cores), HiGHS one thread, time limit "
             f"{meta['time_limit']:g} s per instance, `python benchmarks/run.py`.", "",
             "| instance | initiatives | columns x rows (nonzeros) | build s | greedy objective | first plan s "
             "(greedy) | first solver plan s | objective at limit | gap | vs reference | status | checker |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['ratio_to_reference']:.2%}" if r.get("ratio_to_reference") else "-"
        gap = f"{r['gap']:.2%}" if r.get("gap") is not None else "-"
        lines.append(f"| {r['instance']} | {r['initiatives']} | {r['columns']:,} x {r['rows']:,} ({r['nonzeros']:,}) | "
                     f"{r['build_s']:.3f} | {r['greedy_objective']:,.0f} | {r['build_s'] + r['greedy_s']:.2f} | "
                     f"{r['first_plan_s']:.2f} | "
                     f"{r['objective']:,.0f} | {gap} | {ratio} | {r['status']} | {'pass' if r['check_ok'] else 'FAIL'} |")
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
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--only", default="")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--render", action="store_true", help="only rewrite the doc from benchmarks/results/")
    args = ap.parse_args(argv)
    if args.render:
        saved = json.loads((RESULTS / "synthetic.json").read_text())
        _write_doc(markdown(saved["instances"], saved["generated"], saved["meta"]))
        return
    values = pd.read_csv(SYNTH / "values.csv")
    reference = dict(zip(values["instance"], values["reference_objective"]))
    names = [n for n in values["instance"] if not args.only or n in args.only.split(",")]
    rows = []
    for name in names:
        print(f"{name} ...", flush=True)
        row = bench_instance(name, args.time_limit, reference, compare_pulp=(name == "synth-2000"))
        print("  " + json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
        rows.append(row)
    gen = generated_build_times() if not args.only else []
    for r in gen:
        print("  " + json.dumps(r), flush=True)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine() + " " + platform.python_version(),
            "time_limit": args.time_limit, "version": prioritiser.__version__}
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
