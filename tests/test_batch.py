"""Batch runs that survive failure, resume after a kill, and give the same tables on every executor."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import prioritiser

from known import write_case
from prioritiser.batch import RUN_RECORD, read_record, run_batch

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"

TINY = {
    "initiatives": """
        id,duration,capital_cost,benefit,mandatory
        A,1,60,130,false
        B,1,50,110,false
        C,2,40,85,false
        M,1,10,0,{mandatory}
    """,
    "capacity": "resource,period,amount\ncapital,2026/27,{capital}",
}
TIMING_COLUMNS = ["seconds", "message"]


def tiny(folder: Path, name: str, capital: float = 100, mandatory: str = "false", **scenario) -> Path:
    tables = {k: v.format(capital=capital, mandatory=mandatory) for k, v in TINY.items()}
    return write_case(folder / name, tables, scenario, name=name)


def stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in TIMING_COLUMNS if c in frame.columns])


@pytest.fixture(scope="module")
def twenty(tmp_path_factory):
    """17 good scenarios, one with bad input, one infeasible, one that outlives its deadline."""
    folder = tmp_path_factory.mktemp("twenty")
    paths = [tiny(folder, f"good-{k:02d}", capital=40 + 10 * k) for k in range(17)]
    bad = tiny(folder, "bad-input")
    (bad.parent / "portfolio" / "initiatives.csv").write_text("id,duration\nA,zero\n")
    paths.append(bad)
    # M is mandatory and needs 10 of capital; with a capital of 5 nothing can meet every rule
    # M (10) and A (60) must both be in: each fits the budget of 65 alone, together they do not
    paths.append(tiny(folder, "infeasible", capital=65, mandatory="true", force_in=["A"]))
    slow = folder / "slow.yaml"
    slow.write_text(yaml.safe_dump({"name": "slow", "extends": str(SYNTH / "quarterly-1000" / "scenario.yaml"),
                                    "solver": {"time_limit": 600, "gap": 0}}))
    paths.append(slow)
    return folder, paths


def test_batch_of_twenty_survives_failures_and_resumes(twenty, tmp_path):
    folder, paths = twenty
    out = tmp_path / "out"
    first = run_batch(paths, out, workers=2, deadline=8)
    by_name = {r.scenario: r for r in first.records}
    assert len(by_name) == 20
    good = [n for n in by_name if n.startswith("good-")]
    assert len(good) == 17
    assert all(by_name[n].status == "optimal" and by_name[n].reason == "" for n in good)
    assert by_name["bad-input"].reason == "bad input" and "duration" in by_name["bad-input"].message
    assert by_name["infeasible"].status == "infeasible" and by_name["infeasible"].reason == "infeasible"
    assert by_name["slow"].reason == "time-out"
    assert not (out / ".running").exists()  # the killed worker's lock was cleared, and the empty folder went (issue 11)
    # every folder is complete and says what happened
    for name in by_name:
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["status"] == by_name[name].status
    comparison = pd.read_csv(out / "comparison.csv", index_col="scenario")
    assert list(comparison.index) == [Path(p).stem for p in paths]
    assert comparison.loc["good-06", "objective"] == pytest.approx(prioritiser.run(paths[6]).objective)
    assert pd.ExcelFile(out / "comparison.xlsx").sheet_names == ["Comparison", "Selection"]
    # a second run solves nothing: every record (and run id) is kept
    run_ids = {n: r.run_id for n, r in by_name.items()}
    second = run_batch(paths, out, workers=2, deadline=8)
    assert sorted(second.skipped) == sorted(run_ids)
    assert {r.scenario: r.run_id for r in second.records} == run_ids
    # a changed input is solved again, and only it
    (folder / "good-03" / "portfolio" / "capacity.csv").write_text("resource,period,amount\ncapital,2026/27,1000\n")
    third = run_batch(paths, out, workers=2, deadline=8)
    assert set(run_ids) - set(third.skipped) == {"good-03"}


@pytest.mark.serial  # the killed worker must be gone within 30 s of a 5 s deadline
def test_slow_worker_process_group_is_killed(tmp_path):
    slow = tmp_path / "slow.yaml"
    slow.write_text(yaml.safe_dump({"name": "slow", "extends": str(SYNTH / "quarterly-1000" / "scenario.yaml"),
                                    "solver": {"time_limit": 600, "gap": 0, "name": "cbc"}}))
    t0 = time.perf_counter()
    result = run_batch([slow], tmp_path / "out", deadline=5)
    assert result.records[0].reason == "time-out"
    assert time.perf_counter() - t0 < 30
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", "cbc.*" + str(tmp_path)], capture_output=True, text=True).stdout
    assert leftovers.strip() == ""


def _variants(folder: Path, n: int) -> list[Path]:
    """Sample-trust variants that each take a second or two and solve to proven optimality."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        path = folder / f"trust-{k:02d}.yaml"
        path.write_text(yaml.safe_dump({
            "name": f"trust-{k:02d}", "extends": str(ROOT / "scenarios" / "baseline.yaml"),
            "adjustments": [{"resource": "capital", "scale": round(0.8 + 0.04 * k, 2)}]}))
        paths.append(path)
    return paths


def test_killed_batch_resumes_with_identical_outputs(tmp_path):
    paths = _variants(tmp_path / "scenarios", 8)
    reference = run_batch(paths, tmp_path / "reference", workers=2)
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "prioritiser.cli", "batch", *map(str, paths), "--out", str(out),
                             "--workers", "2", "--quiet"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list(out.glob(f"*/{RUN_RECORD}"))) >= 2:
            break
        time.sleep(0.1)
    # kill the coordinator (and its fork server) and every worker it had started
    workers = [int(p.read_text()) for p in (out / ".running").glob("*") if p.read_text().strip()]
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in workers:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
    finished = {p.parent.name: read_record(p.parent).run_id for p in out.glob(f"*/{RUN_RECORD}")}
    assert 2 <= len(finished) < len(paths)
    resumed = run_batch(paths, out, workers=2)
    # what had finished was not solved again; everything else was solved once
    assert set(resumed.skipped) == set(finished)
    assert all(read_record(out / n).run_id == rid for n, rid in finished.items())
    assert all(r.status == "optimal" for r in resumed.records)
    pd.testing.assert_frame_equal(stable(resumed.comparison), stable(reference.comparison))
    for path in paths:
        name = path.stem
        for table in ("plan.csv", "usage.csv"):
            assert (out / name / table).read_text() == (tmp_path / "reference" / name / table).read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".running"]


def test_local_and_dask_executors_give_identical_tables(tmp_path):
    from distributed import LocalCluster

    paths = [tiny(tmp_path / "in", f"case-{k}", capital=60 + 20 * k) for k in range(4)]
    paths.append(tiny(tmp_path / "in", "case-infeasible", capital=65, mandatory="true", force_in=["A"]))
    local = run_batch(paths, tmp_path / "local", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_batch(paths, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(stable(local.comparison), stable(dask.comparison))
    pd.testing.assert_frame_equal(local.selection, dask.selection)
    pd.testing.assert_frame_equal(local.plans, dask.plans)


def test_batch_tables_carry_a_scenario_level(tmp_path):
    paths = [tiny(tmp_path / "in", f"case-{k}", capital=60 + 40 * k) for k in range(2)]
    result = run_batch(paths, tmp_path / "out")
    assert result.comparison.index.name == "scenario"
    assert result.plans.index.names == ["scenario", "initiative"]
    assert result.usage.index.names[0] == "scenario"
    assert result.plans.loc[("case-0", "A"), "selected"]
    assert result.selection.loc["A", "case-1"] == "2026/27 Q1"
    assert result.selection.loc["B", "case-0"] == ""  # capital 60: A (value 70) alone


def test_batch_cli_exit_codes(tmp_path):
    ok = tiny(tmp_path / "in", "fine")
    proc = subprocess.run([sys.executable, "-m", "prioritiser.cli", "batch", str(tmp_path / "in" / "*" / "*.yaml"),
                           "--out", str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 scenario(s): 1 solved" in proc.stdout
    bad = tiny(tmp_path / "in2", "broken")
    (bad.parent / "portfolio" / "capacity.csv").write_text("resource,period\ncapital,2026/27\n")
    proc = subprocess.run([sys.executable, "-m", "prioritiser.cli", "batch", str(ok), str(bad),
                           "--out", str(tmp_path / "out2"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert "broken: bad input" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_one_input_hash_follows_every_file_the_run_reads(tmp_path):
    """The batch cache key and summary.json's input hash come from one function over the same files:
    the scenario, what it extends, and every table (whatever the case of its file name)."""
    from prioritiser.batch import plan_job
    from prioritiser.validate import hash_files, input_files

    folder = tmp_path / "trust"
    folder.mkdir()
    (folder / "Initiatives.CSV").write_text("id,duration,capital_cost,benefit\nA,1,60,130\n")
    (folder / "capacity.csv").write_text("resource,period,amount\ncapital,2026/27,100\n")
    (folder / "notes.txt").write_text("not a table\n")
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"portfolio": "trust", "horizon": {"start": "2026/27 Q1", "periods": 4}}))
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"extends": "base.yaml", "objective": {"discount_rate": 0.03}}))

    def key_and_hash():
        job = plan_job(child, tmp_path / "out", {}, None)
        return job.key, prioritiser.load(child).input_hash

    first = key_and_hash()
    assert first == key_and_hash()  # deterministic
    sc = prioritiser.load_scenario(child)
    assert [p.name for p in input_files(sc)] == ["child.yaml", "base.yaml", "Initiatives.CSV", "capacity.csv"]
    assert first[1] == hash_files(input_files(sc))
    seen = {first}
    for path in (child, base, folder / "Initiatives.CSV", folder / "capacity.csv"):
        path.write_text(path.read_text() + "\n# changed\n" if path.suffix == ".yaml" else
                        path.read_text() + ("B,1,1,1\n" if "Init" in path.name else "capital,2026/27 Q1,5\n"))
        now = key_and_hash()
        assert now[0] not in {k for k, _ in seen} and now[1] not in {h for _, h in seen}, path.name
        seen.add(now)
    (folder / "notes.txt").write_text("changed, but not read\n")
    assert key_and_hash() == now
