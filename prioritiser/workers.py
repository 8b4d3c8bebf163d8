"""Starting batch workers without ever running the caller's script again.

multiprocessing's fork server (and spawn) prepare each child by importing the parent's `__main__`:
a plain script that calls `run_batch` without an `if __name__ == "__main__":` guard then runs again
in every worker, and every scenario comes back crashed. So workers are started from a process of
our own instead: `python -m prioritiser.workers`, a warm fork server that imports the engine once
and forks one child per scenario. It knows nothing of the caller's `__main__`; it works the same
from a script, a notebook cell or the command line.

Protocol (JSON lines): the coordinator writes `{"id": N, "job": {...}}` to the server's stdin; the
server forks a child that runs `batch._child(job)` in a new session and answers `{"id": N, "pid": P}`,
then `{"id": N, "exit": CODE}` when the child ends (CODE < 0: killed by that signal, as
multiprocessing reports it). The server is single-threaded (safe to fork). When its stdin closes
(the coordinator ended, or was killed outright) it kills the children still running, each with its
process group, and exits; each child also asks the kernel to die with the server (batch._child). Where `os.fork` does not exist, each job runs in a fresh `python -m prioritiser.batch` instead.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path

PRELOAD = ("prioritiser.engine", "prioritiser.report", "prioritiser.batch", "prioritiser.solvers.highs",
           "prioritiser.solvers.cbc")


# ------------------------------------------------------------------------------- the server side
def serve(stdin=None, stdout=None) -> None:
    """Fork a child per request line until stdin closes; report each child's pid and exit code."""
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # CBC or HiGHS missing: the child reports it for its own scenario
            pass
    from .batch import Job, _child
    from .processes import kill_group

    rfd = (stdin or sys.stdin).fileno()
    out = stdout or sys.stdout
    children: dict[int, int] = {}  # pid -> request id
    buffer, open_ = b"", True
    while open_ or children:
        ready, _, _ = select.select([rfd] if open_ else [], [], [], 0.05)
        if ready:
            chunk = os.read(rfd, 65536)
            open_ = bool(chunk)
            buffer += chunk
            if not open_:  # the coordinator is gone (killed outright, say): its workers go with it
                for pid in children:
                    kill_group(pid)
                    kill_group(pid, group=False)
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                doc = request["job"]
                pid = os.fork()
                if pid == 0:  # the child: never returns into the server's loop
                    code = 1
                    try:
                        os.close(rfd)
                        _child(Job(**{**doc, "path": Path(doc["path"]), "out": Path(doc["out"])}))
                        code = 0
                    finally:
                        os._exit(code)
                children[pid] = request["id"]
                _say(out, {"id": request["id"], "pid": pid})
        _reap(children, out, block=not open_ and not ready)


def _reap(children: dict[int, int], out, block: bool) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        if pid in children:
            _say(out, {"id": children.pop(pid), "exit": os.waitstatus_to_exitcode(status)})
        block = False


def _say(out, message: dict) -> None:
    try:
        out.write(json.dumps(message) + "\n")
        out.flush()
    except (BrokenPipeError, OSError):  # the coordinator is gone; children finish on their own
        pass


# -------------------------------------------------------------------------- the coordinator side
class Worker:
    """One job's child, with the interface `batch.run_isolated` uses: pid, join(timeout), exitcode."""

    def __init__(self):
        self.pid: int | None = None
        self.exitcode: int | None = None
        self.started = threading.Event()
        self.ended = threading.Event()

    def join(self, timeout: float | None = None) -> None:
        self.ended.wait(timeout)


class Server:
    """The coordinator's handle on a running `python -m prioritiser.workers`."""

    def __init__(self):
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[1])  # found even when not installed
        env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
        self.proc = subprocess.Popen([sys.executable, "-m", "prioritiser.workers"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        self.lock = threading.Lock()
        self.next_id = 0
        self.waiting: dict[int, Worker] = {}
        threading.Thread(target=self._listen, daemon=True, name="prioritiser-workers").start()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def start(self, job_doc: dict) -> Worker:
        worker = Worker()
        with self.lock:
            self.next_id += 1
            self.waiting[self.next_id] = worker
            self.proc.stdin.write((json.dumps({"id": self.next_id, "job": job_doc}) + "\n").encode())
            self.proc.stdin.flush()
        if not worker.started.wait(60):
            raise RuntimeError("the worker server did not start the job")
        return worker

    def _listen(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            with self.lock:
                worker = self.waiting.get(message["id"])
            if worker is None:
                continue
            if "pid" in message:
                worker.pid = message["pid"]
                worker.started.set()
            if "exit" in message:
                worker.exitcode = message["exit"]
                with self.lock:
                    self.waiting.pop(message["id"], None)
                worker.ended.set()
        with self.lock:  # the server died: every job still waiting has no process any more
            for worker in self.waiting.values():
                worker.exitcode = worker.exitcode if worker.exitcode is not None else -9
                worker.started.set()
                worker.ended.set()
            self.waiting.clear()


_SERVER: list[Server] = []
_SERVER_LOCK = threading.Lock()


def server() -> Server:
    """This process's worker server, started on first use (and again if it died)."""
    with _SERVER_LOCK:
        if not _SERVER or not _SERVER[0].alive():
            _SERVER[:] = [Server()]
        return _SERVER[0]


def can_fork() -> bool:
    return hasattr(os, "fork")


if __name__ == "__main__":  # python -m prioritiser.workers: the server
    serve()
