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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
