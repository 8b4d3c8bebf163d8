"""Risk simulation speed (issue 13 item 4): the sample trust's baseline plan held fixed under N draws.
Under a minute; not part of `make test`.

    .venv/bin/python benchmarks/risk.py [--samples 10000] [--reference 100] [--no-write]

Solves the baseline once, then measures in one run, taking turns:
  - `prioritiser.simulate` (vectorised over samples, blocks of 1,000) at N draws, best of 3;
  - the same draws scored one at a time by the independent checker (`check_plan` on the portfolio with
    that draw's capital_cost, benefit and duration), the straightforward way, on the first `--reference`
    draws; its NPVs must equal the simulation's.
Updates the BENCHMARK:risk section of docs/performance.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import prioritiser  # noqa: E402
from prioritiser.check import check_plan  # noqa: E402
from prioritiser.risk import draw, simulate  # noqa: E402

DOC = ROOT / "docs" / "performance.md"


def _checker_npvs(result, draws, n: int) -> tuple[np.ndarray, float]:
    """NPV of each of the first n draws by the checker, one draw at a time, and the seconds taken."""
    p = result.portfolio
    out = np.zeros(n)
    t = time.perf_counter()
    for k in range(n):
        ini = p.initiatives.copy()
        ini["capital_cost"], ini["benefit"], ini["duration"] = draws.capital_cost[k], draws.benefit[k], draws.duration[k]
        c = check_plan(dataclasses.replace(p, initiatives=ini), result.starts, result.external_purchases).components
        out[k] = c["pv_benefit"] + c["pv_revenue"] - c["pv_cost"] - c["pv_external"] - c.get("stop_cost", 0.0)
    return out, time.perf_counter() - t


def _update_doc(table: str) -> None:
    text = DOC.read_text()
    start, end = "<!-- BENCHMARK:risk -->", "<!-- /BENCHMARK:risk -->"
    if start in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        DOC.write_text(head + start + "\n" + table + "\n" + end + tail)
    else:
        DOC.write_text(text.rstrip() + "\n\n## Risk: the plan held fixed under many draws\n\n" + start + "\n" + table
                       + "\n" + end + "\n")
    print(f"updated {DOC}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--reference", type=int, default=100)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    result = prioritiser.run(ROOT / "scenarios" / "baseline.yaml")
    assert result.has_plan
    seconds = []
    for _ in range(3):
        sim = simulate(result, args.samples, seed=1)
        seconds.append(sim.seconds)
    draws = draw(result.portfolio.initiatives, args.reference, 1)
    reference, ref_seconds = _checker_npvs(result, draws, args.reference)
    assert np.allclose(reference, sim.npv[:args.reference], rtol=1e-9), "the checker disagrees with the simulation"
    per_draw_fast, per_draw_ref = min(seconds) / args.samples, ref_seconds / args.reference
    p = result.portfolio
    table = (f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} {platform.python_version()} (2 cores, shared), "
             f"`python benchmarks/risk.py --samples {args.samples} --reference {args.reference}`: the sample trust's "
             f"baseline plan ({int(result.plan['selected'].sum())} of {len(p.ids)} initiatives, {p.horizon.T} quarters) held "
             f"fixed, seed 1.\n\n"
             "| how | draws | seconds | per draw | relative |\n|---|---|---|---|---|\n"
             f"| `prioritiser.simulate` (vectorised, best of 3) | {args.samples:,} | {min(seconds):.2f} | "
             f"{per_draw_fast * 1e3:.3f} ms | 1x |\n"
             f"| the checker, one draw at a time | {args.reference:,} | {ref_seconds:.2f} | {per_draw_ref * 1e3:.1f} ms | "
             f"{per_draw_ref / per_draw_fast:,.0f}x |\n\n"
             f"The checker's NPVs equal the simulation's on every draw compared (relative 1e-9). At the checker's pace "
             f"{args.samples:,} draws would take {per_draw_ref * args.samples:,.0f} s.")
    print(table)
    if not args.no_write:
        _update_doc(table)


if __name__ == "__main__":
    main()
