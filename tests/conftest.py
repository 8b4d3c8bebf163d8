"""What every test shares: the one `write_case` (a portfolio folder and a scenario file from text),
`run_cli` (the command line in this process, for tests where a real process's exit is not the point),
and the dashboard's fixtures: a state/app on the bundled sample trust, a real Voila server (started
here, in its own process group, killed on teardown) and Debian's Chromium driven by Playwright (never
`playwright install`: the browser is /usr/bin/chromium).

It is the only conftest.py, so `from conftest import write_case` always means this module."""
import contextlib
import io
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


# The scenario a hand-made case gets unless it says otherwise: four quarters of 2026/27, no discounting,
# and a proof (gap 0) within a minute.
QUARTER_CASE = {"horizon": {"start": "2026/27 Q1", "periods": 4, "granularity": "quarter"},
                "objective": {"discount_rate": 0.0},
                "solver": {"gap": 0, "time_limit": 60}}


def write_case(folder: Path, tables: dict, scenario: dict | None = None, name: str | None = "case", *,
               defaults: dict | None = QUARTER_CASE, portfolio: str = "portfolio", file: str | None = None) -> Path:
    """Write `folder/<portfolio>/<table>.csv` and a scenario file; return the scenario's path.

    A table is CSV text (dedented, stripped, one final newline), bytes (written exactly), a DataFrame
    or None (left out). The scenario is `defaults` with `scenario`'s keys laid over it (a dict value
    updates a dict default, anything else replaces it), plus `portfolio` and `name` (when given). The
    file is `file`, else `<name>.yaml`."""
    folder = Path(folder)
    (folder / portfolio).mkdir(parents=True, exist_ok=True)
    for table, content in tables.items():
        target = folder / portfolio / f"{table}.csv"
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, pd.DataFrame):
            content.to_csv(target, index=False)
        elif content is not None:
            target.write_text(textwrap.dedent(content).strip() + "\n", encoding="utf-8")
    doc = {"name": name} if name else {}
    doc["portfolio"] = portfolio
    doc.update({key: dict(value) if isinstance(value, dict) else value for key, value in (defaults or {}).items()})
    for key, value in (scenario or {}).items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    path = folder / (file or f"{name}.yaml")
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def run_cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`prioritiser ARGS` run in this process (cli.main), its exit code and what it printed."""
    from prioritiser import cli

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as stop:  # argparse's usage errors
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["prioritiser", *argv], code, out.getvalue(), err.getvalue())


# The files whose tests run longest (the 5,000-example fuzz test takes about a third of the parallel
# phase's time on its own): started first, so that on two workers it is not the last thing left.
LONGEST_FIRST = ("test_fuzz.py",)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)  # stable: the rest keep their order


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the served dashboard in /usr/bin/chromium with Playwright")
    config.addinivalue_line("markers", "notebook: executes notebooks/dashboard.ipynb with nbclient")


@pytest.fixture
def app():
    """A fresh page model on the baseline scenario (solved; results are cached per process)."""
    from prioritiser.dashboard import App

    a = App(scenarios={"baseline": BASELINE})
    yield a
    a.state.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def voila_url(tmp_path_factory):
    """The dashboard served exactly as `prioritiser dashboard` serves it, on a free local port."""
    from prioritiser.dashboard.serve import notebook_path, voila_command, voila_env

    port = _free_port()
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    logf = open(log, "w")
    proc = subprocess.Popen(voila_command(port), cwd=notebook_path().parent, env=voila_env(), stdout=logf,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited early:\n{log.read_text()}")
            try:
                urllib.request.urlopen(url + "/voila/static/voila.js", timeout=2).read(1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not come up:\n{log.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # only the process group started above
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        logf.close()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = (f"{CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium chromium-driver "
                   "fonts-dejavu-core (.ci/run does this)")
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser is a failure, never a silent skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
