"""Scale benchmark (minutes; not part of `make test`): generated portfolios of 2,000, 5,000 and
10,000 initiatives x 20 quarters, each solved in a fresh process so that its peak memory is its own.

    .venv/bin/python benchmarks/scale.py [--sizes 2000,5000,10000] [--limit 120] [--no-write]

A portfolio of n initiatives is synth-2000 (../shared/benchmarks/synthetic/) repeated: copy k of
every initiative, demand and dependency gets the id suffix `-k` (dependencies stay inside their
copy), the first n initiatives are kept, and the money and staff limits, the external staff
allowed and the ungated funding are scaled by n / 2000 (the gated funding keeps its milestone in
the first copy). So a larger portfolio is as tight as synth-2000, with the same mix of links.

Measured per size, in one run: reading and validating the files; building the model; the first
plan (rank-and-place) and the first plan from the LP relaxation (solvers/firstplan.py); the
objective, bound and gap at the time limit (HiGHS, one thread), with the checker's verdict; the
process's peak resident memory (ru_maxrss). The machine's load average is recorded with each.
Results go to benchmarks/results/scale.json and docs/performance.md (between the SCALE markers).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic" / "synth-2000"
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"
BASE = 2000


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(SYNTH / name, dtype=str, keep_default_na=False)


def _scaled(column: pd.Series, factor: float) -> pd.Series:
    return (column.astype(float) * factor).map(lambda v: f"{v:.2f}")


def generate(n: int, folder: Path) -> Path:
    """Write a portfolio of n initiatives (module docstring) into `folder`; returns its scenario file."""
    copies = math.ceil(n / BASE)
    ini, dem, dep = _read("initiatives.csv"), _read("demands.csv"), _read("dependencies.csv")
    inis, dems, deps = [], [], []
    for k in range(copies):
        suffix = f"-{k}"
        inis.append(ini.assign(id=ini["id"] + suffix))
        dems.append(dem.assign(initiative=dem["initiative"] + suffix))
        deps.append(dep.assign(predecessor=dep["predecessor"] + suffix, successor=dep["successor"] + suffix))
    ini = pd.concat(inis).iloc[:n]
    kept = set(ini["id"])
    dem = pd.concat(dems)
    dep = pd.concat(deps)
    factor = n / BASE
    ini.to_csv(folder / "initiatives.csv", index=False)
    dem[dem["initiative"].isin(kept)].to_csv(folder / "demands.csv", index=False)
    dep[dep["predecessor"].isin(kept) & dep["successor"].isin(kept)].to_csv(folder / "dependencies.csv", index=False)
    cap = _read("capacity.csv")
    cap.assign(amount=_scaled(cap["amount"], factor)).to_csv(folder / "capacity.csv", index=False)
    res = _read("resources.csv")
    res.assign(external_max=_scaled(res["external_max"], factor)).to_csv(folder / "resources.csv", index=False)
    fund = _read("funding.csv")
    fund = fund.assign(amount=_scaled(fund["amount"], factor),
                       milestone=fund["milestone"].map(lambda m: f"{m}-0" if m else m))
    fund.to_csv(folder / "funding.csv", index=False)
    text = (SYNTH / "scenario.yaml").read_text().replace("synth-2000", f"generated-{n}")
    (folder / "scenario.yaml").write_text(text)
    return folder / "scenario.yaml"


def measure_one(n: int, limit: float) -> dict:
    """Generate, load, build and solve one size in this process (run in a child by main)."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import prioritiser
    from prioritiser.engine import _plan_vector, finish
    from prioritiser.heuristic import rank_and_place
    from prioritiser.model import build_model
    from prioritiser.solvers import silence_banner, solve
    from run import Clock

    silence_banner()
    with tempfile.TemporaryDirectory() as tmp:
        path = generate(n, Path(tmp))
        t = time.perf_counter()
        portfolio = prioritiser.load(path)
        load_s = time.perf_counter() - t
    t = time.perf_counter()
    model = build_model(portfolio)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    greedy = rank_and_place(model)
    greedy_s = time.perf_counter() - t
    greedy_v = _plan_vector(model, greedy)
    row = {"instance": f"generated-{n}", "initiatives": n, "columns": model.n_cols, "rows": model.A.shape[0],
           "nonzeros": int(model.A.nnz), "load_s": load_s, "build_s": build_s, "greedy_s": greedy_s,
           "greedy_objective": float(model.c @ greedy_v), "time_limit": limit, "load_before": os.getloadavg()[0]}
    clock = Clock(model)
    outcome = solve(model, "highs", limit, portfolio.scenario.solver.gap, greedy, threads=1, progress=clock)
    result = finish(model, outcome, greedy_v, {}, outcome.seconds)
    row.update({"load_after": os.getloadavg()[0], "status": result.status.value, "objective": result.objective,
                "bound": result.bound, "gap": result.gap, "solve_s": outcome.seconds,
                "check_ok": bool(result.check and result.check.ok),
                "first_plan_s": build_s + greedy_s,
                "first_lp_plan_s": build_s + greedy_s + clock.plans[0][0] if clock.plans else None,
                "message": outcome.message,
                "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20})
    return row


def _cell(value, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"Measured {meta['date']} on {meta['machine']} ({meta['cores']} cores, shared: load average "
             f"{meta['load']}), HiGHS one thread, `{meta['command']}`; each size in a fresh process.", "",
             "| instance | columns x rows (nonzeros) | read + validate s | build s | first plan s (rank-and-place) | "
             "first plan from the LP s | greedy / objective | objective at limit | gap | status | checker | "
             "peak RSS GB | load |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['instance']} | {r['columns']:,} x {r['rows']:,} ({r['nonzeros']:,}) | {r['load_s']:.2f} | "
                     f"{r['build_s']:.2f} | {r['first_plan_s']:.2f} | {_cell(r['first_lp_plan_s'], '.1f')} | "
                     f"{r['greedy_objective'] / r['objective']:.2%} | {r['objective']:,.0f} | "
                     f"{_cell(r['gap'], '.2%')} | {r['status']} | {'pass' if r['check_ok'] else 'FAIL'} | "
                     f"{r['peak_rss_gb']:.2f} | {r['load_before']:.1f}-{r['load_after']:.1f} |")
    return "\n".join(lines)


def _write_doc(table: str) -> None:
    text = DOC.read_text()
    start, end = "<!-- BENCHMARK:scale -->", "<!-- /BENCHMARK:scale -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        DOC.write_text(head + start + "\n" + table + "\n" + end + tail)
        print(f"updated {DOC}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,5000,10000")
    ap.add_argument("--limit", type=float, default=120)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child: one size, JSON on the last line
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one, args.limit)))
        return 0
    rows, loads = [], [os.getloadavg()[0]]
    for n in (int(v) for v in args.sizes.split(",")):
        print(f"generated-{n} at {args.limit:g} s ...", flush=True)
        done = subprocess.run([sys.executable, __file__, "--one", str(n), "--limit", str(args.limit)],
                              capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        loads.append(rows[-1]["load_after"])
        print("  " + json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rows[-1].items()}),
              flush=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
            "machine": platform.machine() + " " + platform.python_version(), "load": f"{min(loads):.1f}-{max(loads):.1f}",
            "command": "python benchmarks/scale.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "scale.json").write_text(json.dumps({"meta": meta, "instances": rows}, indent=2))
        _write_doc(markdown(rows, meta))
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
