"""Converters from public benchmark formats into format v1 portfolio folders.

Two families of published benchmarks are supported (see ``shared/benchmarks/README.md``):

* OR-Library multidimensional knapsack (``mknap1.txt``, ``mknap2.txt``): every item becomes an
  optional initiative that can only start in the first period; its weights become staff demands
  against the knapsack capacities. The engine's optimum equals the published optimum.
* PSPLIB single-mode RCPSP (``.sm`` files, e.g. j30): every job becomes a mandatory initiative,
  precedence arcs become ``finish_to_start`` dependencies, and the dummy sink becomes an initiative
  ``SINK`` whose benefit rewards an early go-live. The engine's optimum equals
  ``H - makespan`` (see :func:`expected_objective_psplib`).

This module deliberately imports nothing from the engine, so that the benchmarks test the engine
against data written independently of it.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pandas as pd

__all__ = [
    "MknapInstance",
    "RcpspInstance",
    "read_mknap1",
    "read_mknap2",
    "read_psplib",
    "read_psplib_tar",
    "write_mknap_portfolio",
    "write_psplib_portfolio",
    "expected_objective_psplib",
    "serial_sgs",
    "period_label",
]

PathLike = Union[str, "os.PathLike[str]"]

INITIATIVE_COLUMNS = [
    "id",
    "name",
    "duration",
    "earliest_start",
    "latest_finish",
    "mandatory",
    "benefit",
]
RESOURCE_COLUMNS = ["resource", "kind", "external_cost", "external_max"]
DEMAND_COLUMNS = ["initiative", "resource", "offset", "amount"]
CAPACITY_COLUMNS = ["resource", "period", "amount"]
DEPENDENCY_COLUMNS = ["predecessor", "successor", "type", "lag"]


# --------------------------------------------------------------------------------------------
# Period labels (kept independent of the engine's own periods module on purpose)
# --------------------------------------------------------------------------------------------

_PERIODS_PER_YEAR = {"year": 1, "quarter": 4, "month": 12}


def _fy_label(start_year: int) -> str:
    """Financial-year label, e.g. 2026 -> ``2026/27``."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def period_label(index: int, start_year: int = 2026, granularity: str = "quarter") -> str:
    """Label of period ``index`` (0-based) of a horizon that starts in April of ``start_year``.

    ``year`` -> ``2026/27``; ``quarter`` -> ``2026/27 Q1`` (Q1 = April-June, rolling over to the
    next financial year after Q4); ``month`` -> ``2026-04``.
    """
    if index < 0:
        raise ValueError(f"period index must be >= 0, got {index}")
    if granularity == "year":
        return _fy_label(start_year + index)
    if granularity == "quarter":
        year, q = divmod(index, 4)
        return f"{_fy_label(start_year + year)} Q{q + 1}"
    if granularity == "month":
        year, m = divmod(index + 3, 12)  # index 0 = April (month number 4)
        return f"{start_year + year}-{m + 1:02d}"
    raise ValueError(f"unknown granularity {granularity!r}")


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


@dataclass
class MknapInstance:
    """A 0/1 multidimensional knapsack problem: max p.x s.t. W x <= b, x binary."""

    name: str
    profits: list  # n numbers
    weights: list  # m rows of n numbers
    capacities: list  # m numbers
    optimum: float

    @property
    def n(self) -> int:
        return len(self.profits)

    @property
    def m(self) -> int:
        return len(self.capacities)


@dataclass
class RcpspInstance:
    """A single-mode RCPSP instance in PSPLIB numbering (jobs 1..N, 1 = source, N = sink)."""

    name: str
    jobs: list  # job numbers, in file order
    durations: dict  # job -> duration
    successors: dict  # job -> list of successor jobs
    demands: dict  # job -> list of per-period demands, one per resource
    capacities: list  # per-period capacity, one per resource
    resources: list = field(default_factory=list)  # resource names, e.g. R1..R4
    horizon: int | None = None  # horizon stated in the file header (if any)

    @property
    def n_jobs(self) -> int:
        return len(self.jobs)

    @property
    def source(self) -> int:
        return self.jobs[0]

    @property
    def sink(self) -> int:
        return self.jobs[-1]

    def predecessors(self) -> dict:
        preds: dict = {j: [] for j in self.jobs}
        for j in self.jobs:
            for s in self.successors[j]:
                preds[s].append(j)
        return preds

    @property
    def sum_durations(self) -> int:
        return int(sum(self.durations.values()))


# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------


def _number(token: str):
    """Parse a numeric token as int when integral in form, else float."""
    try:
        return int(token)
    except ValueError:
        return float(token)


def _read_text(source) -> str:
    """Text of ``source``: a path, a file object (text or binary), bytes, or the text itself."""
    if isinstance(source, bytes):
        return source.decode("utf-8", errors="replace")
    if hasattr(source, "read"):
        data = source.read()
        return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return source
    return Path(source).read_text(encoding="utf-8", errors="replace")


def _parse_mknap_block(tokens: list, pos: int, name: str, m_first: bool):
    if m_first:  # mknap2 layout: m n, profits, capacities, matrix, optimum
        m, n = int(tokens[pos]), int(tokens[pos + 1])
        pos += 2
        profits = [_number(t) for t in tokens[pos : pos + n]]
        pos += n
        capacities = [_number(t) for t in tokens[pos : pos + m]]
        pos += m
        weights = []
        for _ in range(m):
            weights.append([_number(t) for t in tokens[pos : pos + n]])
            pos += n
        optimum = float(tokens[pos])
        pos += 1
    else:  # mknap1 layout: n m optimum, profits, matrix, capacities
        n, m = int(tokens[pos]), int(tokens[pos + 1])
        optimum = float(tokens[pos + 2])
        pos += 3
        profits = [_number(t) for t in tokens[pos : pos + n]]
        pos += n
        weights = []
        for _ in range(m):
            weights.append([_number(t) for t in tokens[pos : pos + n]])
            pos += n
        capacities = [_number(t) for t in tokens[pos : pos + m]]
        pos += m
    if pos > len(tokens) or any(len(r) != n for r in weights) or len(capacities) != m:
        raise ValueError(f"{name}: truncated data")
    return MknapInstance(name, profits, weights, capacities, optimum), pos


def read_mknap1(path: PathLike, prefix: str = "mknap1") -> list[MknapInstance]:
    """Parse OR-Library ``mknap1.txt`` (also the ``mknapcb*`` layout).

    Whitespace-separated: K, then per problem ``n m optimum``, n profits, m x n weights,
    m capacities. Instances are named ``<prefix>-00``, ``<prefix>-01``, ...
    """
    tokens = _read_text(path).split()
    k = int(tokens[0])
    pos = 1
    out = []
    for i in range(k):
        inst, pos = _parse_mknap_block(tokens, pos, f"{prefix}-{i:02d}", m_first=False)
        out.append(inst)
    if pos != len(tokens):
        raise ValueError(f"{len(tokens) - pos} tokens left over after {k} problems")
    return out


_PROBLEM_RE = re.compile(r"^\s*problem\s+(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
_NUMBER_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def read_mknap2(path: PathLike) -> list[MknapInstance]:
    """Parse OR-Library ``mknap2.txt``.

    Free-text header, then blocks opened by ``problem NAME.DAT`` and a row of ``+``; each block
    holds ``m n``, n profits, m capacities, the m x n matrix row by row, and the known optimum.
    Instances are named after the file without ``.DAT`` (e.g. ``SENTO1``).
    """
    text = _read_text(path)
    heads = list(_PROBLEM_RE.finditer(text))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end() : end]
        name = re.sub(r"\.dat$", "", head.group(1), flags=re.IGNORECASE)
        tokens = [t for t in body.split() if not set(t) <= {"+"}]
        bad = [t for t in tokens if not _NUMBER_RE.match(t)]
        if bad:
            raise ValueError(f"{name}: unexpected tokens {bad[:5]}")
        inst, pos = _parse_mknap_block(tokens, 0, name, m_first=True)
        if pos != len(tokens):
            raise ValueError(f"{name}: {len(tokens) - pos} tokens left over")
        out.append(inst)
    return out


def read_psplib(source, name: str | None = None) -> RcpspInstance:
    """Parse a PSPLIB single-mode ``.sm`` file.

    ``source`` may be a path, an open file (text or binary, e.g. from ``tarfile.extractfile``),
    bytes, or the file's text itself.
    """
    if name is None:
        if isinstance(source, (str, os.PathLike)) and not (
            isinstance(source, str) and "\n" in source
        ):
            name = Path(source).name
        elif hasattr(source, "name") and isinstance(getattr(source, "name"), str):
            name = Path(source.name).name
        else:
            name = "psplib"
    text = _read_text(source)
    lines = text.splitlines()

    horizon = None
    n_jobs = None
    n_renewable = None
    for line in lines:
        low = line.lower()
        if low.startswith("jobs") and ":" in line:
            n_jobs = int(line.split(":")[1].split()[0])
        elif low.startswith("horizon") and ":" in line:
            horizon = int(line.split(":")[1].split()[0])
        elif "renewable" in low and "nonrenewable" not in low and ":" in line:
            n_renewable = int(line.split(":")[1].split()[0])

    def section(title: str) -> list[str]:
        """Data lines of the section whose title line starts with ``title``."""
        for i, line in enumerate(lines):
            if line.strip().upper().startswith(title):
                rows = []
                for nxt in lines[i + 1 :]:
                    s = nxt.strip()
                    if s.startswith("*"):
                        break
                    if not s or s.startswith("-"):
                        continue
                    rows.append(s)
                return rows
        raise ValueError(f"{name}: section {title!r} not found")

    successors: dict = {}
    jobs: list = []
    for row in section("PRECEDENCE RELATIONS")[1:]:  # first row is the column header
        toks = [int(t) for t in row.split()]
        job, _modes, nsucc = toks[0], toks[1], toks[2]
        succ = toks[3 : 3 + nsucc]
        if len(succ) != nsucc:
            raise ValueError(f"{name}: job {job} lists {len(succ)} of {nsucc} successors")
        jobs.append(job)
        successors[job] = succ

    req_rows = section("REQUESTS/DURATIONS")
    header = req_rows[0].split()
    res_names = [f"{a}{b}" for a, b in zip(header[3::2], header[4::2])]
    durations: dict = {}
    demands: dict = {}
    for row in req_rows[1:]:
        toks = [int(t) for t in row.split()]
        job, _mode, dur = toks[0], toks[1], toks[2]
        durations[job] = dur
        demands[job] = toks[3:]

    avail = section("RESOURCEAVAILABILITIES")
    capacities = [int(t) for t in avail[1].split()]
    cap_names = [f"{a}{b}" for a, b in zip(avail[0].split()[0::2], avail[0].split()[1::2])]
    if cap_names and len(cap_names) == len(capacities):
        res_names = cap_names
    if n_renewable is not None and len(capacities) != n_renewable:
        raise ValueError(f"{name}: {len(capacities)} capacities for {n_renewable} resources")
    if len(res_names) != len(capacities):
        res_names = [f"R{i + 1}" for i in range(len(capacities))]
    if n_jobs is not None and len(jobs) != n_jobs:
        raise ValueError(f"{name}: header says {n_jobs} jobs, found {len(jobs)}")
    if set(durations) != set(jobs):
        raise ValueError(f"{name}: precedence and request sections list different jobs")
    for j in jobs:
        if len(demands[j]) != len(capacities):
            raise ValueError(f"{name}: job {j} has {len(demands[j])} demands")
    return RcpspInstance(
        name=name,
        jobs=jobs,
        durations=durations,
        successors=successors,
        demands=demands,
        capacities=capacities,
        resources=res_names,
        horizon=horizon,
    )


def read_psplib_tar(tar_path: PathLike, member: str) -> RcpspInstance:
    """Read one ``.sm`` member (by base name, e.g. ``j301_1.sm``) from a PSPLIB tarball."""
    import tarfile

    with tarfile.open(tar_path, "r:*") as tar:
        for info in tar.getmembers():
            if info.isfile() and Path(info.name).name == member:
                f = tar.extractfile(info)
                assert f is not None
                return read_psplib(io.TextIOWrapper(f, encoding="utf-8"), name=member)
    raise KeyError(f"{member} not found in {tar_path}")


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _yaml_scenario(name: str, start: str, periods: int, granularity: str) -> str:
    return (
        f'name: "{name}"\n'
        'portfolio: "."\n'
        f'horizon: {{start: "{start}", periods: {periods}, granularity: {granularity}}}\n'
        "objective:\n"
        "  discount_rate: 0\n"
        "  weights: {benefit: 1, revenue: 0, in_year_revenue: 0, alignment: 0, cost: 1}\n"
        "external: false\n"
        "solver: {name: highs, time_limit: 60, gap: 0}\n"
    )


def _write_folder(folder: PathLike, tables: dict, scenario_text: str) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for fname, (rows, columns) in tables.items():
        pd.DataFrame(rows, columns=columns).to_csv(folder / fname, index=False)
    path = folder / "scenario.yaml"
    path.write_text(scenario_text, encoding="utf-8")
    return path


def _safe_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def write_mknap_portfolio(inst: MknapInstance, folder: PathLike) -> Path:
    """Write ``inst`` as a format v1 folder; return the path of its ``scenario.yaml``.

    Two yearly periods from 2026/27; each item is a 1-period initiative that must be built in
    2026/27 and goes live in 2027/28, earning ``benefit = profit`` once (discount rate 0, no ramp).
    Constraint i is staff resource ``R{i+1}`` with a 2026/27 capacity of ``b_i`` and a demand of
    ``r_ij`` at offset 0. Engine objective = published optimum.
    """
    first = period_label(0, granularity="year")
    width = max(3, len(str(inst.n)))
    ids = [f"ITEM-{j + 1:0{width}d}" for j in range(inst.n)]
    resources = [f"R{i + 1}" for i in range(inst.m)]
    initiatives = [
        (ids[j], f"{inst.name} item {j + 1}", 1, first, first, "false", inst.profits[j])
        for j in range(inst.n)
    ]
    res_rows = [(r, "staff", 0, 0) for r in resources]
    demands = [
        (ids[j], resources[i], 0, inst.weights[i][j])
        for j in range(inst.n)
        for i in range(inst.m)
        if inst.weights[i][j] != 0
    ]
    capacity = [(resources[i], first, inst.capacities[i]) for i in range(inst.m)]
    tables = {
        "initiatives.csv": (initiatives, INITIATIVE_COLUMNS),
        "resources.csv": (res_rows, RESOURCE_COLUMNS),
        "demands.csv": (demands, DEMAND_COLUMNS),
        "capacity.csv": (capacity, CAPACITY_COLUMNS),
    }
    return _write_folder(folder, tables, _yaml_scenario(inst.name, first, 2, "year"))


def expected_objective_psplib(H: int, makespan: int) -> float:
    """Engine objective of a PSPLIB portfolio with horizon ``H + 1`` periods and a given makespan.

    SINK starts at ``makespan``, goes live at ``makespan + 1`` and earns 1 per period up to
    period ``H`` inclusive: ``H - makespan``.
    """
    return float(H - makespan)


def _job_id(job: int) -> str:
    return f"J{job:03d}"


def serial_sgs(inst: RcpspInstance) -> tuple[int, dict]:
    """A feasible schedule by the serial schedule-generation scheme; returns (makespan, starts).

    Tries a few deterministic priority rules (latest finish, latest start, most total successors,
    shortest duration, job number) and keeps the shortest schedule. Starts are for the
    real jobs and the sink (dummy source at 0). Used only to bound the start windows.
    """
    src, snk = inst.source, inst.sink
    preds = inst.predecessors()
    order = _topological_order(inst)
    dur = dict(inst.durations)
    H = max(1, inst.sum_durations)
    es: dict = {}
    for j in order:
        es[j] = max((es[p] + dur[p] for p in preds[j]), default=0)
    ls: dict = {}
    for j in reversed(order):
        ls[j] = min((ls[s] for s in inst.successors[j]), default=H) - dur[j]
    n_succ = {j: len(_descendants(inst, j)) for j in inst.jobs}
    rules = {
        "lft": lambda j: (ls[j] + dur[j], j),
        "lst": lambda j: (ls[j], j),
        "mts": lambda j: (-n_succ[j], ls[j], j),
        "spt": lambda j: (dur[j], ls[j], j),
        "est": lambda j: (es[j], ls[j], j),
    }
    best = None
    K = len(inst.capacities)
    for key in rules.values():
        free = [[inst.capacities[k]] * (H + 1) for k in range(K)]
        start: dict = {}
        while len(start) < len(inst.jobs):
            eligible = [j for j in inst.jobs if j not in start and all(p in start for p in preds[j])]
            j = min(eligible, key=key)
            t = max((start[p] + dur[p] for p in preds[j]), default=0)
            while not all(
                free[k][u] >= inst.demands[j][k] for k in range(K) for u in range(t, t + dur[j])
            ):
                t += 1
            for k in range(K):
                for u in range(t, t + dur[j]):
                    free[k][u] -= inst.demands[j][k]
            start[j] = t
        makespan = start[snk]
        if best is None or makespan < best[0]:
            best = (makespan, start)
    assert best is not None
    return best[0], {j: s for j, s in best[1].items() if j != src}


def _descendants(inst: RcpspInstance, j: int) -> set:
    seen: set = set()
    stack = list(inst.successors[j])
    while stack:
        s = stack.pop()
        if s not in seen:
            seen.add(s)
            stack.extend(inst.successors[s])
    return seen


def write_psplib_portfolio(
    inst: RcpspInstance, folder: PathLike, upper_bound: int | None = None
) -> Path:
    """Write ``inst`` as a format v1 folder; return the path of its ``scenario.yaml``.

    H = sum of durations; horizon H + 1 quarters from 2026/27 Q1. Real jobs are mandatory
    initiatives ``J002``, ``J003``, ...; the dummy source is dropped; the dummy sink becomes
    ``SINK`` (duration 1, mandatory, benefit 1 per period after go-live), so the engine's
    objective is ``H - makespan`` (:func:`expected_objective_psplib`). CPM windows (forward pass
    from 0, backward pass from H) give ``earliest_start`` and ``latest_finish``.

    ``upper_bound``: a makespan known to be achievable (e.g. from :func:`serial_sgs`). If given,
    the backward pass starts from it instead of H, which shrinks the start windows (and the
    time-indexed model) a lot while keeping every optimal schedule; the horizon stays H + 1
    periods, so the expected objective is still ``H - makespan``.
    """
    src, snk = inst.source, inst.sink
    if inst.durations[src] != 0 or inst.durations[snk] != 0:
        raise ValueError(f"{inst.name}: source and sink must be dummy jobs of duration 0")
    zero = [j for j in inst.jobs if j not in (src, snk) and inst.durations[j] == 0]
    if zero:
        # Format v1 needs duration >= 1; such jobs would need contracting. j30 has none.
        raise ValueError(f"{inst.name}: jobs of duration 0 besides source/sink: {zero}")
    if any(inst.demands[j][k] for j in (src, snk) for k in range(len(inst.capacities))):
        raise ValueError(f"{inst.name}: dummy jobs must not demand resources")

    H = inst.sum_durations
    T = H + 1
    real = [j for j in inst.jobs if j not in (src, snk)]
    preds = inst.predecessors()
    dur = {j: inst.durations[j] for j in real}
    dur[snk] = 1  # SINK as a 1-period initiative

    order = _topological_order(inst)
    # Forward pass: earliest start (source dropped, so its successors start at 0).
    es: dict = {}
    for j in order:
        if j == src:
            continue
        es[j] = max((es[p] + dur[p] for p in preds[j] if p != src), default=0)
    # Backward pass: latest start with SINK starting at period H at the latest.
    ub = H if upper_bound is None else int(upper_bound)
    if not 0 <= ub <= H:
        raise ValueError(f"{inst.name}: upper_bound {ub} outside 0..{H}")
    ls: dict = {snk: ub}
    for j in reversed(order):
        if j in (src, snk):
            continue
        ls[j] = min((ls[s] for s in inst.successors[j]), default=ub) - dur[j]
    for j in real + [snk]:
        if not 0 <= es[j] <= ls[j]:
            raise ValueError(f"{inst.name}: empty CPM window for job {j}")

    def jid(j: int) -> str:
        return "SINK" if j == snk else _job_id(j)

    stem = Path(inst.name).stem
    lab = [period_label(t, granularity="quarter") for t in range(T)]
    initiatives = [
        (jid(j), f"{stem} job {j}" if j != snk else f"{stem} sink", dur[j],
         lab[es[j]], lab[ls[j] + dur[j] - 1], "true", 1 if j == snk else 0)
        for j in real + [snk]
    ]
    res_rows = [(r, "staff", 0, 0) for r in inst.resources]
    demands = [
        (jid(j), r, "build", inst.demands[j][k])
        for j in real
        for k, r in enumerate(inst.resources)
        if inst.demands[j][k] != 0
    ]
    capacity = [(r, lab[t], inst.capacities[k]) for k, r in enumerate(inst.resources) for t in range(T)]
    deps = [
        (jid(j), jid(s), "finish_to_start", 0)
        for j in real
        for s in inst.successors[j]
    ]
    tables = {
        "initiatives.csv": (initiatives, INITIATIVE_COLUMNS),
        "resources.csv": (res_rows, RESOURCE_COLUMNS),
        "demands.csv": (demands, DEMAND_COLUMNS),
        "capacity.csv": (capacity, CAPACITY_COLUMNS),
        "dependencies.csv": (deps, DEPENDENCY_COLUMNS),
    }
    scen_name = _safe_id(stem)
    return _write_folder(folder, tables, _yaml_scenario(scen_name, lab[0], T, "quarter"))


def _topological_order(inst: RcpspInstance) -> list:
    preds = inst.predecessors()
    indeg = {j: len(preds[j]) for j in inst.jobs}
    ready = [j for j in inst.jobs if indeg[j] == 0]
    order = []
    while ready:
        j = ready.pop(0)
        order.append(j)
        for s in inst.successors[j]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(order) != len(inst.jobs):
        raise ValueError(f"{inst.name}: precedence graph has a cycle")
    return order
