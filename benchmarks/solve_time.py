"""Median solve time of one scenario with a given checkout of prioritiser, for side-by-side comparisons
(run it alternately for two checkouts in one session; compare ratios, never absolute times):

    python benchmarks/solve_time.py /path/to/checkout scenarios/baseline.yaml [--runs 4] [--gap G] [--time-limit S]

Imports prioritiser from the checkout given (not from this one), solves the scenario `--runs` times
with `prioritiser.run` and prints the median wall time, every time, and the last status.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout")
    parser.add_argument("scenario")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--gap", type=float)
    parser.add_argument("--time-limit", type=float)
    args = parser.parse_args()
    sys.path.insert(0, args.checkout)
    import prioritiser

    options = {k: v for k, v in (("gap", args.gap), ("time_limit", args.time_limit)) if v is not None}
    seconds = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = prioritiser.run(args.scenario, **options)
        seconds.append(time.perf_counter() - t0)
    print(f"{args.checkout}: median {statistics.median(seconds):.2f} s {[round(s, 2) for s in seconds]} "
          f"{result.status}")


if __name__ == "__main__":
    main()
