"""Unit tests of the benchmark converters (benchmarks/converters.py).

These do not need the engine: the converters live outside the package and import nothing from it,
so the tests pass even while the package is missing or broken.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pandas as pd
import pytest

import converters as conv  # benchmarks/ is on pytest's pythonpath (pyproject.toml)

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "benchmarks"
MKNAP = BENCH / "orlib-mknap"
J30_TAR = BENCH / "psplib-j30" / "j30.sm.tar.gz"
J30_OPT = BENCH / "psplib-j30" / "j30_optimum.csv"

MKNAP1_OPTIMA = [3800, 8706.1, 4015, 6120, 12400, 10618, 16537]


@pytest.fixture(scope="module")
def published():
    return pd.read_csv(MKNAP / "published_values.csv")


@pytest.fixture(scope="module")
def mknap1():
    return conv.read_mknap1(MKNAP / "mknap1.txt")


@pytest.fixture(scope="module")
def mknap2():
    return conv.read_mknap2(MKNAP / "mknap2.txt")


@pytest.fixture(scope="module")
def j301_1():
    return conv.read_psplib_tar(J30_TAR, "j301_1.sm")


# ---------------------------------------------------------------- period labels


@pytest.mark.parametrize(
    "index, granularity, label",
    [
        (0, "quarter", "2026/27 Q1"),
        (3, "quarter", "2026/27 Q4"),
        (4, "quarter", "2027/28 Q1"),
        (158, "quarter", "2065/66 Q3"),
        (0, "year", "2026/27"),
        (1, "year", "2027/28"),
        (73, "year", "2099/00"),
        (0, "month", "2026-04"),
        (8, "month", "2026-12"),
        (9, "month", "2027-01"),
    ],
)
def test_period_label(index, granularity, label):
    assert conv.period_label(index, granularity=granularity) == label


# ---------------------------------------------------------------- mknap parsers


def test_mknap1_counts_and_optima(mknap1, published):
    assert len(mknap1) == 7
    assert [i.optimum for i in mknap1] == pytest.approx(MKNAP1_OPTIMA, abs=1e-9)
    ref = published[published["set"] == "mknap1"].reset_index(drop=True)
    assert [i.name for i in mknap1] == list(ref["name"])
    assert [i.n for i in mknap1] == list(ref["n"])
    assert [i.m for i in mknap1] == list(ref["m"])
    for inst in mknap1:
        assert len(inst.weights) == inst.m
        assert all(len(row) == inst.n for row in inst.weights)


def test_mknap1_first_problem_values(mknap1):
    first = mknap1[0]
    assert (first.n, first.m) == (6, 10)
    assert first.profits == [100, 600, 1200, 2400, 500, 2000]
    assert first.weights[0] == [8, 12, 13, 64, 22, 41]
    assert first.capacities == [80, 96, 20, 36, 44, 48, 10, 18, 22, 24]
    assert mknap1[1].profits[0] == pytest.approx(600.1)


def test_mknap2_counts_and_optima(mknap2, published):
    assert len(mknap2) == 48
    ref = published[published["set"] == "mknap2"].reset_index(drop=True)
    assert len(ref) == 48
    assert [i.name for i in mknap2] == list(ref["name"])
    assert [i.optimum for i in mknap2] == pytest.approx(list(ref["published_value"]), abs=1e-9)
    assert [i.n for i in mknap2] == list(ref["n"])
    assert [i.m for i in mknap2] == list(ref["m"])
    for inst in mknap2:
        assert len(inst.profits) == inst.n
        assert len(inst.capacities) == inst.m
        assert all(len(row) == inst.n for row in inst.weights)


def test_mknap2_weing1_values(mknap2):
    weing1 = next(i for i in mknap2 if i.name == "WEING1")
    assert (weing1.m, weing1.n) == (2, 28)
    assert weing1.profits[:3] == [1898, 440, 22507]
    assert weing1.capacities == [600, 600]
    assert weing1.weights[1][-1] == 150
    assert weing1.optimum == 141278


# ---------------------------------------------------------------- psplib parser


def test_psplib_j301_1(j301_1):
    inst = j301_1
    assert inst.n_jobs == 32
    assert inst.resources == ["R1", "R2", "R3", "R4"]
    assert inst.capacities == [12, 13, 4, 12]
    assert inst.horizon == 158 == inst.sum_durations
    assert inst.successors[1] == [2, 3, 4]
    assert inst.successors[32] == []
    assert inst.durations[2] == 8 and inst.demands[2] == [4, 0, 0, 0]
    assert inst.durations[1] == 0 and inst.durations[32] == 0


def test_psplib_accepts_text_path_and_fileobj(tmp_path, j301_1):
    with tarfile.open(J30_TAR) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/j301_1.sm"))
        raw = tar.extractfile(member).read()
    text = raw.decode()
    path = tmp_path / "j301_1.sm"
    path.write_text(text)
    for source in (text, path, str(path), io.BytesIO(raw), io.StringIO(text)):
        inst = conv.read_psplib(source)
        assert inst.durations == j301_1.durations
        assert inst.successors == j301_1.successors
        assert inst.demands == j301_1.demands
        assert inst.capacities == j301_1.capacities
    assert conv.read_psplib(path).name == "j301_1.sm"


def test_psplib_whole_tarball_parses():
    names = set(pd.read_csv(J30_OPT)["instance"])
    seen = 0
    with tarfile.open(J30_TAR) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            inst = conv.read_psplib(tar.extractfile(member), name=Path(member.name).name)
            assert inst.name in names
            assert inst.n_jobs == 32 and len(inst.capacities) == 4
            # j30 has no zero-duration jobs other than the dummies
            assert all(inst.durations[j] >= 1 for j in inst.jobs[1:-1])
            seen += 1
    assert seen == 480


# ---------------------------------------------------------------- writers


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype={"offset": str})


def test_write_mknap_portfolio(tmp_path, mknap1):
    inst = mknap1[1]
    scen = conv.write_mknap_portfolio(inst, tmp_path / "mk")
    folder = scen.parent
    assert scen.name == "scenario.yaml"
    ini = _read(folder, "initiatives.csv")
    assert list(ini.columns) == conv.INITIATIVE_COLUMNS
    assert len(ini) == inst.n and ini["id"].is_unique
    assert (ini["duration"] == 1).all()
    assert (ini["earliest_start"] == "2026/27").all() and (ini["latest_finish"] == "2026/27").all()
    assert not ini["mandatory"].any()
    assert ini["benefit"].tolist() == pytest.approx(inst.profits)
    assert ini["benefit"].sum() == pytest.approx(sum(inst.profits))

    res = _read(folder, "resources.csv")
    assert list(res.columns) == ["resource", "kind", "external_cost", "external_max"]
    assert res["resource"].tolist() == [f"R{i + 1}" for i in range(inst.m)]
    assert (res["kind"] == "staff").all() and (res["external_max"] == 0).all()

    dem = _read(folder, "demands.csv")
    assert list(dem.columns) == ["initiative", "resource", "offset", "amount"]
    assert (dem["offset"] == "0").all()
    total = dem.groupby("resource")["amount"].sum()
    for i in range(inst.m):
        assert total.get(f"R{i + 1}", 0) == pytest.approx(sum(inst.weights[i]))

    cap = _read(folder, "capacity.csv")
    assert list(cap.columns) == ["resource", "period", "amount"]
    assert (cap["period"] == "2026/27").all()
    assert cap["amount"].tolist() == pytest.approx(inst.capacities)

    text = scen.read_text()
    for needle in (
        'portfolio: "."',
        'start: "2026/27"',
        "periods: 2",
        "granularity: year",
        "discount_rate: 0",
        "external: false",
        "name: highs",
        "gap: 0",
    ):
        assert needle in text


def test_write_psplib_portfolio(tmp_path, j301_1):
    inst = j301_1
    scen = conv.write_psplib_portfolio(inst, tmp_path / "ps")
    folder = scen.parent
    H = inst.sum_durations
    T = H + 1
    labels = [conv.period_label(t) for t in range(T)]
    pos = {label: t for t, label in enumerate(labels)}

    ini = _read(folder, "initiatives.csv").set_index("id")
    assert len(ini) == 31  # 30 real jobs + SINK; the source is dropped
    assert ini["mandatory"].all()
    sink = ini.loc["SINK"]
    assert sink["duration"] == 1 and sink["benefit"] == 1
    assert ini.drop(index="SINK")["benefit"].eq(0).all()
    assert pos[sink["latest_finish"]] == H  # the sink may start as late as period H
    # earliest start of SINK = critical path length <= published optimum 43
    assert pos[sink["earliest_start"]] == 38
    for jid, row in ini.iterrows():
        es, lf = pos[row["earliest_start"]], pos[row["latest_finish"]]
        assert 0 <= es <= lf - row["duration"] + 1

    dep = _read(folder, "dependencies.csv")
    assert list(dep.columns) == ["predecessor", "successor", "type", "lag"]
    assert (dep["type"] == "finish_to_start").all() and (dep["lag"] == 0).all()
    n_arcs = sum(len(inst.successors[j]) for j in inst.jobs[1:-1])
    assert len(dep) == n_arcs
    assert set(dep.loc[dep["successor"] == "SINK", "predecessor"]) == {"J029", "J030", "J031"}
    assert set(dep["predecessor"]) | set(dep["successor"]) <= set(ini.index)

    dem = _read(folder, "demands.csv")
    assert (dem["offset"] == "build").all()
    assert dem.loc[dem["initiative"] == "J002"].set_index("resource")["amount"].to_dict() == {"R1": 4}

    cap = _read(folder, "capacity.csv")
    assert len(cap) == 4 * T
    assert cap["period"].iloc[:T].tolist() == labels
    assert cap.groupby("resource")["amount"].max().to_dict() == {"R1": 12, "R2": 13, "R3": 4, "R4": 12}

    res = _read(folder, "resources.csv")
    assert res["resource"].tolist() == ["R1", "R2", "R3", "R4"]

    text = scen.read_text()
    assert f"periods: {T}" in text and 'start: "2026/27 Q1"' in text and "granularity: quarter" in text
    assert conv.expected_objective_psplib(H, 43) == H - 43


def test_psplib_rejects_zero_duration_job(tmp_path, j301_1):
    import copy

    inst = copy.deepcopy(j301_1)
    inst.durations[5] = 0
    with pytest.raises(ValueError, match="duration 0"):
        conv.write_psplib_portfolio(inst, tmp_path / "bad")


@pytest.mark.parametrize("name", ["j301_1.sm", "j3013_1.sm", "j3048_10.sm"])
def test_serial_sgs_is_feasible_and_bounds_the_optimum(name):
    inst = conv.read_psplib_tar(J30_TAR, name)
    optimum = int(pd.read_csv(J30_OPT).set_index("instance").at[name, "optimal_makespan"])
    makespan, start = conv.serial_sgs(inst)
    assert optimum <= makespan <= inst.sum_durations
    assert start[inst.sink] == makespan
    for j in inst.jobs[1:]:
        for s in inst.successors[j]:
            assert start[s] >= start[j] + inst.durations[j]
    for k, cap in enumerate(inst.capacities):
        use = [0] * (makespan + 1)
        for j, s in start.items():
            for t in range(s, s + inst.durations[j]):
                use[t] += inst.demands[j][k]
        assert max(use) <= cap


def test_write_psplib_portfolio_upper_bound(tmp_path, j301_1):
    ub, _ = conv.serial_sgs(j301_1)
    scen = conv.write_psplib_portfolio(j301_1, tmp_path / "ub", upper_bound=ub)
    H = j301_1.sum_durations
    pos = {conv.period_label(t): t for t in range(H + 1)}
    ini = _read(scen.parent, "initiatives.csv").set_index("id")
    assert pos[ini.at["SINK", "latest_finish"]] == ub
    assert f"periods: {H + 1}" in scen.read_text()  # horizon (and so the objective) unchanged
    for _, row in ini.iterrows():
        assert pos[row["latest_finish"]] <= ub
    with pytest.raises(ValueError):
        conv.write_psplib_portfolio(j301_1, tmp_path / "bad", upper_bound=H + 1)
