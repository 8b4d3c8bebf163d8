"""Batch throughput and per-scenario overhead (issue 3). Minutes; not part of `make test`.

    .venv/bin/python benchmarks/batch.py [--scenarios 200]

Writes 200 variants of the sample trust (capital scaled 0.80..1.20, so no two are alike and the
cache never hits), then measures in one run:
  - a bare solve of each variant in this process (prioritiser.run), the reference;
  - the batch runner with 1 worker and with 2 workers (fresh output folders).
Per-scenario overhead = (batch time with 1 worker - sum of bare solve times) / scenarios.
Updates the BENCHMARK:batch section of docs/performance.md.

    .venv/bin/python benchmarks/batch.py --starters [--scenarios 60]

compares, in one run, how a worker is started, on a tiny scenario (so that the solve is a few
milliseconds and the start is what is measured), the three ways taking turns scenario by scenario
so that the machine's load falls on each alike: our warm fork server (`prioritiser.workers`, what
the local executor uses), multiprocessing's fork server (what it used before, whose children
re-import the caller's __main__), and a fresh `python -m prioritiser.batch` (the Dask path).
Updates the BENCHMARK:starters section of docs/performance.md.
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


TINY = {"initiatives.csv": "id,duration,capital_cost,benefit\nA,1,60,130\nB,1,50,110\nC,1,40,85\n",
        "capacity.csv": "resource,period,amount\ncapital,2026/27,100\n"}


def _forkserver_child(doc):  # the previous local executor: a multiprocessing fork server's child
    from prioritiser.batch import Job, _child

    _child(Job(**{**doc, "path": Path(doc["path"]), "out": Path(doc["out"])}))


def starters(n: int, write: bool) -> dict:
    import multiprocessing

    from prioritiser import batch, workers

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(workers.PRELOAD))
    ways = {
        "server": lambda doc: workers.server().start(doc),
        "forkserver": lambda doc: _start(ctx.Process(target=_forkserver_child, args=(doc,))),
        "fresh interpreter": lambda doc: _start_spawned(doc),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "tiny").mkdir()
        for name, text in TINY.items():
            (tmp / "tiny" / name).write_text(text)
        times = {w: [] for w in ways}
        for way, start in ways.items():  # warm each up once (servers started, imports cached)
            _one(tmp, way, -1, start)
        for k in range(n):
            for way, start in ways.items():
                times[way].append(_one(tmp, way, k, start))
    row = {way: sum(t) / len(t) for way, t in times.items()}
    row["scenarios"] = n
    row["date"] = time.strftime("%Y-%m-%d")
    row["machine"] = platform.machine() + " " + platform.python_version()
    print(json.dumps(row, indent=2))
    if write:
        table = "\n".join([
            f"Measured {row['date']} on {row['machine']} (2 cores, shared), `python benchmarks/batch.py --starters "
            f"--scenarios {n}`: one tiny scenario (3 initiatives) per job, solved in its own process with "
            "`batch.run_isolated`, the three ways taking turns.", "",
            "| how the worker starts | seconds per scenario | relative |", "|---|---|---|",
            *[f"| {LABELS[way]} | {row[way]:.3f} | {row[way] / row['server']:.2f}x |" for way in ways], "",
            "The local executor uses our own warm fork server (`python -m prioritiser.workers`): it never imports "
            "the caller's `__main__`, so scripts without a `__main__` guard and notebook cells work, at the cost of "
            f"{row['server'] - row['forkserver']:+.3f} s per scenario against multiprocessing's fork server.",
        ])
        _update_doc("starters", "Starting batch workers", table)
    return row


LABELS = {"server": "our warm fork server, `python -m prioritiser.workers` (now)",
          "forkserver": "multiprocessing's fork server (before; re-imports the caller's `__main__`)",
          "fresh interpreter": "a fresh `python -m prioritiser.batch` per scenario (the Dask path)"}


def _start(proc):
    proc.start()
    return proc


def _start_spawned(doc):
    from prioritiser.batch import Job, _Spawned

    return _Spawned(Job(**{**doc, "path": Path(doc["path"]), "out": Path(doc["out"])}))


def _one(tmp: Path, way: str, k: int, start) -> float:
    from prioritiser.batch import _job_doc, plan_job, run_isolated

    scenario = tmp / f"s-{way.replace(' ', '-')}-{k}.yaml"
    scenario.write_text(yaml.safe_dump({"name": scenario.stem, "portfolio": "tiny",
                                        "horizon": {"start": "2026/27", "periods": 2, "granularity": "year"}}))
    job = plan_job(scenario, tmp / "out", {}, None)
    t = time.perf_counter()
    rec = run_isolated(job, starter=lambda j: start(_job_doc(j)))
    assert rec.status == "optimal", rec
    return time.perf_counter() - t


def _update_doc(name: str, heading: str, table: str) -> None:
    text = DOC.read_text()
    start, end = f"<!-- BENCHMARK:{name} -->", f"<!-- /BENCHMARK:{name} -->"
    if start in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        DOC.write_text(head + start + "\n" + table + "\n" + end + tail)
    else:
        DOC.write_text(text.rstrip() + f"\n\n## {heading}\n\n" + start + "\n" + table + "\n" + end + "\n")
    print(f"updated {DOC}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=200)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--starters", action="store_true", help="compare how workers are started (see above)")
    args = ap.parse_args(argv)
    n = args.scenarios
    if args.starters:
        starters(n, not args.no_write)
        return
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
