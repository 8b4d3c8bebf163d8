"""The README's and the what-if how-to's commands, taken in the order given on a fresh clone: each
parses with the CLI's own parser, and every result folder a `compare` reads is one that a command
before it writes (run: results/<scenario>; batch: <--out>/<scenario>)."""
import glob
import re
import shlex
from pathlib import Path

import pytest

from prioritiser.cli import build_parser
from prioritiser.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def commands(doc: Path) -> list[list[str]]:
    """The `prioritiser ...` lines of a document's bash blocks, in order (comments dropped)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), re.S):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("prioritiser ") and "SCENARIO" not in line and "PATH" not in line:
                out.append(shlex.split(line)[1:])
    return out


def written_by(args, parsed) -> set[Path]:
    if parsed.command == "run":
        return {Path(parsed.out) if parsed.out else Path("results") / load_scenario(ROOT / parsed.scenario).name}
    if parsed.command == "batch":
        names = [load_scenario(p).name for pattern in parsed.scenarios for p in sorted(glob.glob(str(ROOT / pattern)))]
        return {Path(parsed.out) / n for n in names}
    return set()


@pytest.mark.parametrize("doc", ["README.md", "docs/howto-whatif.md"])
def test_documented_commands_run_in_the_order_given(doc):
    parser = build_parser()
    written: set[Path] = set()
    seen = 0
    for args in commands(ROOT / doc):
        parsed = parser.parse_args(args)  # every option as documented exists
        if parsed.command == "compare":
            for folder in (parsed.a, parsed.b):
                assert Path(folder) in written, f"{doc}: compare reads {folder}, which no command before it writes"
            seen += 1
        written |= written_by(args, parsed)
    assert seen >= 1


def test_explain_howto_commands_parse_and_name_bundled_scenarios():
    parser = build_parser()
    found = commands(ROOT / "docs" / "howto-explain.md")
    assert {args[0] for args in found} == {"run", "explain", "alternatives"}
    for args in found:
        parsed = parser.parse_args(args)
        assert (ROOT / parsed.scenario).exists(), parsed.scenario
