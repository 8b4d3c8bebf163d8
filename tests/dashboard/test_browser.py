"""The served dashboard in a real browser: Voila (as `prioritiser dashboard` starts it) and Debian's
Chromium driven by Playwright. No request may leave the machine. Each test saves a screenshot in
its pytest temp folder."""
import io
import json
import re
import time
from urllib.parse import urlparse

import openpyxl
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

LOAD_TIMEOUT = 120_000  # ms: kernel start, imports and the first solve, on a busy 2-core machine
ACTION_TIMEOUT = 60_000


class Page:
    """One fresh page (and kernel) with network and error watches."""

    def __init__(self, browser, url, tmp_path, name):
        self.external, self.errors = [], []
        self.tmp_path, self.name = tmp_path, name
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 3600}, accept_downloads=True)
        self.ctx.route("**/*", self._route)
        self.page = self.ctx.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url + "/", wait_until="domcontentloaded")
        self.page.wait_for_selector(".headline-npv", timeout=LOAD_TIMEOUT)
        self.page.wait_for_selector(".roadmap-chart .main-svg .bars path", timeout=LOAD_TIMEOUT)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in {"127.0.0.1", "localhost"}:
            return route.continue_()
        self.external.append(url)  # nothing may come from outside: abort, deterministically
        return route.abort()

    def text(self, selector) -> str:
        return self.page.locator(selector).first.inner_text()

    def wait_text_change(self, selector, before, timeout=ACTION_TIMEOUT):
        self.page.wait_for_function(
            "([sel, before]) => { const e = document.querySelector(sel); return e && e.innerText !== before; }",
            arg=[selector, before], timeout=timeout)

    def roadmap_ids(self) -> set[str]:
        labels = self.page.locator(".roadmap-chart .yaxislayer-above .ytick text").all_text_contents()
        return {lbl.split()[0] for lbl in labels if lbl.strip()}

    def finish(self):
        self.page.screenshot(path=str(self.tmp_path / f"{self.name}.png"), full_page=True)
        try:
            assert not self.errors, self.errors
            # only the two Font Awesome stylesheets of Voila's stock template may ever be attempted
            assert all("fontawesome" in u for u in self.external), self.external
        finally:
            self.ctx.close()


@pytest.fixture
def page(browser, voila_url, tmp_path, request):
    p = Page(browser, voila_url, tmp_path, request.node.name)
    yield p
    if p.ctx.pages:  # a test that failed before finish() still leaves its screenshot
        p.page.screenshot(path=str(tmp_path / f"{request.node.name}-end.png"), full_page=True)
        p.ctx.close()


def test_page_loads_clean_and_shows_the_sample_plan(page):
    p = page.page
    npv = page.text(".headline-npv")
    assert re.fullmatch(r"-?£\d{1,3}(,\d{3})*", npv), npv
    assert "OPTIMAL" in page.text(".status-panel") or "FEASIBLE" in page.text(".status-panel")
    assert re.search(r"\d+ of \d+", page.text(".headline-count"))
    ids = page.roadmap_ids()
    assert len(ids) >= 10 and "EPR-01" in ids
    rows = p.locator(".initiatives-table tbody tr")
    assert rows.count() >= len(ids)
    for chart in ("spend", "staff", "stress"):
        assert p.locator(f".{chart}-chart .main-svg").count() >= 1, chart
    assert p.locator(".staff-chart .heatmaplayer image, .staff-chart .hm image").count() >= 1
    # code cells are stripped and no output but the page's widgets is shown
    html = p.content()
    assert "from prioritiser.dashboard import App" not in html and "Running HiGHS" not in html
    page.finish()


def test_capital_cut_and_optimise_change_npv_and_table(page, tmp_path):
    p = page.page
    npv_before = page.text(".headline-npv")
    table_before = page.text(".initiatives-table tbody")
    capital_card = ".pd-card:has(.headline-capital)"
    capital_before = page.text(capital_card)
    handle = p.locator(".capital-all .noUi-handle")
    handle.focus()
    for _ in range(20):  # 1% a step
        p.keyboard.press("ArrowLeft")
    p.wait_for_function("() => /[-−]20%/.test(document.querySelector('.capital-all .widget-readout').innerText)",
                        timeout=ACTION_TIMEOUT)
    p.wait_for_function("() => document.querySelector('.status-panel').innerText.includes('press Optimise')",
                        timeout=ACTION_TIMEOUT)
    t0 = time.perf_counter()
    p.locator(".optimise-button").click()
    page.wait_text_change(".headline-npv", npv_before)
    page.wait_text_change(".initiatives-table tbody", table_before)
    first = time.perf_counter() - t0
    p.wait_for_function("() => !document.querySelector('.optimise-button').disabled", timeout=ACTION_TIMEOUT)
    proven = time.perf_counter() - t0
    (tmp_path / "resolve-seconds.json").write_text(json.dumps({"first_plan": first, "proven": proven}))
    print(f"click to updated headline and table: {first:.2f} s; to the proven plan: {proven:.2f} s")
    assert page.text(".status-panel").startswith(("OPTIMAL", "FEASIBLE"))
    assert page.text(".headline-npv") != npv_before
    assert "press Optimise" not in page.text(".status-panel")
    assert page.text(capital_card) != capital_before and "budget" in page.text(capital_card)
    page.finish()


def test_forcing_an_initiative_out_removes_it_from_the_roadmap(page):
    p = page.page
    assert "EPR-02" in page.roadmap_ids()
    box = p.locator(".force-out input")
    box.click()
    box.fill("EPR-02 · EPR clinical noting and assessments")  # the searchable list's entry
    box.press("Enter")
    p.wait_for_function("() => document.querySelector('.force-out').innerText.includes('EPR-02')",
                        timeout=ACTION_TIMEOUT)
    npv_before = page.text(".headline-npv")
    p.locator(".optimise-button").click()
    page.wait_text_change(".headline-npv", npv_before)
    p.wait_for_function("() => !Array.from(document.querySelectorAll('.roadmap-chart .ytick text'))"
                        ".some(t => t.textContent.startsWith('EPR-02'))", timeout=ACTION_TIMEOUT)
    assert "EPR-02" not in page.roadmap_ids()
    p.wait_for_function("() => (document.querySelector('.initiatives-table tr[data-id=\"EPR-02\"]')?.innerText || '')"
                        ".includes('forced out')", timeout=ACTION_TIMEOUT)
    page.finish()


def test_download_returns_a_valid_workbook(page, tmp_path):
    p = page.page
    with p.expect_download(timeout=ACTION_TIMEOUT) as info:
        p.locator(".download-report button").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    wb = openpyxl.load_workbook(target)
    assert {"Summary", "Plan", "Spend by year"} <= set(wb.sheetnames)
    with p.expect_download(timeout=ACTION_TIMEOUT) as info:
        p.locator(".download-yaml button").click()
    scenario = tmp_path / info.value.suggested_filename
    info.value.save_as(str(scenario))
    assert scenario.suffix == ".yaml" and "horizon:" in scenario.read_text()
    page.finish()


def test_uploading_a_broken_workbook_shows_a_readable_error(page, tmp_path):
    p = page.page
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "initiatives"
    ws.append(["id", "name", "duration", "capital_cost"])
    ws.append(["X-1", "Broken", "three", "lots"])
    buf = io.BytesIO()
    wb.save(buf)
    bad = tmp_path / "broken-trust.xlsx"
    bad.write_bytes(buf.getvalue())
    npv_before = page.text(".headline-npv")
    with p.expect_file_chooser(timeout=ACTION_TIMEOUT) as chooser:  # ipywidgets makes its <input> on click
        p.locator(".upload-button").click()
    chooser.value.set_files(str(bad))
    p.wait_for_selector(".issues-box", timeout=ACTION_TIMEOUT)
    shown = page.text(".issues-box")
    assert "problem" in shown and "broken-trust.xlsx" in shown
    assert "duration" in shown and "capacity" in shown
    assert "Traceback" not in p.content() and "Error:" not in shown
    assert page.text(".headline-npv") == npv_before  # the plan on the page stays as it was
    page.finish()
