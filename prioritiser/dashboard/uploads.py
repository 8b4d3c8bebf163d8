"""Portfolios uploaded in the page: an Excel workbook, or a .zip of CSV files unpacked safely into a
folder of the dashboard's own. An upload becomes a scenario with the horizon, objective and solver
settings of the scenario chosen before it, and is checked with prioritiser.validate."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

from prioritiser import limits
from prioritiser.errors import Issue
from prioritiser.scenario import Scenario
from prioritiser.validate import validate

def file_name(filename: str) -> str:
    """The uploaded file's own name, whatever folders the browser put before it."""
    return PurePosixPath(str(filename).replace("\\", "/")).name or "upload"


def read_upload(name: str, content: bytes, template: Scenario | None, folder: Path) -> tuple[list[Issue],
                                                                                             Scenario | None]:
    """(every issue found, the upload as a scenario), the files kept in `folder`. Errors mean it
    must not be used; the scenario is None when there is nothing to check. Never raises."""
    try:
        return _read(name, content, template, Path(folder))
    except Exception as exc:  # never a traceback in the page
        return [Issue("error", name, f"could not be read ({type(exc).__name__}: {exc})")], None


def _read(name: str, content: bytes, template: Scenario | None, folder: Path) -> tuple[list[Issue], Scenario | None]:
    suffix = Path(name).suffix.lower()
    size = len(content) / 1e6
    if size > limits.value("UPLOAD_MB"):  # the page refuses these before sending; a script may not
        return [Issue("error", name, limits.refusal("UPLOAD_MB", f"the file is {size:,.1f} MB", size))], None
    if suffix not in (".xlsx", ".zip"):
        return [Issue("error", name, "upload an Excel workbook (.xlsx) or a .zip of CSV files")], None
    if template is None:
        return [Issue("error", name, "choose a bundled scenario first: its horizon and settings are used")], None
    folder.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        portfolio = folder / name
        portfolio.write_bytes(content)
    else:
        portfolio, issues = unzip(name, content, folder / "portfolio")
        if issues:
            return issues, None
    scenario = upload_scenario(template, name, portfolio, folder)
    return validate(scenario), scenario


def upload_scenario(template: Scenario, name: str, portfolio: Path, folder: Path) -> Scenario:
    """The uploaded portfolio with the template's settings, without its adjustments and forced choices
    (they name the template's resources and initiatives)."""
    stem = Path(name).stem
    # no files: the upload comes from none, and its problems are reported against the upload itself
    return template.replace(name=stem, portfolio=portfolio, adjustments=[], force_in=[], force_out=[],
                            description=f"Uploaded portfolio {name} with the settings of scenario {template.name}.",
                            path=folder / f"{stem}.yaml", files=[], layers=[])


def unzip(name: str, content: bytes, target: Path) -> tuple[Path, list[Issue]]:
    """The CSV files of the folder (inside the zip) that holds initiatives.csv, written into `target`
    by their names only, so nothing lands outside it."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return target, [Issue("error", name, "is not a valid .zip file")]
    members = [m for m in zf.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")
               and not PurePosixPath(m.filename).name.startswith((".", "_"))]
    if not members:
        return target, [Issue("error", name, "holds no .csv files; it should hold initiatives.csv, "
                              "capacity.csv and the other tables")]
    # the sizes the zip declares bound what Python's zip reader will ever inflate
    unpacked = sum(m.file_size for m in members) / 1e6
    if unpacked > limits.value("XLSX_MB"):
        return target, [Issue("error", name, limits.refusal("XLSX_MB", f"it unpacks to {unpacked:,.1f} MB of CSV",
                                                            unpacked))]
    big = next((m for m in members if m.file_size / 1e6 > limits.value("FILE_MB")), None)
    if big is not None:
        return target, [Issue("error", name, limits.refusal("FILE_MB", f"{big.filename} unpacks to "
                                                            f"{big.file_size / 1e6:,.1f} MB", big.file_size / 1e6))]
    folders = {str(PurePosixPath(m.filename).parent) for m in members
               if PurePosixPath(m.filename).name.lower() == "initiatives.csv"}
    chosen = sorted(folders, key=len)[0] if folders else None
    target.mkdir(parents=True, exist_ok=True)
    for m in members:
        p = PurePosixPath(m.filename)
        if chosen is None or str(p.parent) == chosen:
            (target / p.name).write_bytes(zf.read(m))
    return target, []
