"""Issue 8: the pieces that keep child processes and temporary files from outliving a run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from prioritiser import processes


def poll(condition, timeout=30.0):
    end = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < end:
        time.sleep(0.05)
    return value


def test_interruptible_stops_the_call_and_raises_again():
    stopped = threading.Event()

    def blocking():  # a solver that returns only when told to stop
        stopped.wait(30)
        return "stopped"

    threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        processes.interruptible(blocking, stopped.set)
    assert stopped.is_set() and time.monotonic() - t0 < 10
    assert processes.interruptible(lambda: 42, lambda: None) == 42
    with pytest.raises(ValueError):
        processes.interruptible(lambda: int("x"), lambda: None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_launched_program_dies_with_the_process_that_started_it(tmp_path):
    """The CBC child outlived a killed run; through the launcher it cannot."""
    code = (f"import subprocess, sys; from prioritiser.processes import launcher\n"
            f"p = subprocess.Popen([launcher('/bin/sleep', {str(tmp_path)!r}), '300'])\n"
            f"print(p.pid, flush=True); p.wait()\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert poll(lambda: open(f"/proc/{child}/comm").read().strip() == "sleep")  # it became the program
    parent.kill()
    parent.wait()
    assert poll(lambda: not processes.alive(child)), "the launched program outlived its parent"


def test_private_tmp_is_removed_and_stale_ones_swept(tmp_path):
    with processes.private_tmp(tmp_path) as folder:
        (folder / "x.mps").write_text("data")
        assert folder.name.startswith(f"prioritiser-{os.getpid()}-")
    assert not folder.exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"prioritiser-{dead.pid}-abc"
    stale.mkdir()
    mine = tmp_path / f"prioritiser-{os.getpid()}-live"
    mine.mkdir()
    other = tmp_path / "prioritiser-notes"
    other.mkdir()
    processes.sweep_tmp(tmp_path)
    assert not stale.exists() and mine.exists() and other.exists()


def test_a_reused_pid_is_not_taken_for_the_lock_holder():
    me = os.getpid()
    assert processes.started_before(me, time.time())
    assert not processes.started_before(me, time.time() - 10 * 365 * 86400)  # we started after that lock
