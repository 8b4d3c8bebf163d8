"""Child processes that never outlive the run that started them (see docs/security.md).

- `die_with_parent`: on Linux a worker asks the kernel (prctl PR_SET_PDEATHSIG) to kill it the
  moment its parent dies (the worker server, which itself kills its workers when the batch that
  started it is gone: workers.serve). So a batch killed with SIGKILL leaves no worker, and no
  solver subprocess, solving on.
- `kill_group` ends a worker and everything it started (each worker leads its own process group).
- `started_before` tells a live process from a reused process id, so that a lock file left by a
  killed batch never leads us to kill a stranger.
- `interruptible` runs a blocking solver call so that Ctrl-C still reaches us and stops it;
  `launcher` makes a solver subprocess die with the process that started it.
- `private_tmp`: a temporary folder of our own for a solver's files, removed when the solve ends
  however it ends; `sweep_tmp` removes those of processes that were killed outright.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
TMP_PREFIX = "prioritiser-"  # private temporary folders: prioritiser-<pid>-<random>


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies (Linux only; elsewhere a
    no-op returning False). If the parent is already gone, exit at once."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        ok = libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if parent == 1:  # orphaned before the request took effect
        os._exit(128 + int(sig))
    return ok


def kill_group(pid: int, sig: int = signal.SIGKILL, group: bool = True) -> None:
    """Signal the process group that `pid` leads (a worker and its solver's subprocesses), or with
    group=False the process alone (one that may not lead its group yet)."""
    try:
        (os.killpg if group else os.kill)(pid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def alive(pid: int) -> bool:
    """Whether a process of this id exists (and is not a zombie, where /proc says so)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def start_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), from /proc; None elsewhere or if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def started_before(pid: int, when: float, slack: float = 2.0) -> bool:
    """Whether process `pid` is alive and began before `when` (so it is the one that wrote a lock
    file at `when`, not a later process given the same id). Without /proc: alive is enough."""
    if not alive(pid):
        return False
    began = start_time(pid)
    return began is None or began <= when + slack


def interruptible(call, stop, wait: float = 30.0):
    """`call()` run in a thread of its own, so that Ctrl-C reaches this thread while a solver blocks
    in C (HiGHS holds the thread that calls it until it returns, and a KeyboardInterrupt raised
    inside one of its callbacks is lost). On KeyboardInterrupt `stop()` asks the solver to stop,
    the call is given `wait` seconds to return, and the interrupt is raised again."""
    outcome: dict = {}
    done = threading.Event()

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="prioritiser-solve", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        stop()
        done.wait(wait)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def launcher(program: str, folder: str | Path) -> str:
    """An executable in `folder` that asks the kernel to kill it when the process starting it dies,
    then becomes `program` (so a solver subprocess never outlives its run, even one killed
    outright). Linux only; elsewhere, or where a script cannot name this Python, `program` itself."""
    python = sys.executable
    if not sys.platform.startswith("linux") or not python or any(c.isspace() for c in python) or len(python) > 120:
        return program
    me = os.getpid()
    script = Path(folder) / f"{Path(program).name}-launcher"
    script.write_text(
        f"#!{python} -S\n"
        "import ctypes, os, sys\n"
        f"ctypes.CDLL(None).prctl({PR_SET_PDEATHSIG}, {int(signal.SIGKILL)}, 0, 0, 0)\n"
        f"if os.getppid() != {me}:\n"
        "    os._exit(137)  # the run that started it is already gone\n"
        f"os.execv({program!r}, [{program!r}] + sys.argv[1:])\n")
    script.chmod(0o700)
    return str(script)


# ------------------------------------------------------------------------------- temporary folders


def sweep_tmp(root: str | Path | None = None) -> None:
    """Remove the private temporary folders of our processes that no longer run (killed outright,
    so they could not remove their own)."""
    root = Path(root or tempfile.gettempdir())
    try:
        entries = list(root.iterdir())
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not name.startswith(TMP_PREFIX) or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            pid = int(name[len(TMP_PREFIX):].split("-")[0])
        except ValueError:
            continue
        if not alive(pid):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def private_tmp(root: str | Path | None = None):
    """A fresh temporary folder named for this process, removed on leaving (Ctrl-C too)."""
    sweep_tmp(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
