"""Input problems: every one names where it is, so a user can go straight to the cell."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def display_path(path) -> str:
    """A path as the user would recognise it: relative to the current folder when it lies inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" or "warning"
    where: str  # file, "file, sheet" or "scenario.yaml"
    message: str
    row: int | None = None  # the row number as the user sees it (header is row 1); a YAML file's line
    column: str | None = None  # column name, or the key path in a scenario file

    def __str__(self) -> str:
        place = self.where
        yaml_file = self.where.endswith((".yaml", ".yml"))
        if self.row is not None:
            place += f", line {self.row}" if yaml_file else f", row {self.row}"
        if self.column:
            place += f", column {self.column}" if self.row is not None or not yaml_file else f", key {self.column}"
        return f"{self.severity.upper()}: {place}: {self.message}"


class InputError(Exception):
    """The input has errors; `issues` lists every one (warnings too)."""

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the input:\n" + "\n".join(str(i) for i in errors))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


class OutputError(Exception):
    """Results cannot be written where asked without touching something that is not ours
    (a user's file, an input, a file where a folder is expected); the message says what was found."""
