"""Measure the dashboard's re-solve time in a real browser (not a test; about a minute):

    .venv/bin/python tests/dashboard/measure_resolve.py [--rounds N] [--json out.json]

Starts Voila as `prioritiser dashboard` does, opens the page in /usr/bin/chromium, and for a series
of what-ifs on the sample trust (each different, so nothing comes from the cache) moves a slider,
presses Optimise and times, from the click:
  first  - the headline and the table show the new plan (the first plan, with its gap);
  done   - the Optimise button is back (the full solve has finished and its plan is drawn);
  proven - the same moment when the final status is `optimal` (click to proven plan); a what-if the
           full solve did not prove is shown as not proven and left out of that median.
It does the same with "Show a first plan within a second" switched off (one full solve per click).
First load is excluded. The machine's load average is printed before and after (the machine may be
shared: compare the two modes, measured in the same run). Results go to stdout as a markdown table
(docs/performance.md).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prioritiser.dashboard.serve import notebook_path, voila_command, voila_env

ROOT = Path(__file__).resolve().parents[2]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
# (slider, key, presses): every step lands on settings not solved before in this page
STEPS = [("capital-all", "ArrowLeft", 10), ("capital-all", "ArrowLeft", 10), ("revenue-all", "ArrowLeft", 10),
         ("capital-all", "ArrowRight", 30), ("revenue-all", "ArrowRight", 5), ("capital-all", "ArrowLeft", 25)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(page, steps, quick: bool) -> list[dict]:
    box = page.locator(".quick-first input")
    if box.is_checked() != quick:
        box.click()
        page.wait_for_timeout(500)
    out = []
    for slider, key, presses in steps:
        handle = page.locator(f".{slider} .noUi-handle")
        handle.focus()
        for _ in range(presses):
            page.keyboard.press(key)
        page.wait_for_function("() => document.querySelector('.status-panel').innerText.includes('press Optimise')",
                               timeout=60_000)
        npv = page.locator(".headline-npv").inner_text()
        table = page.locator(".initiatives-table tbody").inner_text()
        t0 = time.perf_counter()
        page.locator(".optimise-button").click()
        page.wait_for_function("([n, t]) => document.querySelector('.headline-npv').innerText !== n && "
                               "document.querySelector('.initiatives-table tbody').innerText !== t",
                               arg=[npv, table], timeout=60_000)
        first = time.perf_counter() - t0
        page.wait_for_function("() => !document.querySelector('.optimise-button').disabled", timeout=60_000)
        done = time.perf_counter() - t0
        status = page.locator(".status-panel").inner_text().split()[0]
        readout = page.locator(f".{slider} .widget-readout").inner_text()
        proven = round(done, 2) if status.lower().startswith("optimal") else None
        out.append({"what_if": f"{slider} {readout}", "first": round(first, 2), "done": round(done, 2),
                    "proven": proven, "status": status, "quick_first": quick})
        print(out[-1], flush=True)
    return out


def main() -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="write the raw timings here")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    port = free_port()
    proc = subprocess.Popen(voila_command(port), cwd=notebook_path().parent, env=voila_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "voila/static/voila.js", timeout=2).read(1)
                break
            except OSError:
                time.sleep(0.2)
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            for quick in (True, False):  # a fresh page (and kernel) for each mode: nothing cached
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                t0 = time.perf_counter()
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_selector(".roadmap-chart .main-svg .bars path", timeout=120_000)
                print(f"first load (excluded): {time.perf_counter() - t0:.1f} s", flush=True)
                rows += measure(page, STEPS, quick)
                page.close()
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print(f"\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()} Python "
          f"{platform.python_version()} ({os.cpu_count()} cores), load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after\n")
    print("| mode | what-if (slider moved to) | click to new plan on screen s | click to final plan s | "
          "click to proven plan s | status |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        mode = "first plan, then proof" if r["quick_first"] else "one full solve"
        proven = f"{r['proven']:.2f}" if r["proven"] is not None else "not proven"
        print(f"| {mode} | {r['what_if']} | {r['first']:.2f} | {r['done']:.2f} | {proven} | {r['status']} |")
    for quick in (True, False):
        part = [r for r in rows if r["quick_first"] == quick]
        proven = [r["proven"] for r in part if r["proven"] is not None]
        print(f"\nmedian ({'first plan, then proof' if quick else 'one full solve'}): new plan on screen "
              f"{statistics.median(r['first'] for r in part):.2f} s, click to proven "
              + (f"{statistics.median(proven):.2f} s ({len(proven)} of {len(part)} proven)" if proven else "- (none proven)")
              + f"; max new plan {max(r['first'] for r in part):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
