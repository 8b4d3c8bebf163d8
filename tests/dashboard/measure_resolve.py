"""Measure the dashboard's re-solve time in a real browser (not a test; a few minutes):

    .venv/bin/python tests/dashboard/measure_resolve.py [--ways warm,two-solves] [--json out.json]

Starts one Voila per way of re-solving (prioritiser.dashboard.state.RESOLVE_WAYS, chosen with
PRIORITISER_DASHBOARD_RESOLVE; "warm" is the page's own, "two-solves" the way before issue 14),
as `prioritiser dashboard` does, opens a page of each in /usr/bin/chromium, and for a series of
what-ifs on the sample trust (each different, so nothing comes from the cache) moves a slider,
presses Optimise and times, from the click:
  first  - a plan for the new settings is on screen: the status says FIRST PLAN, or the final one;
  done   - the Optimise button is back (the full solve has finished and its plan is drawn);
  proven - the same moment when the final status is `optimal` (click to proven plan); a what-if the
           full solve did not prove is shown as not proven and left out of that median.
The ways take turns what-if by what-if (the order alternating), so that they share the machine's
load alike. First load is excluded. The machine's load average is printed before and after (the
machine may be shared: compare the ways, measured in the same run). Results go to stdout as a
markdown table (docs/performance.md).
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
from prioritiser.dashboard.state import RESOLVE_ENV, RESOLVE_WAYS

ROOT = Path(__file__).resolve().parents[2]

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
# (slider, key, presses): every step lands on settings not solved before in this page
STEPS = [("capital-all", "ArrowLeft", 10), ("capital-all", "ArrowLeft", 10), ("revenue-all", "ArrowLeft", 10),
         ("capital-all", "ArrowRight", 30), ("revenue-all", "ArrowRight", 5), ("capital-all", "ArrowLeft", 25)]


LABELS = {"warm": "one solve from the nearest plan (now)", "cold": "one solve from rank-and-place",
          "two-solves": "0.75 s solve, then a full one (before)"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step(page, way: str, slider: str, key: str, presses: int) -> dict:
    """Move `slider` by `presses` of `key`, press Optimise and time it (see the module docstring)."""
    handle = page.locator(f".{slider} .noUi-handle")
    handle.focus()
    for _ in range(presses):
        page.keyboard.press(key)
    page.wait_for_function("() => document.querySelector('.status-panel').innerText.includes('press Optimise')",
                           timeout=60_000)
    t0 = time.perf_counter()
    page.locator(".optimise-button").click()
    page.wait_for_function("() => { const s = document.querySelector('.status-panel').innerText; "
                           "return !s.includes('press Optimise') && (s.includes('FIRST PLAN') || "
                           "!document.querySelector('.optimise-button').disabled && !s.includes('Optimising')); }",
                           timeout=60_000)
    first = time.perf_counter() - t0
    page.wait_for_function("() => !document.querySelector('.optimise-button').disabled", timeout=60_000)
    done = time.perf_counter() - t0
    status = page.locator(".status-panel").inner_text().split()[0]
    readout = page.locator(f".{slider} .widget-readout").inner_text()
    proven = round(done, 2) if status.lower().startswith("optimal") else None
    row = {"way": way, "what_if": f"{slider} {readout}", "first": round(first, 2), "done": round(done, 2),
           "proven": proven, "status": status, "load": round(os.getloadavg()[0], 1)}
    print(row, flush=True)
    return row


def serve(way: str):
    port = free_port()
    env = {**voila_env(), RESOLVE_ENV: way}
    proc = subprocess.Popen(voila_command(port), cwd=notebook_path().parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "voila/static/voila.js", timeout=2).read(1)
            break
        except OSError:
            time.sleep(0.2)
    return proc, url


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(".roadmap-chart .main-svg .bars path", timeout=120_000)
    print(f"first load (excluded): {time.perf_counter() - t0:.1f} s", flush=True)
    return page


def report(rows: list[dict], ways: list[str], load_before: float) -> None:
    print(f"\nMeasured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.machine()} Python "
          f"{platform.python_version()} ({os.cpu_count()} cores), load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after\n")
    print("| way | what-if (slider moved to) | click to new plan on screen s | click to final plan s | "
          "click to proven plan s | status | load |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        proven = f"{r['proven']:.2f}" if r["proven"] is not None else "not proven"
        print(f"| {LABELS[r['way']]} | {r['what_if']} | {r['first']:.2f} | {r['done']:.2f} | {proven} | "
              f"{r['status']} | {r['load']:.1f} |")
    for way in ways:
        part = [r for r in rows if r["way"] == way]
        proven = [r["proven"] for r in part if r["proven"] is not None]
        print(f"\nmedian ({LABELS[way]}): new plan on screen {statistics.median(r['first'] for r in part):.2f} s, "
              "click to proven " + (f"{statistics.median(proven):.2f} s ({len(proven)} of {len(part)} proven)"
                                    if proven else "- (none proven)")
              + f"; max new plan {max(r['first'] for r in part):.2f} s")


def main() -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--ways", default="warm,two-solves", help=f"comma-separated, of {', '.join(RESOLVE_WAYS)}")
    ap.add_argument("--json", help="write the raw timings here")
    args = ap.parse_args()
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    unknown = set(ways) - set(RESOLVE_WAYS)
    if unknown:
        ap.error(f"unknown way(s): {', '.join(sorted(unknown))}")
    load_before = os.getloadavg()[0]
    servers = {way: serve(way) for way in ways}  # a Voila (and a fresh kernel) per way: nothing shared
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            pages = {way: open_page(browser, url) for way, (_, url) in servers.items()}
            for n, (slider, key, presses) in enumerate(STEPS):
                for way in (ways if n % 2 == 0 else ways[::-1]):
                    rows.append(step(pages[way], way, slider, key, presses))
            browser.close()
    finally:
        for proc, _ in servers.values():
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    report(rows, ways, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
