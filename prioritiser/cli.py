"""`prioritiser validate|run|...|risk`: the command line. Exit codes: 0 plan found (or input valid),
1 invalid input, 2 infeasible, 3 no plan (solver error, time limit without a plan, failed check),
130 interrupted (Ctrl-C or SIGTERM: nothing half-written is left; a batch keeps what finished)."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
import threading
from pathlib import Path

from .errors import InputError, Issue
from .version import __version__

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _print_issues(issues: list[Issue], stream=None) -> None:
    stream = stream or sys.stdout
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


def _check_out(out_dir: Path, scenario) -> str | None:
    """Why results cannot go to `out_dir`, or None: it is or holds an input, is a file, or holds
    files prioritiser did not write (a user's own plan.csv, say)."""
    from .errors import OutputError
    from .outputs import check_inputs_outside, check_result_target

    try:
        approved = [scenario.approved_plan] if scenario.approved_plan is not None else []  # (often our plan.csv)
        check_inputs_outside(out_dir, [scenario.portfolio, *scenario.files, *approved])
        check_result_target(out_dir, "--out")
    except OutputError as exc:
        return str(exc)
    return None


def cmd_run(args) -> int:
    from .engine import run
    from .errors import OutputError
    from .outputs import slug
    from .progress import LiveLine
    from .report import console_summary, write_outputs
    from .scenario import load_scenario
    from .result import Status

    live = LiveLine(sys.stderr) if not args.quiet else None

    def progress(event):
        if event.stage == "solving" and not args.quiet:  # validation has passed
            print(f"Solving {event.scenario} ({event.solver}, time limit {event.time_limit:g} s) ...", flush=True)
        if live is not None:
            live(event)
    progress.wants_plans = live is not None and live.enabled
    try:
        scenario = load_scenario(args.scenario)
        out_dir = Path(args.out) if args.out else Path("results") / slug(scenario.name)
        problem = _check_out(out_dir, scenario)
        if problem:
            print(f"ERROR: {problem}", file=sys.stderr)
            return EXIT_INPUT
        try:
            result = run(scenario, solver=args.solver, time_limit=args.time_limit, gap=args.gap, progress=progress,
                         verbose=args.verbose)
        finally:
            if live is not None:
                live.close()
    except InputError as exc:
        _print_issues(exc.issues, sys.stderr)
        return EXIT_INPUT
    for w in result.portfolio.warnings:
        if not args.quiet:
            print(str(w))
    try:
        written = write_outputs(result, out_dir)
    except (OutputError, OSError) as exc:
        print(f"ERROR: the results could not be written: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(console_summary(result))
    if result.status is Status.ERROR and result.check is not None and not result.check.ok:
        print("The plan was NOT published: it failed the independent check:", file=sys.stderr)
        for v in result.check.violations:
            print(f"  - {v}", file=sys.stderr)
    print(f"Results in {written}")
    if result.has_plan:
        return EXIT_OK
    return EXIT_INFEASIBLE if result.status is Status.INFEASIBLE else EXIT_NO_PLAN


def cmd_template(args) -> int:
    from .template import write_template

    try:
        book, scenario = write_template(args.path, start=args.start, periods=args.periods,
                                        granularity=args.granularity)
    except (FileExistsError, ValueError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(f"Wrote {book} (one sheet per table, an example row on each, drop-downs, and a Notes sheet)")
    print(f"  and {scenario} (a scenario that reads it, horizon {args.start or 'from the next financial year'})")
    print(f"Fill in the sheets, then: prioritiser validate {scenario}")
    return EXIT_OK


def _options(args) -> dict:
    return {k: v for k, v in {"solver": args.solver, "time_limit": args.time_limit}.items() if v is not None}


def cmd_batch(args) -> int:
    from .batch import expand, run_batch
    from .errors import OutputError

    paths = expand(args.scenarios)
    if not paths:
        print("ERROR: no scenario files given", file=sys.stderr)
        return EXIT_INPUT
    try:
        result = run_batch(paths, args.out, workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                           deadline=args.deadline, progress=not args.quiet, **_options(args))
    except (ValueError, OutputError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(result.counts())
    for rec in result.records:
        if rec.reason:
            why = result.comparison.at[rec.scenario, "diagnosis"] if rec.reason == "infeasible" else ""
            print(f"  {rec.scenario}: {rec.reason} - {why or rec.message}")
    print(f"Comparison: {result.out / 'comparison.csv'} and comparison.xlsx")
    return EXIT_OK if not result.failed else EXIT_NO_PLAN


def cmd_compare(args) -> int:
    from .whatif import compare

    for folder in (args.a, args.b):
        if Path(folder).is_file():
            print(f"ERROR: {folder} is a file; give a result folder (one holding summary.json)", file=sys.stderr)
            return EXIT_INPUT
        if not (Path(folder) / "summary.json").exists():
            print(f"ERROR: {folder} is not a result folder (no summary.json)", file=sys.stderr)
            return EXIT_INPUT
    comparison = compare(args.a, args.b)
    print(comparison.text)
    if args.out:
        from .errors import OutputError
        from .whatif import write_changes

        try:
            write_changes(comparison, Path(args.out), inputs=(args.a, args.b))
        except (OutputError, OSError) as exc:
            print(f"ERROR: the changes were not written: {exc}", file=sys.stderr)
            return EXIT_INPUT
        print(f"Changes written to {args.out}")
    return EXIT_OK


def _attempt(compute):
    """`compute()` and None, or None and the exit code of bad input (its problems said on stderr):
    every command that reads a scenario says a refused input the same way."""
    from .errors import OutputError

    try:
        return compute(), None
    except InputError as exc:
        _print_issues(exc.issues, sys.stderr)
    except (ValueError, OutputError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
    return None, EXIT_INPUT


def _number(option: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{option}: {text.strip()!r} is not a number") from None


def cmd_stress(args) -> int:
    from .whatif import stress

    def compute():
        cuts = [_number("--cuts", c) for c in args.cuts.split(",") if c.strip()]
        return stress(args.scenario, resource=args.resource, cuts=cuts, start=args.cut_from,
                      out=args.out, workers=args.workers, progress=not args.quiet, **_options(args))
    result, failed = _attempt(compute)
    if failed is not None:
        return failed
    print(result.text)
    print(f"Table: {result.batch.out / 'stress.csv'}")
    return EXIT_OK


def cmd_frontier(args) -> int:
    from .whatif import frontier

    result, failed = _attempt(lambda: frontier(
        args.scenario, resource=args.resource, low=args.lowest, high=args.highest, steps=args.steps,
        out=args.out, workers=args.workers, progress=not args.quiet, **_options(args)))
    if failed is not None:
        return failed
    print(result.text)
    print(f"Table: {result.batch.out / 'frontier.csv'}; chart: {result.chart}")
    return EXIT_OK


def _explanatory(compute) -> int:
    """Run an explanatory command (explain, alternatives): print its text; exit as its base plan did."""
    from .result import Status

    found, failed = _attempt(compute)
    if failed is not None:
        return failed
    print(found.text)
    if not found.base.has_plan:
        return EXIT_INFEASIBLE if found.base.status is Status.INFEASIBLE else EXIT_NO_PLAN
    return EXIT_OK


def cmd_explain(args) -> int:
    from .reversals import explain

    return _explanatory(lambda: explain(args.scenario, ids=args.ids, limits=args.limits, step=args.step,
                                        out=args.out, workers=args.workers, progress=not args.quiet,
                                        **_options(args)))


def cmd_alternatives(args) -> int:
    from .alternatives import alternatives, parse_within

    return _explanatory(lambda: alternatives(args.scenario, count=args.count, within=parse_within(args.within),
                                             out=args.out, **_options(args)))


def _risk_out(args, scenario) -> tuple[Path, str | None]:
    """The risk folder, and why it may not be used (it holds the user's input or other files)."""
    from .risk import RISK_FILES

    out_dir = Path(args.out) if args.out else Path("results") / f"{scenario.name}-risk"
    out = out_dir.resolve()
    for path in [scenario.portfolio.resolve(), *(f.resolve() for f in scenario.files)]:
        if out == path or path.is_relative_to(out):
            return out_dir, f"--out {out_dir} holds your input ({path}); choose another folder"
    if out.exists():
        others = sorted(f.name for f in out.iterdir() if f.name not in RISK_FILES) if out.is_dir() else [out.name]
        if others:
            return out_dir, (f"--out {out_dir} already exists and is not a prioritiser risk folder (it holds "
                             f"{', '.join(others[:3])}); choose another folder")
    return out_dir, None


def _risk_plan(args, scenario):
    """Solve the scenario for the plan to hold fixed, with the live progress line."""
    from .engine import run
    from .progress import LiveLine

    live = LiveLine(sys.stderr) if not args.quiet else None

    def progress(event):
        if event.stage == "solving" and not args.quiet:
            print(f"Solving {event.scenario} for the plan to test ({event.solver}, time limit "
                  f"{event.time_limit:g} s) ...", flush=True)
        if live is not None:
            live(event)
    progress.wants_plans = live is not None and live.enabled
    try:
        return run(scenario, progress=progress, **_options(args))
    finally:
        if live is not None:
            live.close()


def _risk_draws(args):
    """The plan to hold fixed and its draws, or the exit code when there is no plan or no place to write."""
    from .report import console_summary
    from .risk import has_ranges, risk
    from .scenario import load_scenario

    scenario = load_scenario(args.scenario)
    out_dir, problem = _risk_out(args, scenario)
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        return EXIT_INPUT
    result = _risk_plan(args, scenario)
    if not result.has_plan:
        print(console_summary(result))
        print("ERROR: there is no plan to test for risk", file=sys.stderr)
        return EXIT_INFEASIBLE if result.status.value == "infeasible" else EXIT_NO_PLAN
    if not has_ranges(result.portfolio.initiatives) and not args.quiet:
        print("note: no initiative has a range (capital_cost_low/_high, benefit_low/_high, duration_low/_high), "
              "so every draw is the plan as it stands")
    if not args.quiet:
        then = ", then solving each afresh" if args.reoptimise else ""
        print(f"Drawing {args.samples:,} samples (seed {args.seed}) of the plan held fixed{then} ...", flush=True)
    sim = risk(scenario, args.samples, args.seed, reoptimise=args.reoptimise, out=out_dir, result=result,
               workers=args.workers, executor=args.executor, scheduler=args.scheduler, progress=_sample_bar(args),
               batch_progress=not args.quiet, **_options(args))
    return sim, result, out_dir


def cmd_risk(args) -> int:
    from .risk import risk_text, write_risk

    if args.samples < 1 or args.seed < 0:
        print(f"ERROR: --samples must be at least 1 (got {args.samples}) and --seed not negative (got {args.seed})",
              file=sys.stderr)
        return EXIT_INPUT
    drawn, failed = _attempt(lambda: _risk_draws(args))
    if failed is not None or isinstance(drawn, int):
        return drawn if failed is None else failed
    sim, result, out_dir = drawn
    written = write_risk(sim, result, out_dir)
    print(risk_text(sim, result))
    print(f"Results in {written}")
    return EXIT_OK


def _sample_bar(args):
    """Progress of the held-fixed draws on stderr (blocks of samples), when there are many."""
    if args.quiet or args.samples < 20_000:
        return None

    def show(done, total):
        print(f"\r  simulated {done:,} of {total:,} draws", end="\n" if done == total else "", file=sys.stderr,
              flush=True)
    return show


def _add_risk(sub) -> None:
    summary = "how sure the plan is: NPV and overspend under ranges of cost, benefit and duration"
    k = _command(sub, "risk", summary,
                 "  prioritiser risk scenarios/baseline.yaml --samples 10000 --seed 1\n"
                 "  prioritiser risk scenarios/baseline.yaml --samples 50 --seed 1 --reoptimise --workers 2\n",
                 cmd_risk)
    k.description += "\n\n" + textwrap.fill(
        "The scenario's plan is solved, then held fixed (the same starts) under N draws of each initiative's "
        "capital_cost, benefit and duration from its triangular range (<column>_low, <column>_high; the "
        "column's value most likely): NPV quantiles, the chance each financial year's capital and revenue "
        "budget is overspent, and the initiatives that drive it. With --reoptimise each draw is also solved "
        "afresh through the batch runner, giving how often each initiative is selected. Writes risk.csv, "
        "risk-drivers.csv, risk-samples.csv, plan.csv and npv-fan.png (with --reoptimise also "
        "risk-selection.csv, selection-frequency.png and samples/).", 100, break_on_hyphens=False)
    k.add_argument("scenario", help="the scenario file (YAML), e.g. scenarios/baseline.yaml")
    k.add_argument("--samples", type=int, default=10_000, metavar="N", help="draws from the ranges")
    k.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed: the same seed gives the same draws (default: 0)")
    k.add_argument("--reoptimise", action="store_true",
                   help="also solve every draw afresh and report each initiative's selection frequency (one solve "
                        "per draw: use a small N) (default: off)")
    k.add_argument("--out", metavar="DIR", default=None, help="output folder (default: results/<scenario name>-risk/)")
    k.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="with --reoptimise: local processes, or a dask.distributed cluster")
    k.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="dask scheduler address (default: a local cluster)")
    k.add_argument("--workers", type=int, default=None,
                   help="with --reoptimise: draws solved at once (default: one per core)")
    _solve_options(k, many=False)
    k.add_argument("--quiet", action="store_true", help="print only the summary: no progress (default: off)")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's help says its default (added here unless the help says it already);
    descriptions and examples keep their lines."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: {action.default})"


def _command(sub, name: str, summary: str, examples: str, func):
    p = sub.add_parser(name, help=summary, description=summary[:1].upper() + summary[1:] + ".",
                       epilog="examples:\n" + examples, formatter_class=_Help)
    p.set_defaults(func=func)
    return p


class _Deprecated(argparse.Action):
    """An old option spelling that still works, with a note on stderr naming the new one."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"note: {option_string} is deprecated here; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _solve_options(p, many: bool = True) -> None:
    from .solvers import SOLVER_NAMES

    which = "every scenario's" if many else "the scenario's"
    p.add_argument("--solver", choices=SOLVER_NAMES, default=None,
                   help=f"override {which} solver (default: as the scenario says, usually highs)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", default=None,
                   help=f"seconds {'per scenario ' if many else ''}(default: {which} solver.time_limit, usually 60)")
    if many:
        p.add_argument("--workers", type=int, default=None, help="scenarios solved at once (default: one per core)")
        p.add_argument("--quiet", action="store_true", help="no progress bar (default: off)")


def _add_run(sub) -> None:
    r = _command(sub, "run", "solve a scenario and write plan.csv, usage.csv, summary.json and report.xlsx",
                 "  prioritiser run scenarios/baseline.yaml\n"
                 "  prioritiser run scenarios/capital-cut-10.yaml --out results/cut --time-limit 120\n", cmd_run)
    r.add_argument("scenario", help="the scenario file (YAML), e.g. scenarios/baseline.yaml")
    r.add_argument("--out", metavar="DIR", default=None, help="output folder (default: results/<scenario name>/)")
    _solve_options(r, many=False)
    r.add_argument("--gap", type=float, default=None,
                   help="relative gap at which a plan counts as optimal, e.g. 0.001 for 0.1%% (default: the "
                        "scenario's solver.gap, usually 0.001)")
    r.add_argument("--quiet", action="store_true",
                   help="print only the summary: no progress line, no warnings (default: off)")
    r.add_argument("--verbose", action="store_true", help="also print the solver's own banner and log (default: off)")


def _add_batch(sub) -> None:
    b = _command(sub, "batch", "solve many scenarios (globs welcome), each in its own process; resumable",
                 "  prioritiser batch 'scenarios/*.yaml' --out results/all --workers 2\n"
                 "  prioritiser batch a.yaml b.yaml --executor dask --scheduler tcp://10.0.0.5:8786\n", cmd_batch)
    b.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario files or globs (quote globs)")
    b.add_argument("--out", metavar="DIR", default="results/batch",
                   help="output folder: one sub-folder per scenario, comparison.csv and comparison.xlsx")
    b.add_argument("--deadline", type=float, metavar="SECONDS", default=None,
                   help="hard seconds per scenario before its process is killed (default: 1.5 x time limit + 30)")
    b.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="local processes, or a dask.distributed cluster")
    b.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    _solve_options(b)


def _add_compare(sub) -> None:
    c = _command(sub, "compare", "what changed between two result folders (added, dropped, moved, money)",
                 "  prioritiser run scenarios/baseline.yaml\n  prioritiser run scenarios/capital-cut-10.yaml\n"
                 "  prioritiser compare results/baseline results/capital-cut-10\n", cmd_compare)
    c.add_argument("a", metavar="FOLDER_A", help="a result folder (as run or batch writes it), e.g. results/baseline")
    c.add_argument("b", metavar="FOLDER_B", help="the result folder to compare with it")
    c.add_argument("--out", metavar="CSV", default=None, help="also write the table of changes to this CSV file")


def _add_stress(sub) -> None:
    s = _command(sub, "stress", "value lost and initiatives dropped, added or moved as a budget is cut",
                 "  prioritiser stress scenarios/baseline.yaml --resource capital --cuts 5,10,20,30\n"
                 "  prioritiser stress scenarios/baseline.yaml --resource revenue --cuts 10 --cut-from 2028/29\n",
                 cmd_stress)
    s.add_argument("scenario", help="the scenario file to cut (it is not changed)")
    s.add_argument("--resource", default="capital", help="the money or staff resource to cut")
    s.add_argument("--cuts", default="5,10,20,30", metavar="PERCENTS", help="cuts in percent, comma separated")
    s.add_argument("--cut-from", metavar="PERIOD", default=None,
                   help="first period or financial year cut, e.g. 2027/28 (default: the horizon's second "
                        "financial year)")
    s.add_argument("--from", dest="cut_from", action=_Deprecated, new="--cut-from", help=argparse.SUPPRESS)
    s.add_argument("--out", metavar="DIR", default=None, help="output folder (default: results/<scenario>-stress-<resource>)")
    _solve_options(s)


def _add_frontier(sub) -> None:
    f = _command(sub, "frontier", "best value against budget, re-optimised at each level",
                 "  prioritiser frontier scenarios/baseline.yaml --resource capital --lowest 0.5 --highest 1.5 "
                 "--steps 11\n", cmd_frontier)
    f.add_argument("scenario", help="the scenario file (it is not changed)")
    f.add_argument("--resource", default="capital", help="the money or staff resource whose limits are scaled")
    f.add_argument("--lowest", type=float, default=0.5, metavar="SHARE",
                   help="lowest level as a share of today's limits (0.5 = half)")
    f.add_argument("--highest", type=float, default=1.5, metavar="SHARE", help="highest level as a share")
    f.add_argument("--from", dest="lowest", type=float, action=_Deprecated, new="--lowest", help=argparse.SUPPRESS)
    f.add_argument("--to", dest="highest", type=float, action=_Deprecated, new="--highest", help=argparse.SUPPRESS)
    f.add_argument("--steps", type=int, default=11, help="levels from lowest to highest, evenly spaced")
    f.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (default: results/<scenario>-frontier-<resource>)")
    _solve_options(f)


def _add_explain(sub) -> None:
    e = _command(sub, "explain", "what each decision costs (explain.csv) or, with --limits, what one more step of "
                 "each binding limit buys (marginal.csv), by re-optimising",
                 "  prioritiser explain scenarios/baseline.yaml\n"
                 "  prioritiser explain scenarios/baseline.yaml --ids EPR-01,PACS-2\n"
                 "  prioritiser explain scenarios/baseline.yaml --limits --step money=250000,staff=0.5\n", cmd_explain)
    e.add_argument("scenario", help="the scenario file (it is not changed)")
    e.add_argument("--ids", metavar="ID,ID,...", default=None,
                   help="only these initiatives, comma separated (default: every initiative)")
    e.add_argument("--limits", action="store_true",
                   help="instead, raise each binding limit by a step and re-optimise: marginal.csv (default: off)")
    e.add_argument("--step", metavar="STEP", default=None,
                   help="with --limits: a money step in £, or name=amount pairs such as money=250000,staff=0.5,"
                        "developer=2 (default: £100,000 and 1 FTE)")
    e.add_argument("--out", metavar="DIR", default=None, help="output folder (default: results/<scenario>/explain/)")
    _solve_options(e)


def _add_alternatives(sub) -> None:
    a = _command(sub, "alternatives", "other good plans: up to COUNT distinct plans within a share of the best, "
                 "as different from it and each other as possible",
                 "  prioritiser alternatives scenarios/baseline.yaml --count 5 --within 2%\n"
                 "  prioritiser alternatives scenarios/baseline.yaml --count 3 --within 0.01 --out results/alts\n",
                 cmd_alternatives)
    a.add_argument("scenario", help="the scenario file (it is not changed)")
    a.add_argument("--count", type=int, default=5, help="most alternative plans to find")
    a.add_argument("--within", default="2%", metavar="SHARE",
                   help="how far below the best an alternative may score: 2%% or 0.02")
    a.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (default: results/<scenario>/alternatives/)")
    _solve_options(a, many=False)


def _add_small(sub) -> None:
    v = _command(sub, "validate", "check a scenario and its portfolio; list every problem",
                 "  prioritiser validate scenarios/baseline.yaml\n", cmd_validate)
    v.add_argument("scenario", help="the scenario file (YAML); it names the portfolio folder or workbook")
    t = _command(sub, "template", "write an input workbook to fill in (PATH.xlsx) and a scenario that reads it "
                 "(PATH.yaml)", "  prioritiser template my-trust.xlsx\n"
                 "  prioritiser template my-trust.xlsx --start '2027/28 Q1' --periods 20\n", cmd_template)
    t.add_argument("path", metavar="PATH.xlsx", help="the workbook to write; it must not exist yet")
    t.add_argument("--start", metavar="PERIOD", default=None,
                   help="the horizon's first period (default: the first period of the next financial year)")
    t.add_argument("--periods", type=int, default=20, help="periods in the horizon")
    t.add_argument("--granularity", choices=["quarter", "month", "year"], default="quarter",
                   help="length of a period")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prioritiser", formatter_class=_Help,
                                     description="Choose and schedule a trust's digital and IT initiatives within "
                                                 "its money and staff limits.",
                                     epilog="Run 'prioritiser COMMAND --help' for each command's arguments.")
    parser.add_argument("--version", action="version", version=f"prioritiser {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_small(sub)
    _add_run(sub)
    _add_batch(sub)
    _add_compare(sub)
    _add_stress(sub)
    _add_frontier(sub)
    _add_explain(sub)
    _add_alternatives(sub)
    _add_risk(sub)
    from .dashboard.serve import add_parser as add_dashboard_parser

    add_dashboard_parser(sub)
    return parser


class _ClosedPipeSafe:
    """stdout that survives its reader going away (`prioritiser run ... | head -1`): the rest of the
    output goes to /dev/null and the command finishes its work and exits as it would have."""

    def __init__(self, stream):
        self._stream = stream

    def _closed(self) -> None:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._closed()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops a run as cleanly as Ctrl-C does
    original = sys.stdout
    if not isinstance(sys.stdout, _ClosedPipeSafe) and sys.stdout is not None:
        sys.stdout = _ClosedPipeSafe(sys.stdout)
    try:
        args = build_parser().parse_args(argv)  # (inside: Ctrl-C while the parser's imports load is no traceback)
        return args.func(args)
    except BrokenPipeError:  # a stream that bypassed ours: say nothing more, and no traceback
        if isinstance(sys.stdout, _ClosedPipeSafe):
            sys.stdout._closed()
        return EXIT_OK
    except KeyboardInterrupt as exc:
        result = getattr(exc, "result", None)  # a batch, stress or frontier: what finished is kept
        if result is not None:
            print(f"{exc}; the comparison of those is in {result.out / 'comparison.csv'}; run the "
                  "same command again to solve the rest", file=sys.stderr)
        else:
            print("interrupted: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        sys.stdout = original


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
