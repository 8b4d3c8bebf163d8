"""environment.yml (conda users) lists exactly the packages and version ranges of the pip files."""
import re
from pathlib import Path

import yaml

from prioritiser.schema import ADJUSTMENT, SCENARIO, TABLES

ROOT = Path(__file__).resolve().parents[1]


def _pip_requirements(path: Path) -> dict[str, str]:
    reqs = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("-r"):
            reqs.update(_pip_requirements(path.parent / line[2:].strip()))
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", line)
        reqs[m.group(1).lower()] = m.group(2).replace(" ", "")
    return reqs


def test_environment_yml_matches_pip_requirements():
    pip = _pip_requirements(ROOT / "requirements-dev.txt")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):  # a `pip:` subsection
            for item in dep.get("pip", []):
                m = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", item)
                conda[m.group(1).lower()] = m.group(2).replace(" ", "")
            continue
        m = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", dep)
        conda[m.group(1).lower()] = m.group(2).replace(" ", "")
    conda.pop("python", None)
    conda.pop("pip", None)
    assert conda == pip


def test_pyproject_runtime_dependencies_match_requirements_txt():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", d).group(1).lower(): re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", d).group(2)
                for d in project["dependencies"]}
    assert declared == _pip_requirements(ROOT / "requirements.txt")


def test_pulp_is_pinned_to_3x():
    assert _pip_requirements(ROOT / "requirements.txt")["pulp"] == ">=3.3,<4"


def test_user_docs_describe_every_input_column():
    """The schema is declared once; the user-facing format doc must name every column of it."""
    doc = (ROOT / "docs" / "format.md").read_text()
    for table in TABLES.values():
        assert f"### {table.name}" in doc
        for col in table.columns:
            assert f"`{col.name}`" in doc, (table.name, col.name)


def test_user_docs_describe_every_scenario_key():
    """Every key of a scenario file (schema.SCENARIO) and of an adjustment appears in the format doc's scenario part."""
    doc = (ROOT / "docs" / "format.md").read_text()
    scenario_part = doc[doc.index("## The scenario"):doc.index("## The objective")]

    def keys(schema, prefix=""):
        for key, value in schema.items():
            yield prefix + key
            if isinstance(value, dict):
                yield from keys(value, f"{prefix}{key}.")

    for path in [*keys(SCENARIO), *(f"adjustments[].{k}" for k in ADJUSTMENT)]:
        leaf = path.split(".")[-1]
        assert f"{leaf}:" in scenario_part or f"`{leaf}`" in scenario_part, path
