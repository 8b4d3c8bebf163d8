"""Issue 8, the dashboard: kernels culled when idle and at most one per page, the token off loopback,
uploads bounded with a clear message at any size, a bomb upload refused in seconds.

Voila is started here exactly as `prioritiser dashboard` starts it (serve.voila_command), with a
short idle time so that culling can be watched; its kernels are found by an environment tag."""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

import openpyxl
import pytest

from prioritiser.dashboard.serve import choose_token, is_loopback, notebook_path, voila_command, voila_env
from prioritiser.dashboard.upload_button import UploadButton, upload_limit_bytes

SECONDS = 20  # "refused in seconds", on a loaded machine
# serial: the idle kernel is culled on a wall-clock timer and the page is polled for within seconds
pytestmark = pytest.mark.serial


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernels(tag: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if f"PRIORITISER_TEST_TAG={tag}".encode() not in f.read():
                        continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"ipykernel" in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def poll(condition, timeout=120.0):
    end = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < end:
        time.sleep(0.3)
    return value


class Voila:
    def __init__(self, tmp_path, **options):
        self.tag, self.port = uuid.uuid4().hex, _free_port()
        self.log = tmp_path / f"voila-{self.tag[:6]}.log"
        env = {**voila_env(), "PRIORITISER_TEST_TAG": self.tag}
        self.proc = subprocess.Popen(voila_command(self.port, **options), cwd=notebook_path().parent, env=env,
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}/"
        assert poll(self._up, 60), self.log.read_text()

    def _up(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "voila/static/voila.js", timeout=2).read(1)
            return True
        except OSError:
            return self.proc.poll() is not None

    def get(self, path: str = "") -> tuple[int, str]:
        class Stay(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        try:
            with urllib.request.build_opener(Stay).open(self.url + path, timeout=180) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # only the group started above
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def voila(tmp_path):
    started = []

    def start(**options):
        started.append(Voila(tmp_path, **options))
        return started[-1]

    yield start
    for v in started:
        v.stop()


@pytest.mark.timeout(600)
def test_kernels_are_culled_and_pages_bounded(voila):
    """Each page visit, a bare request too, left a 205 MB kernel that was never culled."""
    v = voila(idle_minutes=0.1, max_pages=1)
    code, _ = v.get()  # a bare request: the notebook runs, and no page ever connects to its kernel
    assert code == 200
    assert len(kernels(v.tag)) == 1  # one kernel for the one page: none kept warm beside it
    code, body = v.get()
    assert code == 503 and "already serves 1 pages" in body, body  # a second page while the first lives
    assert poll(lambda: not kernels(v.tag)), "the idle kernel was not culled"
    # room again: the page count drops when the server has seen its kernel go, a moment after the cull
    assert poll(lambda: v.get()[0] == 200, timeout=30.0), "no room again after the idle kernel was culled"
    assert poll(lambda: not kernels(v.tag))


@pytest.mark.timeout(600)
def test_token_is_required_off_loopback(voila):
    token = choose_token("0.0.0.0")
    assert token and len(token) >= 24
    v = voila(ip="0.0.0.0", token=token)
    assert v.get()[0] == 302 and v.get("?token=wrong")[0] == 302  # to the login page
    assert v.get(f"?token={token}")[0] == 200


def test_no_token_only_on_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("trust-server")
    assert choose_token("127.0.0.1") is None and choose_token("127.0.0.1", token=True)
    with pytest.raises(ValueError, match="--no-token is refused"):
        choose_token("0.0.0.0", no_token=True)
    done = subprocess.run([sys.executable, "-m", "prioritiser.cli", "dashboard", "--ip", "0.0.0.0", "--no-token"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--no-token is refused" in done.stderr and "Traceback" not in done.stderr


def test_voila_accepts_an_upload_as_large_as_the_limit():
    """Uploads over about 10 MB vanished: Tornado's websocket message limit was 10 MiB."""
    cmd = " ".join(voila_command(8866))
    assert f'"websocket_max_message_size": {upload_limit_bytes() + 2_000_000}' in cmd


# ----------------------------------------------------------------------------- uploads, no browser


def test_an_upload_over_the_limit_is_refused_before_it_is_read(monkeypatch):
    got = []
    button = UploadButton(lambda name, data: got.append(name) or "read")
    sent = []
    monkeypatch.setattr(button, "send", lambda msg, *a, **k: sent.append(msg))
    button._receive(button, {"event": "file", "name": "big.xlsx"}, [memoryview(b"x" * (button.max_bytes + 1))])
    assert got == [] and "over the upload limit" in sent[-1]["message"]
    button._receive(button, {"event": "file", "name": "ok.xlsx"}, [memoryview(b"x" * 10)])
    assert got == ["ok.xlsx"] and sent[-1]["message"] == "read"


def test_state_refuses_an_oversized_upload_naming_the_limit(app, monkeypatch):
    monkeypatch.setenv("PRIORITISER_MAX_UPLOAD_MB", "1")
    issues = app.state.upload("huge.xlsx", b"PK" + b"\0" * 1_500_000)
    assert [i.where for i in issues] == ["huge.xlsx"] and "PRIORITISER_MAX_UPLOAD_MB" in issues[0].message


def _bomb_workbook() -> bytes:
    buf = io.BytesIO()
    book = openpyxl.Workbook()
    book.active.title = "initiatives"
    book.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/comments1.xml", b"<comments>" + b" " * 400_000_000 + b"</comments>")
    return out.getvalue()


def test_a_bomb_upload_is_refused_in_seconds(app):
    """The xlsx bomb left the kernel spinning with no message."""
    bomb = _bomb_workbook()
    assert len(bomb) < upload_limit_bytes()
    t0 = time.perf_counter()
    issues = app.state.upload("bomb.xlsx", bomb)
    assert time.perf_counter() - t0 < SECONDS
    assert any("once uncompressed" in i.message for i in issues if i.severity == "error"), issues


def test_a_zip_bomb_upload_is_refused_from_its_declared_sizes(app):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("trust/initiatives.csv", b"id,duration\n" + b" " * 300_000_000)
    t0 = time.perf_counter()
    issues = app.state.upload("bomb.zip", buf.getvalue())
    assert time.perf_counter() - t0 < SECONDS
    assert any("unpacks to" in i.message and "PRIORITISER_MAX_" in i.message for i in issues), issues


def test_the_dashboards_workbook_download_holds_no_formula(tmp_path):
    """A name =HYPERLINK(...) became a live formula in the dashboard's download too."""
    from known import write_case
    from prioritiser.dashboard import App

    hostile = '=HYPERLINK("http://x","click")'
    path = write_case(tmp_path / "case", {
        "initiatives": f'id,name,duration,capital_cost,benefit\nA,"{hostile.replace(chr(34), chr(34) * 2)}",1,60,130\n'
                       "-B,@Beta,1,50,110\n",
        "capacity": "resource,period,amount\ncapital,2026/27,200\n"})
    import yaml

    doc = yaml.safe_load(path.read_text())
    doc["name"] = "../../=cmd"  # a name that looks like a path and a formula
    path.write_text(yaml.safe_dump(doc))
    app = App(scenarios={"hostile": path})
    try:
        assert app.state.result is not None and app.state.result.has_plan
        name, data = app.state.workbook_bytes()
        assert "/" not in name and not name.startswith(".")
        book = openpyxl.load_workbook(io.BytesIO(data))
        cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        assert hostile in [c.value for c in cells] and "-B" in [c.value for c in cells]
    finally:
        app.state.close()
