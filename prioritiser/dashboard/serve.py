"""`prioritiser dashboard [--port N]`: serve notebooks/dashboard.ipynb with Voila, code cells stripped
and tracebacks hidden from the page.

By default only this computer can reach it (127.0.0.1). Served on any other address it needs a
token (a random one is made and printed in the address), and `--no-token` is refused there.
Each page has one kernel, shut down when the page closes; kernels of pages left without closing
are culled once idle (`--idle-minutes`), and at most `--max-pages` pages are served at once.
Uploads are bounded (PRIORITISER_MAX_UPLOAD_MB), in the page before anything is sent.
"""
from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

DEFAULT_PORT = 8866
DEFAULT_IP = "127.0.0.1"
IDLE_MINUTES = 10  # a kernel with no page connected and nothing running is shut down after this
MAX_PAGES = 10
SHARE = Path(__file__).resolve().parent / "share"  # holds voila/templates/prioritiser
TEMPLATE = "prioritiser"


def notebook_path() -> Path:
    return Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"


def is_loopback(ip: str) -> bool:
    """Whether an address serves this computer only (127.0.0.1, ::1, localhost)."""
    if ip.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: reachable from elsewhere, as far as we can tell


def voila_command(port: int = DEFAULT_PORT, notebook: Path | None = None, open_browser: bool = False,
                  ip: str = DEFAULT_IP, token: str | None = None, idle_minutes: float = IDLE_MINUTES,
                  max_pages: int = MAX_PAGES) -> list[str]:
    """The Voila command line the CLI, `make dashboard` and the browser tests all use."""
    from .figure import serve_args
    from .upload_button import upload_limit_bytes

    notebook = Path(notebook or notebook_path())
    # an upload travels as one websocket message: the server must accept one as large as the limit
    tornado = {"websocket_max_message_size": upload_limit_bytes() + 2_000_000}
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={int(port)}", f"--Voila.ip={ip}",
           "--strip_sources=True", "--show_tracebacks=False", "--VoilaExecutor.timeout=120", "--theme=light",
           f"--Voila.tornado_settings={json.dumps(tornado)}",
           # one kernel per page: none kept warm in a pool, at most max_pages at once, idle ones culled
           "--VoilaConfiguration.preheat_kernel=False",
           "--VoilaConfiguration.multi_kernel_manager_class=prioritiser.dashboard.kernels.BoundedKernelManager",
           f"--BoundedKernelManager.max_kernels={int(max_pages)}",
           f"--MappingKernelManager.cull_idle_timeout={max(1, int(idle_minutes * 60))}",
           f"--MappingKernelManager.cull_interval={max(1, min(60, int(idle_minutes * 60) // 2))}",
           "--MappingKernelManager.cull_connected=False", "--MappingKernelManager.cull_busy=False",
           *serve_args()]
    if token:
        cmd.append(f"--Voila.token={token}")
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


def choose_token(ip: str, token: bool = False, no_token: bool = False) -> str | None:
    """The token to serve with: a fresh random one off loopback (always) or when asked for; None on
    loopback by default. ValueError for --no-token off loopback."""
    if not is_loopback(ip):
        if no_token:
            raise ValueError(f"--no-token is refused on {ip}: anyone who can reach this computer could use the "
                             "dashboard and its uploads. Serve on 127.0.0.1, or keep the token")
        return secrets.token_urlsafe(24)
    return secrets.token_urlsafe(24) if token and not no_token else None


def serve(port: int = DEFAULT_PORT, open_browser: bool = False, ip: str = DEFAULT_IP, token: bool = False,
          no_token: bool = False, idle_minutes: float = IDLE_MINUTES, max_pages: int = MAX_PAGES) -> int:
    """Run Voila in the foreground until interrupted; returns its exit code."""
    notebook = notebook_path()
    if not notebook.exists():
        print(f"ERROR: the dashboard notebook is missing: {notebook}", file=sys.stderr)
        return 1
    try:
        secret = choose_token(ip, token, no_token)
    except ValueError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    host = f"[{ip}]" if ":" in ip else ip
    where = "local only" if is_loopback(ip) else "reachable from the network: share the address with care"
    print(f"Serving the dashboard on http://{host}:{port}/" + (f"?token={secret}" if secret else "") +
          f" ({where}; Ctrl-C to stop)", flush=True)
    proc = subprocess.Popen(voila_command(port, notebook, open_browser, ip, secret, idle_minutes, max_pages),
                            cwd=notebook.parent, env=voila_env())

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

    p = subparsers.add_parser("dashboard", help="serve the what-if dashboard in the browser (Voila; this computer "
                              "only unless --ip says otherwise)",
                              description="Serve the what-if dashboard at http://127.0.0.1:PORT/ (Voila, this "
                                          "machine only unless --ip says otherwise; any other address needs the "
                                          "token printed at start); Ctrl-C stops it.",
                              epilog="examples:\n  prioritiser dashboard\n  prioritiser dashboard --port 8900 --open\n"
                                     "  prioritiser dashboard --ip 0.0.0.0 --max-pages 4   (prints an address with a "
                                     "token)\n",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    p.add_argument("--ip", default=DEFAULT_IP, help=f"address to serve on (default: {DEFAULT_IP}, this computer "
                   "only); any other address needs the token printed at start")
    p.add_argument("--token", action="store_true", help="ask for a token on 127.0.0.1 too (default: off)")
    p.add_argument("--no-token", action="store_true", help="no token: allowed on 127.0.0.1 only, where it is the "
                   "default")
    p.add_argument("--idle-minutes", type=float, default=IDLE_MINUTES, help="shut down the kernel of a page left "
                   f"without closing after this many idle minutes (default: {IDLE_MINUTES})")
    p.add_argument("--max-pages", type=int, default=MAX_PAGES, help=f"pages served at once, each holding about "
                   f"200 MB (default: {MAX_PAGES})")
    p.add_argument("--open", action="store_true", help="open a browser tab as well (default: off)")
    p.set_defaults(func=lambda args: serve(args.port, args.open, args.ip, args.token, args.no_token,
                                           args.idle_minutes, args.max_pages))


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="prioritiser-dashboard")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["dashboard", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
