"""Stress-test benchmark (minutes; not part of `make test`): `prioritiser stress` with five cuts
against one solve of the same scenario, side by side in one run, with and without warm starts.

    .venv/bin/python benchmarks/stress.py [--scenario scenarios/baseline.yaml] [--rounds 3]
        [--time-limit S] [--gap G] [--cuts 5,10,15,20,25] [--no-write]

Per round, in turn: one solve of the scenario (`prioritiser.run`, one solver thread, as a batch
worker solves), then `whatif.stress` cold (every level solved from rank-and-place, the policy
before issue 14) and warm (the uncut level solved first, its plan repaired to each cut's rules
as the others' start: batch.run_warm), each into a fresh folder so nothing comes from the batch
cache, with the machine's two cores as workers. The ratio is each stress run's wall time over
the one solve's in the same round (the median of the rounds is reported); the load average is
recorded around each. Every level's status and objective are kept, so warm and cold can be
compared level by level (equal where both are proven optimal). Results go to
benchmarks/results/stress*.json; the tables printed are copied into docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def one_round(path: Path, cuts: list[float], options: dict) -> dict:
    import prioritiser
    from prioritiser.whatif import stress

    row = {}
    load = os.getloadavg()[0]
    t = time.perf_counter()
    result = prioritiser.run(path, threads=1, **options)
    row["one_solve"] = {"seconds": time.perf_counter() - t, "status": result.status.value,
                        "objective": result.objective, "load": [load, os.getloadavg()[0]]}
    for mode in ("cold", "warm"):
        with tempfile.TemporaryDirectory() as tmp:
            load = os.getloadavg()[0]
            t = time.perf_counter()
            res = stress(path, cuts=cuts, out=Path(tmp) / "stress", workers=2, warm=mode == "warm", **options)
            seconds = time.perf_counter() - t
            levels = [{"cut": float(r.cut_percent), "status": r.status, "objective": r.objective,
                       "gap": r.gap, "seconds": float(res.batch.comparison.loc[r.scenario, "seconds"])}
                      for r in res.table.itertuples()]
            row[mode] = {"seconds": seconds, "levels": levels, "load": [load, os.getloadavg()[0]],
                         "checker_ok": all(rec.status in ("optimal", "feasible", "infeasible")
                                           for rec in res.batch.records)}
        row[mode]["ratio"] = row[mode]["seconds"] / row["one_solve"]["seconds"]
    return row


def markdown(rows: list[dict], meta: dict) -> str:
    med = lambda key, f: statistics.median(f(r[key]) for r in rows)  # noqa: E731
    lines = [f"Measured {meta['date']} on {meta['machine']} ({meta['cores']} cores, shared: load average "
             f"{meta['load']}), `{meta['command']}`: {meta['scenario']}, cuts {meta['cuts']} (and the uncut level: "
             f"{len(meta['cuts'].split(',')) + 1} solves), 2 workers, {len(rows)} round(s).", "",
             "| round | one solve s | stress cold s | cold / one | stress warm s | warm / one | load |",
             "|---|---|---|---|---|---|---|"]
    for n, r in enumerate(rows, 1):
        loads = r["one_solve"]["load"] + r["cold"]["load"] + r["warm"]["load"]
        lines.append(f"| {n} | {r['one_solve']['seconds']:.2f} | {r['cold']['seconds']:.2f} | {r['cold']['ratio']:.2f}x | "
                     f"{r['warm']['seconds']:.2f} | {r['warm']['ratio']:.2f}x | {min(loads):.1f}-{max(loads):.1f} |")
    lines.append(f"| median | {med('one_solve', lambda d: d['seconds']):.2f} | {med('cold', lambda d: d['seconds']):.2f} | "
                 f"{med('cold', lambda d: d['ratio']):.2f}x | {med('warm', lambda d: d['seconds']):.2f} | "
                 f"{med('warm', lambda d: d['ratio']):.2f}x | |")
    lines += ["", "Per level (last round): status, objective, worker's seconds, cold against warm:", "",
              "| cut % | cold status | cold objective | cold s | warm status | warm objective | warm s |",
              "|---|---|---|---|---|---|---|"]
    for c, w in zip(rows[-1]["cold"]["levels"], rows[-1]["warm"]["levels"]):
        obj = lambda v: "-" if v is None or v != v else f"{v:,.0f}"  # noqa: E731
        lines.append(f"| {c['cut']:g} | {c['status']} | {obj(c['objective'])} | {c['seconds']:.2f} | {w['status']} | "
                     f"{obj(w['objective'])} | {w['seconds']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cuts", default="5,10,15,20,25")
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--gap", type=float)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    from prioritiser.solvers import silence_banner

    silence_banner()
    options = {k: v for k, v in {"time_limit": args.time_limit, "gap": args.gap}.items() if v is not None}
    cuts = [float(c) for c in args.cuts.split(",")]
    path = Path(args.scenario).resolve()
    rows = []
    for n in range(args.rounds):
        rows.append(one_round(path, cuts, options))
        r = rows[-1]
        print(f"round {n + 1}: one {r['one_solve']['seconds']:.2f} s, cold {r['cold']['seconds']:.2f} s "
              f"({r['cold']['ratio']:.2f}x), warm {r['warm']['seconds']:.2f} s ({r['warm']['ratio']:.2f}x)", flush=True)
    loads = [v for r in rows for k in ("one_solve", "cold", "warm") for v in r[k]["load"]]
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
            "machine": platform.machine() + " " + platform.python_version(), "load": f"{min(loads):.1f}-{max(loads):.1f}",
            "command": "python benchmarks/stress.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "scenario": path.name if path.parent.name == "scenarios" else f"{path.parent.name}/{path.name}",
            "cuts": args.cuts, "options": options}
    table = markdown(rows, meta)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = "stress.json" if path.parent.name == "scenarios" else f"stress-{path.parent.name}.json"
        (RESULTS / name).write_text(json.dumps({"meta": meta, "rounds": rows}, indent=2))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
