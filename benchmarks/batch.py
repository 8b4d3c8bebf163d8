"""Batch throughput and per-scenario overhead (issue 3). Minutes; not part of `make test`.

    .venv/bin/python benchmarks/batch.py [--scenarios 200]

Writes 200 variants of the sample trust (capital scaled 0.80..1.20, so no two are alike and the
cache never hits), then measures in one run:
  - a bare solve of each variant in this process (prioritiser.run), the reference;
  - the batch runner with 1 worker and with 2 workers (fresh output folders).
Per-scenario overhead = (batch time with 1 worker - sum of bare solve times) / scenarios.
Updates the BENCHMARK:batch section of docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import prioritiser  # noqa: E402
from prioritiser.batch import run_batch  # noqa: E402

DOC = ROOT / "docs" / "performance.md"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    n = args.scenarios
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for k in range(n):
            path = tmp / "scenarios" / f"trust-{k:03d}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump({"name": f"trust-{k:03d}",
                                            "extends": str(ROOT / "scenarios" / "baseline.yaml"),
                                            "adjustments": [{"resource": "capital",
                                                             "scale": round(0.8 + 0.4 * k / max(1, n - 1), 6)}]}))
            paths.append(path)
        t = time.perf_counter()
        bare = [prioritiser.run(p, threads=1).seconds for p in paths]  # as batch workers solve
        bare_wall = time.perf_counter() - t
        print(f"bare: {bare_wall:.1f} s ({sum(bare):.1f} s inside run())", flush=True)
        # writing the four files (what `prioritiser run` adds to a bare solve), timed on 10 results
        from prioritiser.report import write_outputs

        sample = [prioritiser.run(p) for p in paths[:10]]
        t = time.perf_counter()
        for k, res in enumerate(sample):
            write_outputs(res, tmp / "write-test" / str(k))
        write_s = (time.perf_counter() - t) / len(sample)
        print(f"writing outputs: {write_s:.3f} s per scenario", flush=True)
        walls = {}
        for workers in (1, 2):
            t = time.perf_counter()
            result = run_batch(paths, tmp / f"out-{workers}", workers=workers)
            walls[workers] = time.perf_counter() - t
            assert not result.failed, [r for r in result.failed]
            print(f"batch, {workers} worker(s): {walls[workers]:.1f} s", flush=True)
    row = {"scenarios": n, "bare_wall_s": bare_wall, "batch_1_s": walls[1], "batch_2_s": walls[2],
           "speedup": walls[1] / walls[2], "overhead_per_scenario_s": (walls[1] - bare_wall) / n,
           "write_outputs_s": write_s, "machinery_overhead_s": (walls[1] - bare_wall) / n - write_s,
           "throughput_1_per_min": 60 * n / walls[1], "throughput_2_per_min": 60 * n / walls[2],
           "date": time.strftime("%Y-%m-%d"), "machine": platform.machine() + " " + platform.python_version()}
    print(json.dumps(row, indent=2))
    if args.no_write:
        return
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "batch.json").write_text(json.dumps(row, indent=2))
    table = "\n".join([
        f"Measured {row['date']} on {row['machine']} (2 cores), `python benchmarks/batch.py`: {n} variants of "
        "the sample trust's baseline (capital scaled 0.8-1.2), HiGHS, each solved to its 0.1% gap.", "",
        "| | wall time | scenarios per minute |", "|---|---|---|",
        f"| bare solves in one process (`prioritiser.run`) | {bare_wall:.1f} s | {60 * n / bare_wall:.1f} |",
        f"| batch, 1 worker | {walls[1]:.1f} s | {row['throughput_1_per_min']:.1f} |",
        f"| batch, 2 workers | {walls[2]:.1f} s | {row['throughput_2_per_min']:.1f} |", "",
        f"Speed-up with 2 workers: **{row['speedup']:.2f}x** (goal at least 1.8x). Time per scenario over a bare "
        f"solve: {row['overhead_per_scenario_s']:.3f} s, of which {write_s:.3f} s is writing the four result "
        f"files (as `prioritiser run` does) and **{row['machinery_overhead_s']:.3f} s** the batch machinery "
        "(process, hashing, records, comparison; goal under 0.3 s).",
    ])
    text = DOC.read_text()
    start, end = "<!-- BENCHMARK:batch -->", "<!-- /BENCHMARK:batch -->"
    if start in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        DOC.write_text(head + start + "\n" + table + "\n" + end + tail)
    else:
        DOC.write_text(text.rstrip() + "\n\n## Batch throughput\n\n" + start + "\n" + table + "\n" + end + "\n")
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
