"""`prioritiser dashboard [--port N]`: serve notebooks/dashboard.ipynb with Voila on 127.0.0.1 only,
code cells stripped and tracebacks hidden from the page."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

DEFAULT_PORT = 8866
SHARE = Path(__file__).resolve().parent / "share"  # holds voila/templates/prioritiser
TEMPLATE = "prioritiser"


def notebook_path() -> Path:
    return Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"


def voila_command(port: int = DEFAULT_PORT, notebook: Path | None = None, open_browser: bool = False) -> list[str]:
    """The Voila command line the CLI, `make dashboard` and the browser tests all use."""
    from .figure import serve_args

    notebook = Path(notebook or notebook_path())
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={int(port)}", "--Voila.ip=127.0.0.1",
           "--strip_sources=True", "--show_tracebacks=False", "--VoilaExecutor.timeout=120", "--theme=light",
           *serve_args()]
    if (SHARE / "voila" / "templates" / TEMPLATE / "index.html.j2").exists():
        cmd.append(f"--template={TEMPLATE}")  # found through JUPYTER_PATH, see voila_env()
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def voila_env() -> dict[str, str]:
    """The environment for Voila and its kernels (the figures share one copy of plotly's JavaScript)."""
    from .figure import serve_env

    paths = [str(SHARE)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONUNBUFFERED": "1", "JUPYTER_PATH": os.pathsep.join(paths), **serve_env()}


def serve(port: int = DEFAULT_PORT, open_browser: bool = False) -> int:
    """Run Voila in the foreground until interrupted; returns its exit code."""
    notebook = notebook_path()
    if not notebook.exists():
        print(f"ERROR: the dashboard notebook is missing: {notebook}", file=sys.stderr)
        return 1
    print(f"Serving the dashboard on http://127.0.0.1:{port}/ (local only; Ctrl-C to stop)", flush=True)
    proc = subprocess.Popen(voila_command(port, notebook, open_browser), cwd=notebook.parent, env=voila_env())

    def stop(signum, frame):  # a service manager's SIGTERM stops Voila (and its kernels) as Ctrl-C does
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def add_parser(subparsers) -> None:
    """Register `dashboard [--port N]` on the CLI's subparsers."""
    import argparse

    p = subparsers.add_parser("dashboard", help="serve the what-if dashboard in the browser (Voila, 127.0.0.1 only)",
                              description="Serve the what-if dashboard at http://127.0.0.1:PORT/ (Voila, this "
                                          "machine only); Ctrl-C stops it.",
                              epilog="examples:\n  prioritiser dashboard\n  prioritiser dashboard --port 8900 --open\n",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default: {DEFAULT_PORT})")
    p.add_argument("--open", action="store_true", help="open a browser tab as well (default: off)")
    p.set_defaults(func=lambda args: serve(args.port, args.open))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="prioritiser-dashboard")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["dashboard", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
