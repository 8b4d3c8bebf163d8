"""The console, as a user at a terminal or a script sees it: no solver banner unless --verbose (CLI and
Python API), "Solving" only after validation passed, a live progress line on a terminal and nothing
extra when piped, a clean exit when the reader of a pipe goes away, and --help that explains every
argument with its default and an example."""
import os
import subprocess
import sys
import time

import pytest

from known import write_case
from test_cli import CASE

BANNER = "Running HiGHS"


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "prioritiser.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, **kw)


def test_quiet_run_prints_no_solver_banner_verbose_does(tmp_path):
    scenario = write_case(tmp_path, CASE)
    quiet = cli("run", scenario, "--out", tmp_path / "q", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert BANNER not in quiet.stdout + quiet.stderr and "Solving" not in quiet.stdout
    assert quiet.stdout.startswith("Scenario ")
    plain = cli("run", scenario, "--out", tmp_path / "p")
    assert BANNER not in plain.stdout + plain.stderr
    assert plain.stdout.startswith("Solving ") and "\r" not in plain.stderr  # no live line when not a terminal
    verbose = cli("run", scenario, "--out", tmp_path / "v", "--verbose")
    assert verbose.returncode == 0 and BANNER in verbose.stdout


def test_python_api_prints_no_solver_banner(tmp_path):
    scenario = write_case(tmp_path, CASE)
    code = f"import prioritiser; r = prioritiser.run({str(scenario)!r}); print('status', r.status)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "status optimal"


def test_solving_is_printed_only_after_validation_passed(tmp_path):
    bad = dict(CASE, initiatives=CASE["initiatives"].replace("A,Alpha,1,", "A,Alpha,zero,"))
    proc = cli("run", write_case(tmp_path, bad))
    assert proc.returncode == 1 and "Solving" not in proc.stdout + proc.stderr
    assert "column duration" in proc.stderr


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_pipe_closed_early_exits_0_without_traceback(tmp_path, command):
    scenario = write_case(tmp_path, CASE)
    args = [sys.executable, "-m", "prioritiser.cli", command, str(scenario)]
    if command == "run":
        args += ["--out", str(tmp_path / "out")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()  # as `| head -1` does: one line, then the reader is gone
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert first and "Traceback" not in err and "BrokenPipe" not in err
    if command == "run":  # the work was still done
        assert (tmp_path / "out" / "report.xlsx").exists()


def test_live_progress_line_on_a_terminal(tmp_path):
    pty = pytest.importorskip("pty")
    scenario = write_case(tmp_path, CASE)
    master, slave = pty.openpty()
    # a time limit long enough to see the line, a case that proves optimality at once: the first
    # redraw comes after half a second, so slow the solve down with a sleeping solver stub
    code = ("import sys, time; from prioritiser import cli, solvers; real = solvers.solve\n"
            "def slow(*a, **k):\n    time.sleep(1.2); return real(*a, **k)\n"
            "import prioritiser.engine as e; e.solve = slow\n"
            f"sys.exit(cli.main(['run', {str(scenario)!r}, '--out', {str(tmp_path / 'out')!r}]))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out = proc.communicate(timeout=120)[0].decode()
    os.close(master)
    assert proc.returncode == 0, err
    text = err.decode()
    assert "\r" in text and "solving" in text and "best plan so far: NPV £" in text
    assert "Scenario " in out and "solving" not in out  # the line is on the terminal only, not in the output


@pytest.mark.parametrize("command", ["validate", "template", "run", "batch", "compare", "stress", "frontier",
                                     "dashboard"])
def test_every_subcommand_help_explains_its_arguments(command):
    from prioritiser.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    text = sub.format_help()
    assert "examples:" in text, command
    for action in sub._actions:
        if action.help == "==SUPPRESS==" or action.dest == "help":
            continue
        assert action.help, (command, action.dest)
        if action.option_strings and action.default not in (None, False):
            assert "default" in sub._get_formatter()._get_help_string(action), (command, action.dest)


def test_stress_and_frontier_option_names_and_old_spellings():
    from prioritiser.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["stress", "s.yaml", "--cut-from", "2027/28"])
    assert args.cut_from == "2027/28"
    args = parser.parse_args(["frontier", "s.yaml", "--lowest", "0.6", "--highest", "1.2"])
    assert (args.lowest, args.highest) == (0.6, 1.2)
    old = subprocess.run([sys.executable, "-c", "from prioritiser.cli import build_parser; a = build_parser()."
                          "parse_args(['frontier', 's.yaml', '--from', '0.7', '--to', '1.1']); print(a.lowest, a.highest)"
                          "; b = build_parser().parse_args(['stress', 's.yaml', '--from', '2028/29']); print(b.cut_from)"],
                         capture_output=True, text=True, timeout=60)
    assert old.stdout.split() == ["0.7", "1.1", "2028/29"]
    assert "--from is deprecated here; use --lowest" in old.stderr and "use --cut-from" in old.stderr
