"""`prioritiser validate|run`: the command line. Exit codes: 0 plan found (or input valid),
1 invalid input, 2 infeasible, 3 no plan (solver error, time limit without a plan, failed check)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import InputError, Issue

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3


def _print_issues(issues: list[Issue], stream=sys.stdout) -> None:
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning"]
    for issue in errors + warnings:
        print(str(issue), file=stream)
    print(f"{len(errors)} error(s), {len(warnings)} warning(s)", file=stream)


def cmd_validate(args) -> int:
    from .validate import validate

    issues = validate(args.scenario)
    _print_issues(issues)
    return EXIT_INPUT if any(i.severity == "error" for i in issues) else EXIT_OK


def _protect_inputs(out_dir: Path, scenario) -> str | None:
    """Refuse an output folder that is, or holds, something the user gave us."""
    from .report import OUTPUT_FILES

    out = out_dir.resolve()
    inputs = [scenario.portfolio.resolve(), *(f.resolve() for f in scenario.files)]
    for path in inputs:
        if out == path or path.is_relative_to(out):
            return f"--out {out_dir} holds your input ({path}); choose another folder"
    if out.exists():
        others = sorted(f.name for f in out.iterdir() if f.name not in OUTPUT_FILES)
        if not out.is_dir() or others:
            return (f"--out {out_dir} already exists and is not a prioritiser result folder "
                    f"(it holds {', '.join(others[:3]) or 'a file'}); choose another folder")
    return None


def cmd_run(args) -> int:
    from .engine import run
    from .report import console_summary, write_outputs
    from .scenario import load_scenario
    from .solvers import Status

    try:
        scenario = load_scenario(args.scenario)
        out_dir = Path(args.out) if args.out else Path("results") / scenario.name
        problem = _protect_inputs(out_dir, scenario)
        if problem:
            print(f"ERROR: {problem}", file=sys.stderr)
            return EXIT_INPUT
        if not args.quiet:
            print(f"Solving {scenario.name} ({args.solver or scenario.solver.name}, "
                  f"time limit {args.time_limit or scenario.solver.time_limit:g} s) ...", flush=True)
        result = run(scenario, solver=args.solver, time_limit=args.time_limit, gap=args.gap)
    except InputError as exc:
        _print_issues(exc.issues, sys.stderr)
        return EXIT_INPUT
    for w in result.portfolio.warnings:
        if not args.quiet:
            print(str(w))
    written = write_outputs(result, out_dir)
    print(console_summary(result))
    if result.status is Status.ERROR and result.check is not None and not result.check.ok:
        print("The plan was NOT published: it failed the independent check:", file=sys.stderr)
        for v in result.check.violations:
            print(f"  - {v}", file=sys.stderr)
    print(f"Results in {written}")
    if result.has_plan:
        return EXIT_OK
    return EXIT_INFEASIBLE if result.status is Status.INFEASIBLE else EXIT_NO_PLAN


def _options(args) -> dict:
    return {k: v for k, v in {"solver": args.solver, "time_limit": args.time_limit}.items() if v is not None}


def cmd_batch(args) -> int:
    from .batch import expand, run_batch

    paths = expand(args.scenarios)
    if not paths:
        print("ERROR: no scenario files given", file=sys.stderr)
        return EXIT_INPUT
    try:
        result = run_batch(paths, args.out, workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                           deadline=args.deadline, progress=not args.quiet, **_options(args))
    except ValueError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_INPUT
    ran = len(result.records) - len(result.skipped)
    print(f"{len(result.records)} scenario(s): {ran} solved, {len(result.skipped)} unchanged since the last run, "
          f"{len(result.failed)} failed")
    for rec in result.records:
        if rec.reason:
            print(f"  {rec.scenario}: {rec.reason} - {rec.message}")
    print(f"Comparison: {result.out / 'comparison.csv'} and comparison.xlsx")
    return EXIT_OK if not result.failed else EXIT_NO_PLAN


def cmd_compare(args) -> int:
    from .whatif import compare

    for folder in (args.a, args.b):
        if not (Path(folder) / "summary.json").exists():
            print(f"ERROR: {folder} is not a result folder (no summary.json)", file=sys.stderr)
            return EXIT_INPUT
    comparison = compare(args.a, args.b)
    print(comparison.text)
    if args.out:
        comparison.changes.to_csv(args.out)
        print(f"Changes written to {args.out}")
    return EXIT_OK


def cmd_stress(args) -> int:
    from .whatif import stress

    try:
        cuts = [float(c) for c in args.cuts.split(",") if c.strip()]
        result = stress(args.scenario, resource=args.resource, cuts=cuts, start=getattr(args, "from"),
                        out=args.out, workers=args.workers, progress=not args.quiet, **_options(args))
    except InputError as exc:
        _print_issues(exc.issues, sys.stderr)
        return EXIT_INPUT
    except ValueError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(result.text)
    print(f"Table: {result.batch.out / 'stress.csv'}")
    return EXIT_OK


def cmd_frontier(args) -> int:
    from .whatif import frontier

    try:
        result = frontier(args.scenario, resource=args.resource, low=getattr(args, "from"), high=args.to,
                          steps=args.steps, out=args.out, workers=args.workers, progress=not args.quiet,
                          **_options(args))
    except InputError as exc:
        _print_issues(exc.issues, sys.stderr)
        return EXIT_INPUT
    print(result.text)
    print(f"Table: {result.batch.out / 'frontier.csv'}; chart: {result.chart}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prioritiser", description="Choose and schedule a trust's digital and IT "
                                     "initiatives within its money and staff limits.")
    parser.add_argument("--version", action="version", version=f"prioritiser {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a scenario and its portfolio; list every problem")
    v.add_argument("scenario")
    v.set_defaults(func=cmd_validate)
    r = sub.add_parser("run", help="solve a scenario and write plan.csv, usage.csv, summary.json, report.xlsx")
    r.add_argument("scenario")
    r.add_argument("--out", help="output folder (default results/<scenario name>/)")
    r.add_argument("--solver", choices=["highs", "cbc"], help="override the scenario's solver")
    r.add_argument("--time-limit", type=float, help="seconds (overrides the scenario)")
    r.add_argument("--gap", type=float, help="relative gap tolerance (overrides the scenario)")
    r.add_argument("--quiet", action="store_true", help="print only the summary")
    r.set_defaults(func=cmd_run)

    def solve_options(p):
        p.add_argument("--solver", choices=["highs", "cbc"], help="override every scenario's solver")
        p.add_argument("--time-limit", type=float, help="seconds per scenario (overrides the scenarios)")
        p.add_argument("--workers", type=int, help="scenarios solved at once (default: one per core)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    b = sub.add_parser("batch", help="solve many scenarios (globs welcome), each in its own process")
    b.add_argument("scenarios", nargs="+")
    b.add_argument("--out", default="results/batch", help="output folder (default results/batch)")
    b.add_argument("--deadline", type=float, help="hard seconds per scenario (default 1.5 x time limit + 30)")
    b.add_argument("--executor", choices=["local", "dask"], default="local")
    b.add_argument("--scheduler", help="dask.distributed scheduler address, e.g. tcp://10.0.0.5:8786")
    solve_options(b)
    b.set_defaults(func=cmd_batch)
    c = sub.add_parser("compare", help="what changed between two result folders")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--out", help="write the table of changes to this CSV file")
    c.set_defaults(func=cmd_compare)
    s = sub.add_parser("stress", help="value lost and initiatives dropped as a budget is cut")
    s.add_argument("scenario")
    s.add_argument("--resource", default="capital")
    s.add_argument("--cuts", default="5,10,20,30", help="percentages, comma separated")
    s.add_argument("--from", default=None, help="first period or financial year cut (default: the second year)")
    s.add_argument("--out", help="output folder (default results/<scenario>-stress-<resource>)")
    solve_options(s)
    s.set_defaults(func=cmd_stress)
    f = sub.add_parser("frontier", help="best value against budget, re-optimised at each level")
    f.add_argument("scenario")
    f.add_argument("--resource", default="capital")
    f.add_argument("--from", type=float, default=0.5, help="lowest budget as a share of today's (default 0.5)")
    f.add_argument("--to", type=float, default=1.5, help="highest share (default 1.5)")
    f.add_argument("--steps", type=int, default=11)
    f.add_argument("--out", help="output folder (default results/<scenario>-frontier-<resource>)")
    solve_options(f)
    f.set_defaults(func=cmd_frontier)
    from .dashboard.serve import add_parser as add_dashboard_parser

    add_dashboard_parser(sub)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
