"""Fixtures of the dashboard tests: a state/app on the bundled sample trust, a real Voila server
(started here, in its own process group, killed on teardown) and Debian's Chromium driven by
Playwright (never `playwright install`: the browser is /usr/bin/chromium)."""
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


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
