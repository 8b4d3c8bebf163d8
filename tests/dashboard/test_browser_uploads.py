"""Issue 8, uploads in a real browser: a clear message at any size, a bomb refused in seconds, and a
file over Tornado's old 10 MiB websocket limit (but within ours) read as any other."""
from __future__ import annotations

import io
import os
import zipfile

import openpyxl
import pytest

from test_browser import ACTION_TIMEOUT, Page  # noqa: F401 (the page fixture's class)
from test_serving import _bomb_workbook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
SECONDS = 20_000  # ms: "in seconds", on a loaded machine


@pytest.fixture
def page(browser, voila_url, tmp_path, request):
    p = Page(browser, voila_url, tmp_path, request.node.name)
    yield p
    if p.ctx.pages:
        p.ctx.close()


def _upload(page, path):
    """Choose a file in the upload button's own file input (its click opens the same input: see
    test_browser's broken-workbook test), once the button is back from any upload on its way."""
    page.page.wait_for_function("() => !document.querySelector('.pd-upload-button').disabled", timeout=ACTION_TIMEOUT)
    page.page.locator(".upload-button input[type=file]").set_input_files(str(path))


def _note(page) -> str:
    return page.text(".pd-upload-note")


def _padded_workbook(path):
    """A valid workbook padded with 12 MB of incompressible data (over Tornado's old 10 MiB limit)."""
    from test_validation import BASE, csv_text

    book = openpyxl.Workbook()
    book.remove(book.active)
    for table, text in BASE.items():
        sheet = book.create_sheet(table)
        for line in csv_text(text).splitlines():
            sheet.append(line.split(","))
    buf = io.BytesIO()
    book.save(buf)
    padded = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(padded, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr(zipfile.ZipInfo("xl/media/padding.bin"), os.urandom(12_000_000))
    path.write_bytes(padded.getvalue())
    assert path.stat().st_size > 11_000_000


def test_uploads_at_any_size(page, tmp_path):
    """One page, three uploads: a file over the limit is refused in the page with the limit named;
    a workbook bomb is answered in seconds; a 12 MB upload arrives and loads (uploads over about
    10 MB used to vanish without a word)."""
    big = tmp_path / "enormous.xlsx"
    with open(big, "wb") as f:
        f.truncate(25_000_000)  # over the default 20 MB
    _upload(page, big)
    page.page.wait_for_function("() => document.querySelector('.pd-upload-note').innerText.includes('over')",
                                timeout=SECONDS)
    assert "enormous.xlsx is 25.0 MB, over the upload limit of 20 MB" in _note(page)
    assert "PRIORITISER_MAX_UPLOAD_MB" in _note(page)

    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(_bomb_workbook())
    _upload(page, bomb)
    page.page.wait_for_selector(".issues-box", timeout=SECONDS)
    assert "once uncompressed" in page.text(".issues-box")

    padded = tmp_path / "padded-trust.xlsx"
    _padded_workbook(padded)
    _upload(page, padded)
    page.page.wait_for_function(
        "() => [...document.querySelectorAll('.scenario-select option')].some(o => o.textContent.includes('padded'))",
        timeout=120_000)
    page.finish()
