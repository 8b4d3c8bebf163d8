"""Batch runs that survive failure: many scenarios, each in its own process, with a hard deadline.

- Each scenario runs in a child process that leads its own process group (so CBC's subprocess goes
  with it); past its deadline the whole group is killed.
- One failure (bad input, infeasible, crash, time-out, killed worker) is recorded with its reason
  and never stops the others.
- Every scenario's folder is published atomically with a `run.json` record; a rerun skips the
  scenarios whose inputs (SHA-256 of the scenario and portfolio files), engine version and run
  options are unchanged and that finished, so a killed batch resumes where it stopped.
- Locally the children are forked from a warm fork server of our own (`prioritiser.workers`,
  started with `python -m`, imports paid once), so a script without an `if __name__ ==
  "__main__":` guard, or a notebook cell, is never run again in a worker; with `executor="dask"` the
  same isolated runner is submitted to a dask.distributed cluster.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from . import workers
from .errors import InputError
from .outputs import (RUNNING, check_output_root, clear_stale_staging, publish, read_csv, replace_file, unique_slugs,
                      write_csv)
from .processes import die_with_parent, kill_group, started_before
from .version import __version__

RUN_RECORD = "run.json"  # (lock files of scenarios being solved are RUNNING/<folder>, holding the child's pid)
DEFAULT_MARGIN = 30.0  # seconds beyond a scenario's own time limit before its deadline


@dataclass
class Job:
    name: str
    path: Path
    out: Path
    key: str  # changes whenever the inputs, engine version or run options change
    deadline: float  # seconds
    options: dict = field(default_factory=dict)  # engine.run's keywords: solver, time_limit, gap, decisions, ...
    inputs: list = field(default_factory=list)  # every file the scenario reads (str), kept out of the output root
    outputs: str = "full"  # "full": every output file; "tables": plan.csv, usage.csv and summary.json only

    @property
    def lock(self) -> Path:
        return self.out.parent / RUNNING / self.out.name


@dataclass
class Record:
    """What a batch knows about one scenario (the content of its run.json)."""

    scenario: str
    key: str
    status: str  # optimal / feasible / infeasible / error
    reason: str  # "" when a plan was found; else bad input / infeasible / time-out / crashed / killed / error
    message: str = ""
    seconds: float = 0.0
    finished: bool = True  # False: a crash or kill that a rerun should try again
    run_id: str = ""
    engine_version: str = __version__
    scenario_file: str = ""
    cpu_seconds: float = 0.0  # the worker's own processor time (0 when it did not report)


def plan_job(path: str | Path, out_root: Path, options: dict, deadline: float | None, name: str | None = None,
             outputs: str = "full") -> Job:
    """Name, cache key and deadline of one scenario (bad input still gets a job: it fails cleanly).
    `name` (default: the scenario's) names its folder, for several variants of one scenario file."""
    from .scenario import load_scenario
    from .validate import hash_files, input_files

    path = Path(path).resolve()
    own, files, time_limit = path.stem, [path], 60.0
    try:
        sc = load_scenario(path)
        own, time_limit = sc.name, sc.solver.time_limit
        files = input_files(sc)
    except InputError:
        pass
    if options.get("time_limit") is not None:
        time_limit = options["time_limit"]
    limit = deadline if deadline is not None else time_limit * 1.5 + DEFAULT_MARGIN
    key_src = json.dumps({"inputs": hash_files(files), "version": __version__, "options": options,
                          "deadline": limit, "outputs": outputs}, sort_keys=True)
    name = name or own
    # the folder is a slug of the name (see outputs.slug); run_batch makes it unique across the batch
    return Job(name, path, out_root / unique_slugs([name])[0], hashlib.sha256(key_src.encode()).hexdigest(), limit,
               options, [str(f) for f in files], outputs)


def read_record(folder: Path) -> Record | None:
    try:
        return Record(**json.loads((folder / RUN_RECORD).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _publish_failure(job: Job, status: str, reason: str, message: str, seconds: float, finished: bool) -> Record:
    rec = Record(job.name, job.key, status, reason, message, round(seconds, 3), finished, uuid.uuid4().hex,
                 scenario_file=str(job.path))
    summary = {"scenario": job.name, "status": status, "reason": reason, "message": message,
               "objective": None, "bound": None, "gap": None, "seconds": round(seconds, 3),
               "package_version": __version__}

    def fill(tmp: Path):
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        (tmp / RUN_RECORD).write_text(json.dumps(asdict(rec), indent=2))
    publish(job.out, fill)
    return rec


def solve_job(job: Job) -> Record:
    """Solve in this process and publish the folder (the child's work)."""
    from .engine import run
    from .report import write_outputs

    t0, cpu = time.perf_counter(), time.process_time()
    try:
        # one solver thread per worker: the batch's parallelism is across scenarios
        result = run(job.path, threads=1, **job.options)
    except InputError as exc:
        errors = "; ".join(str(i) for i in exc.errors[:20])
        return _publish_failure(job, "error", "bad input", errors, time.perf_counter() - t0, True)
    reason = {"optimal": "", "feasible": "", "infeasible": "infeasible"}.get(result.status.value, "error")
    rec = Record(job.name, job.key, result.status.value, reason, result.message,
                 round(time.perf_counter() - t0, 3), True, uuid.uuid4().hex, scenario_file=str(job.path),
                 cpu_seconds=round(time.process_time() - cpu, 3))
    write_outputs(result, job.out, extra={RUN_RECORD: json.dumps(asdict(rec), indent=2)},
                  workbook=job.outputs == "full")
    return rec


def _child(job: Job, new_session: bool = True) -> None:
    die_with_parent()  # the worker server (or a dask worker) killed outright takes this worker with it
    if new_session:
        os.setsid()  # lead a new process group: a deadline kill takes the solver's subprocesses too
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # solver banners would scramble the coordinator's progress bar
    lock = job.lock
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(str(os.getpid()))
    try:
        solve_job(job)
    finally:
        lock.unlink(missing_ok=True)




class _Spawned:
    """A worker started as a fresh interpreter in its own session (for dask workers, which are
    daemonic processes and may not fork children through multiprocessing)."""

    def __init__(self, job: Job):
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-m", "prioritiser.batch", json.dumps(_job_doc(job))],
                                     start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid

    def join(self, timeout):
        import subprocess

        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    @property
    def exitcode(self):
        return self.proc.poll()


def _job_doc(job: Job) -> dict:
    doc = asdict(job)
    doc["path"], doc["out"] = str(job.path), str(job.out)
    return doc


POLL_SECONDS = 0.2  # how often a waiting coordinator thread looks at its worker and the stop flag


def _wait(proc, job: Job, stop: threading.Event | None) -> str:
    """Wait for the worker: "done", "deadline" (past the job's deadline) or "stopped" (`stop` set)."""
    end = time.monotonic() + job.deadline
    while proc.exitcode is None:
        if stop is not None and stop.is_set():
            return "stopped"
        left = end - time.monotonic()
        if left <= 0:
            return "deadline"
        proc.join(min(POLL_SECONDS, left))
    return "done"


def _end_worker(proc, job: Job) -> None:
    """Kill the worker's whole process group and remove what it could not: its lock, its
    half-written folder."""
    kill_group(proc.pid)
    proc.join(10)
    job.lock.unlink(missing_ok=True)
    clear_stale_staging(job.out.parent, job.out.name, pids={proc.pid})


def run_isolated(job: Job, spawn: bool = False, starter: Callable | None = None,
                 stop: threading.Event | None = None) -> Record | None:
    """Run one job in its own process group under its deadline; a Record, or None when `stop` was
    set (Ctrl-C): the worker is then killed and leaves nothing behind, to be solved on the next run.
    (`starter(job)`, returning an object with pid, join(timeout) and exitcode, is for benchmarks.)"""
    if stop is not None and stop.is_set():
        return None  # queued when the batch was stopped: never started
    t0 = time.perf_counter()
    before = read_record(job.out)
    if starter is not None:
        proc = starter(job)
    elif spawn or not workers.can_fork():
        proc = _Spawned(job)
    else:  # forked from our own warm server: the caller's __main__ is never imported again
        proc = workers.server().start(_job_doc(job))
    outcome = _wait(proc, job, stop)
    seconds = time.perf_counter() - t0
    lock = job.lock
    if outcome != "done":  # past the deadline or stopped: the whole group goes
        _end_worker(proc, job)
        if outcome == "stopped":
            return None
        return _publish_failure(job, "error", "time-out", f"killed after its deadline of {job.deadline:g} s",
                                seconds, True)
    # The worker's fresh record is the proof of success (the exit status alone is not).
    rec = read_record(job.out)
    if rec is not None and rec.key == job.key and (before is None or rec.run_id != before.run_id):
        return rec
    lock.unlink(missing_ok=True)
    clear_stale_staging(job.out.parent, job.out.name, pids={proc.pid})
    if proc.exitcode < 0:
        why = f"killed by signal {-proc.exitcode} ({signal.Signals(-proc.exitcode).name})"
        return _publish_failure(job, "error", "killed", why, seconds, False)
    return _publish_failure(job, "error", "crashed", f"worker exited with code {proc.exitcode}", seconds, False)


def _run_isolated_on_dask(job: Job) -> dict:
    return asdict(run_isolated(job, spawn=True))


def _clear_stale(out_root: Path) -> None:
    """Kill workers a killed batch left running, so no scenario is solved twice at once."""
    folder = out_root / RUNNING
    if not folder.is_dir():
        return
    for lock in folder.iterdir():
        try:
            pid, written = int(lock.read_text().strip()), lock.stat().st_mtime
        except (OSError, ValueError):
            pid, written = 0, 0.0
        if pid > 0 and started_before(pid, written):  # not a stranger given the same process id
            kill_group(pid)
        lock.unlink(missing_ok=True)


@dataclass
class BatchResult:
    """Tables over every scenario of a batch, with a `scenario` index level."""

    out: Path
    records: list[Record]
    skipped: list[str]
    comparison: pd.DataFrame  # index scenario
    selection: pd.DataFrame  # index initiative, one column per scenario: start period or blank
    plans: pd.DataFrame  # index (scenario, initiative)
    usage: pd.DataFrame  # index (scenario, row)

    @property
    def failed(self) -> list[Record]:
        """No plan and not proven infeasible: bad input, time-out, crash, killed, solver error."""
        return [r for r in self.records if r.reason and r.reason != "infeasible"]

    @property
    def solved(self) -> list[Record]:
        """A plan was found (optimal or feasible), in this run or unchanged since the last."""
        return [r for r in self.records if not r.reason]

    @property
    def infeasible(self) -> list[Record]:
        return [r for r in self.records if r.reason == "infeasible"]

    def counts(self) -> str:
        """'8 scenario(s): 6 solved, 1 infeasible, 1 failed (1 bad input); 2 unchanged since the last run'
        (solved: a plan was found; failed: no plan and not proven infeasible)."""
        reasons: dict[str, int] = {}
        for r in self.failed:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
        why = f" ({', '.join(f'{n} {reason}' for reason, n in sorted(reasons.items()))})" if reasons else ""
        text = (f"{len(self.records)} scenario(s): {len(self.solved)} solved, {len(self.infeasible)} infeasible, "
                f"{len(self.failed)} failed{why}")
        return text + (f"; {len(self.skipped)} unchanged since the last run (not solved again)" if self.skipped else "")


def expand(patterns) -> list[Path]:
    """Scenario paths from file names and globs, in the order given, without repeats."""
    import glob

    seen, out = set(), []
    for pattern in patterns:
        matches = sorted(glob.glob(str(pattern))) or [str(pattern)]
        for m in matches:
            p = Path(m).resolve()
            if p not in seen:
                seen.add(p)
                out.append(p)
    return out


def run_batch(scenarios, out: str | Path = "results/batch", *, workers: int | None = None,
              executor: str = "local", scheduler: str | None = None, deadline: float | None = None,
              solver: str | None = None, time_limit: float | None = None, gap: float | None = None,
              progress: bool | Callable[[int, int], None] = False, warm_from: str | Path | None = None) -> BatchResult:
    """Run every scenario (paths or globs) into `out`/<scenario>/, then write the comparison.

    `progress`: True for a progress bar on the terminal, or a function called with (scenarios
    done, scenarios in all) as each one finishes (the dashboard's progress bar). `warm_from`: one of
    the scenarios, solved first; its plan is the warm start of every other (see `run_warm`)."""
    out_root = Path(out).resolve()
    options = {k: v for k, v in {"solver": solver, "time_limit": time_limit, "gap": gap}.items() if v is not None}
    jobs = [plan_job(p, out_root, options, deadline) for p in expand(scenarios)]
    if warm_from is not None:
        return run_warm(jobs, Path(warm_from).resolve(), out_root, workers=workers, executor=executor,
                        scheduler=scheduler, progress=progress)
    return run_jobs(jobs, out_root, workers=workers, executor=executor, scheduler=scheduler, progress=progress)


def plan_starts(folder: Path, labels: list[str]) -> dict[str, int | None]:
    """The plan a scenario folder holds (plan.csv) as engine.run's `start`: initiative -> start
    period index of the horizon whose period `labels` are given (None = out); {} without a plan."""
    path = folder / "plan.csv"
    if not path.exists():
        return {}
    plan = read_csv(path, dtype={"start": str}, keep_default_na=False)
    index = {label: n for n, label in enumerate(labels)}
    selected = plan["selected"].astype(str) == "True"
    return {str(i): (index.get(s) if sel else None) for i, s, sel in zip(plan["id"], plan["start"], selected)}


def with_start(job: Job, start: dict) -> Job:
    """The job with engine.run's `start` among its options (its cache key follows: the start is an input)."""
    options = {**job.options, "start": start}
    key = hashlib.sha256(json.dumps({"key": job.key, "start": start}, sort_keys=True).encode()).hexdigest()
    return Job(job.name, job.path, job.out, key, job.deadline, options, job.inputs, job.outputs)


def run_warm(jobs: list[Job], base: Path, out_root: Path, *, workers: int | None = None, executor: str = "local",
             scheduler: str | None = None, progress: bool | Callable[[int, int], None] = False) -> BatchResult:
    """Related scenarios (stress cuts, frontier levels) from the nearest solved plan: the job of the
    scenario file `base` is solved first, and its plan becomes the `start` of every job not yet
    begun. So that no worker waits for it, the jobs farthest from it in the list (the deepest cut,
    the farthest level: where its plan helps least) are solved cold beside it, one per other worker.
    engine.run takes a start only as a candidate: used as given where it keeps the variant's rules,
    else repaired to them (heuristic.repair), and the solver's answer is checked as any other, so a
    start never decides a status. Without a base plan (infeasible, failed) the others start cold."""
    from .scenario import load_scenario

    at = next((n for n, j in enumerate(jobs) if j.path == base), None)
    if at is None:
        raise ValueError(f"the warm start's scenario {base} is not one of the batch's")
    n_workers = max(1, workers or min(len(jobs), os.cpu_count() or 1))
    farthest = sorted((n for n in range(len(jobs)) if n != at), key=lambda n: -abs(n - at))[:n_workers - 1]
    first = [jobs[at]] + [jobs[n] for n in farthest]
    total = len(jobs)
    told = (lambda done, _: progress(done, total)) if callable(progress) else False
    solved = run_jobs(first, out_root, workers=n_workers, executor=executor, scheduler=scheduler, progress=told,
                      comparison=False)
    base_rec = next(r for r in solved.records if r.scenario == jobs[at].name)
    start = plan_starts(jobs[at].out, load_scenario(base).horizon.labels) if not base_rec.reason else {}
    rest = [with_start(j, start) if start and j not in first else j for j in jobs]
    result = run_jobs(rest, out_root, workers=n_workers, executor=executor, scheduler=scheduler, progress=progress)
    result.skipped = [name for name in result.skipped if name in solved.skipped or name not in {j.name for j in first}]
    return result


def run_jobs(jobs: list[Job], out_root: Path, *, workers: int | None = None, executor: str = "local",
             scheduler: str | None = None, progress: bool | Callable[[int, int], None] = False,
             comparison: bool = True) -> BatchResult:
    """Run planned jobs (see `plan_job`) into `out_root`, isolated and resumable, and collect their
    folders into tables and comparison.csv/.xlsx: the batch runner beneath run_batch, stress, frontier and
    the explanations. On Ctrl-C it writes the comparison of what finished and raises BatchInterrupted.
    (`comparison=False`: no comparison files, for a first part of a batch that a second call completes.)"""
    names = [j.name for j in jobs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"scenario names must be unique in a batch; repeated: {', '.join(dupes)}")
    for job, folder in zip(jobs, unique_slugs(names)):
        job.out = out_root / folder
    # refused before anything is written: an --out holding inputs or a user's own files
    check_output_root(out_root, [f for job in jobs for f in job.inputs])
    out_root.mkdir(parents=True, exist_ok=True)
    _clear_stale(out_root)
    todo, skipped, records = [], [], {}
    for job in jobs:
        rec = read_record(job.out)
        if rec is not None and rec.finished and rec.key == job.key:
            skipped.append(job.name)
            records[job.name] = rec
        else:
            todo.append(job)
    workers = max(1, workers or min(len(todo) or 1, os.cpu_count() or 1))
    bar = None
    if progress and not callable(progress):
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), initial=len(skipped), unit="scenario", dynamic_ncols=True)
    failed = 0

    def done(rec: Record):
        nonlocal failed
        records[rec.scenario] = rec
        failed += bool(rec.reason and rec.reason != "infeasible")
        if bar is not None:
            bar.set_postfix(failed=failed, remaining=len(jobs) - len(records))
            bar.update(1)
        elif callable(progress):
            progress(len(records), len(jobs))

    if executor not in ("local", "dask"):
        raise ValueError(f"executor must be local or dask, not {executor!r}")
    interrupted = False
    try:
        if executor == "local":
            _run_local(todo, workers, done)
        else:
            _run_dask(todo, workers, scheduler, done)
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM): queued scenarios never start, running ones are killed
        interrupted = True
    if bar is not None:
        bar.close()
    try:  # the lock folder goes once nothing is running (a killed batch leaves its locks for the next)
        (out_root / RUNNING).rmdir()
    except OSError:
        pass
    finished = [j for j in jobs if j.name in records]
    result = collect(out_root, [j.name for j in finished], [records[j.name] for j in finished], skipped,
                     [j.out.name for j in finished])
    if result.records and (comparison or interrupted):
        write_comparison(result)  # for what finished: a rerun solves the rest
    if interrupted:
        raise BatchInterrupted(result, len(jobs))
    return result


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C, after writing the comparison of the scenarios that had finished."""

    def __init__(self, result: BatchResult, total: int):
        super().__init__(f"interrupted: {len(result.records)} of {total} scenario(s) finished")
        self.result, self.total = result, total


def _run_local(todo: list[Job], workers: int, done) -> None:
    """Each job in its own worker, `workers` at a time. On Ctrl-C the queue is dropped, running
    workers are killed (they leave nothing behind) and KeyboardInterrupt is raised again."""
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(run_isolated, job, stop=stop) for job in todo]
    seen = set()
    try:
        for fut in as_completed(futures):
            seen.add(fut)
            if fut.result() is not None:
                done(fut.result())
    except KeyboardInterrupt:
        stop.set()
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # a second Ctrl-C must not
        try:                                                                      # leave workers behind
            for fut in futures:
                fut.cancel()
            pool.shutdown(wait=True)
            for fut in futures:  # finished while we were stopping: kept
                if fut not in seen and not fut.cancelled() and fut.exception() is None and fut.result() is not None:
                    done(fut.result())
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        raise
    pool.shutdown(wait=True)


def _run_dask(todo: list[Job], workers: int, scheduler: str | None, done) -> None:
    """The same isolated runner on a dask.distributed cluster (our own local one if no scheduler)."""
    from distributed import Client, as_completed as dask_completed

    client = Client(scheduler) if scheduler else Client(processes=True, n_workers=workers, threads_per_worker=1)
    futures = []
    try:
        futures = [client.submit(_run_isolated_on_dask, job, pure=False, key=f"prioritiser-{job.name}-{job.key[:12]}")
                   for job in todo]
        for fut in dask_completed(futures):
            done(Record(**fut.result()))
    except KeyboardInterrupt:
        client.cancel(futures)  # queued ones never start; our local cluster's workers end with it
        raise
    finally:
        client.close()


def collect(out_root: Path, names: list[str], records: list[Record], skipped: list[str],
            folders: list[str] | None = None) -> BatchResult:
    """Read every scenario folder back into tables (the same for every executor). `folders` are
    the folder names of the scenarios (default: slugs of their names)."""
    rows, plans, usages, selection = [], [], [], {}
    for name, rec, folder in zip(names, records, folders or unique_slugs(names)):
        folder = out_root / folder
        try:
            summary = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError):
            summary = {}
        comp = summary.get("components") or {}
        row = {"scenario": name, "status": rec.status, "reason": rec.reason, "gap": summary.get("gap"),
               "objective": summary.get("objective"), "npv": comp.get("npv"),
               "in_year_revenue": comp.get("in_year_revenue"), "selected": summary.get("selected"),
               "seconds": rec.seconds, "message": rec.message, "diagnosis": diagnosis_text(summary)}
        for item in summary.get("spend_by_year", []):
            row[f"{item['resource']}_{item['financial_year']}"] = item["spend"]
        rows.append(row)
        if (folder / "plan.csv").exists():
            plan = read_csv(folder / "plan.csv", dtype={"start": str, "go_live": str}, keep_default_na=False)
            plan.insert(0, "scenario", name)
            plans.append(plan.rename(columns={"id": "initiative"}))
            selection[name] = plan.set_index("id")["start"].where(plan.set_index("id")["selected"].astype(str) == "True", "")
        if (folder / "usage.csv").exists():
            usage = read_csv(folder / "usage.csv")
            usage.insert(0, "scenario", name)
            usages.append(usage)
    comparison = pd.DataFrame(rows).set_index("scenario") if rows else pd.DataFrame(index=pd.Index([], name="scenario"))
    plans_df = pd.concat(plans).set_index(["scenario", "initiative"]) if plans else pd.DataFrame()
    usage_df = pd.concat(usages).reset_index(names="row").set_index(["scenario", "row"]) if usages else pd.DataFrame()
    sel = pd.DataFrame(selection).fillna("")
    sel.index.name = "initiative"
    return BatchResult(out_root, records, skipped, comparison, sel, plans_df, usage_df)


def diagnosis_text(summary: dict) -> str:
    """An infeasible scenario's diagnosis (summary.json) as one line: what would give it a plan."""
    return " ".join(item.get("text", "") for item in summary.get("diagnosis") or [])


def write_comparison(result: BatchResult) -> None:
    """comparison.csv and comparison.xlsx (with the selection matrix), each written atomically and
    safely (scenario names and ids are text, never formulas)."""
    from .outputs import save_workbook
    from .report import workbook

    out = result.out
    replace_file(out / "comparison.csv", lambda tmp: write_csv(result.comparison, tmp, index=True))
    book = workbook({"Comparison": result.comparison.reset_index(), "Selection": result.selection.reset_index()})
    save_workbook(book, out / "comparison.xlsx")


if __name__ == "__main__":  # the spawned worker: python -m prioritiser.batch '<job as JSON>'
    import sys

    doc = json.loads(sys.argv[1])
    _child(Job(**{**doc, "path": Path(doc["path"]), "out": Path(doc["out"])}), new_session=False)
