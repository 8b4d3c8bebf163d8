"""Random portfolios of realistic shape, written as format-v1 files: for tests and benchmarks.

`random_case(seed)` draws a portfolio a trust could plausibly hand in: 10 to 40 initiatives over
6 to 12 periods of one granularity (year, quarter or month, starting anywhere in a financial
year), capital and revenue limits per financial year, per period or both, one to three staff
roles with per-period limits (sometimes a yearly one too) and external staff to buy, demands by
build / run / k offsets, dependencies of all four types, central funding that lands on a
capacity row (often gated on a milestone), mandatory and forced items, Green Book discounting and
random weights. Budgets are cut to a share of what the initiatives would need, so that ranking
is often wrong. The same seed gives the same case on every machine (numpy's PCG64).

`case.write(folder)` writes CSV files and a scenario.yaml and returns the scenario path;
`case.shuffled(seed)` is the same case with the rows of every table in another order.
`count_starts(case)` gives the number of plans brute force would enumerate.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from prioritiser.periods import Granularity, Horizon, fy_label

ROLES = ("developer", "analyst", "clinical_time", "trainer")
GRANULARITIES = ("year", "quarter", "month")


@dataclasses.dataclass
class Case:
    seed: int
    tables: dict[str, pd.DataFrame]
    scenario: dict

    @property
    def shape(self) -> str:
        h = self.scenario["horizon"]
        return f"{len(self.tables['initiatives'])} initiatives, {h['periods']} {h['granularity']}s from {h['start']}"

    def write(self, folder: str | Path) -> Path:
        folder = Path(folder)
        port = folder / "portfolio"
        port.mkdir(parents=True, exist_ok=True)
        for name, frame in self.tables.items():
            if len(frame):
                frame.to_csv(port / f"{name}.csv", index=False)
        path = folder / "scenario.yaml"
        path.write_text(yaml.safe_dump({**self.scenario, "portfolio": "portfolio"}, sort_keys=False))
        return path

    def shuffled(self, seed: int) -> "Case":
        rng = np.random.default_rng(seed)
        tables = {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True) for k, v in self.tables.items()}
        return dataclasses.replace(self, tables=tables)

    def with_scenario(self, **changes) -> "Case":
        return dataclasses.replace(self, scenario={**self.scenario, **changes})


def _horizon(rng) -> Horizon:
    gran = Granularity(GRANULARITIES[rng.integers(3)])
    T = int(rng.integers(6, 13))
    year = 2026
    if gran is Granularity.YEAR:
        start = fy_label(year)
    elif gran is Granularity.QUARTER:
        start = f"{fy_label(year)} Q{rng.integers(1, 5)}"
    else:
        month = int(rng.integers(4, 16))  # April 2026 .. March 2027
        start = f"{year + (month > 12)}-{(month - 1) % 12 + 1:02d}"
    return Horizon(start, T, gran)


def _initiatives(rng, h: Horizon, n: int, narrow: bool) -> pd.DataFrame:
    T, P = h.T, h.per_year
    rows = []
    for k in range(n):
        d = int(rng.integers(1, min(T - 1, {1: 3, 4: 4, 12: 6}[P]) + 1))
        es = int(rng.integers(0, T // 2 + 1)) if rng.random() < 0.35 else 0
        slack = 0 if narrow else (int(rng.integers(0, T)) if rng.random() < 0.35 else None)
        lf = None if slack is None else es + d - 1 + slack
        capital = float(rng.choice([0, 1, 1, 1])) * round(float(rng.lognormal(12, 0.8)), -3)
        revenue_cost = round(float(rng.uniform(0, 0.3)) * (capital or 80_000), -2)
        spend = capital + revenue_cost
        rows.append({
            "id": f"I{k:02d}", "name": f"Initiative {k}", "duration": d,
            "earliest_start": h.label(es), "latest_finish": "" if lf is None else h.label(lf),
            "mandatory": "true" if rng.random() < 0.03 else "false",
            "capital_cost": capital, "revenue_cost": revenue_cost,
            "running_cost": round(float(rng.choice([0, 0, 0.01, 0.03])) * spend * 4 / P, -1),
            "benefit": round(float(rng.uniform(0.3, 2.5)) * spend / T, -1),
            "revenue": round(float(rng.choice([0, 0, 0, 0.2, 0.5])) * spend / T, -1),
            "ramp": int(rng.integers(0, 3)),
            "score_trust": int(rng.integers(0, 6)), "score_ldr": int(rng.integers(0, 6)),
        })
    return pd.DataFrame(rows)


def _staff(rng, h: Horizon, ini: pd.DataFrame, external: bool):
    roles = [str(r) for r in rng.choice(ROLES, size=int(rng.integers(1, 4)), replace=False)]
    resources, demands = [], []
    for r in roles:
        buyable = external and rng.random() < 0.6
        resources.append({"resource": r, "kind": "staff",
                          "external_cost": round(float(rng.uniform(2_000, 20_000)) * 4 / h.per_year, -1),
                          "external_max": float(rng.choice([1, 2, 3])) if buyable else 0.0})
    offsets = ["build", "build", "build", "run", 0, 1, 2]
    for iid in ini["id"]:
        for r in roles:
            if rng.random() < 0.5:
                demands.append({"initiative": iid, "resource": r, "offset": offsets[rng.integers(len(offsets))],
                                "amount": 0.5 * int(rng.integers(1, 7))})
        if rng.random() < 0.1:
            demands.append({"initiative": iid, "resource": str(rng.choice(["capital", "revenue"])),
                            "offset": str(rng.choice(["build", "run", "0"])),
                            "amount": round(float(rng.uniform(1_000, 30_000)), -2)})
    return pd.DataFrame(resources), pd.DataFrame(demands, columns=["initiative", "resource", "offset", "amount"])


def _capacity(rng, h: Horizon, ini: pd.DataFrame, resources: pd.DataFrame, demands: pd.DataFrame) -> pd.DataFrame:
    """Money limits per year, per period or both; staff per period (and now and then per year)."""
    T = h.T
    years = [(fy, [p for p in range(T) if h.fy_label_of(p) == fy]) for fy in h.fy_labels]
    need = {"capital": ini["capital_cost"].sum() / T,
            "revenue": (ini["revenue_cost"].sum() + ini["running_cost"].sum() * T / 2) / T}
    for r in resources["resource"]:
        need[r] = demands.loc[demands["resource"] == r, "amount"].sum() / 2
    rows = []
    for r, per_period in need.items():
        staff = r not in ("capital", "revenue")
        mode = "period" if staff and rng.random() < 0.7 else str(rng.choice(["year", "period", "both"]))
        share = float(rng.uniform(0.15, 0.6))
        rnd = (lambda v: 0.5 * round(v * 2)) if staff else (lambda v: round(v, -3))
        if mode in ("period", "both") or h.granularity is Granularity.YEAR:
            rows += [{"resource": r, "period": h.label(p), "amount": rnd(share * per_period * rng.uniform(0.6, 1.4))}
                     for p in range(T)]
        if mode in ("year", "both") and h.granularity is not Granularity.YEAR:
            rows += [{"resource": r, "period": fy, "amount": rnd(share * per_period * len(ps) * 1.2)}
                     for fy, ps in years if len(ps) >= 2 or not staff]
    return pd.DataFrame(rows)


def _dependencies(rng, ini: pd.DataFrame, forced: set) -> pd.DataFrame:
    ids = list(ini["id"])
    n = len(ids)
    rows = []
    for _ in range(int(rng.integers(0, n // 2 + 1))):
        a, b = sorted(rng.choice(n, size=2, replace=False))
        typ = str(rng.choice(["finish_to_start", "finish_to_start", "start_to_start", "requires", "excludes"]))
        if typ == "excludes" and ({ids[a], ids[b]} & forced):
            continue
        if typ != "excludes" and ids[b] in forced:
            continue  # a must-have successor would drag its chain in: allowed, but kept rare
        rows.append({"predecessor": ids[a], "successor": ids[b], "type": typ, "lag": int(rng.integers(0, 3))})
    frame = pd.DataFrame(rows, columns=["predecessor", "successor", "type", "lag"])
    return frame.drop_duplicates(["predecessor", "successor"]).reset_index(drop=True)


def _funding(rng, h: Horizon, ini: pd.DataFrame, capacity: pd.DataFrame) -> pd.DataFrame:
    money = capacity[capacity["resource"].isin(["capital", "revenue"])].drop_duplicates(["resource", "period"])
    rows = []
    for _ in range(int(rng.integers(0, 3))):
        row = money.iloc[int(rng.integers(len(money)))]
        milestone = str(ini["id"].iloc[rng.integers(len(ini))]) if rng.random() < 0.7 else ""
        rows.append({"source": f"central-{len(rows)}", "resource": row["resource"], "period": row["period"],
                     "amount": round(float(row["amount"]) * float(rng.uniform(0.2, 1.0)), -3), "milestone": milestone})
    frame = pd.DataFrame(rows, columns=["source", "resource", "period", "amount", "milestone"])
    return frame.drop_duplicates(["resource", "period"]).reset_index(drop=True)


def random_case(seed: int, gap: float = 0.0, time_limit: float = 60.0, narrow: bool | None = None,
                initiatives: tuple[int, int] = (10, 40)) -> Case:
    """A random portfolio (see the module docstring). `narrow`: every initiative has one allowed
    start (small enough for brute force when there are few initiatives). `initiatives`: the range
    of their number (not for narrow cases, which have 10 to 12)."""
    rng = np.random.default_rng(seed)
    h = _horizon(rng)
    narrow = bool(rng.random() < 0.1) if narrow is None else narrow
    n = int(rng.integers(10, 13)) if narrow else int(rng.integers(initiatives[0], initiatives[1] + 1))
    ini = _initiatives(rng, h, n, narrow)
    external = bool(rng.random() < 0.75)
    resources, demands = _staff(rng, h, ini, external)
    capacity = _capacity(rng, h, ini, resources, demands)
    ids = list(ini["id"])
    force_in = [str(x) for x in rng.choice(ids, size=int(rng.random() < 0.15), replace=False)]
    mandatory = set(ini.loc[ini["mandatory"] == "true", "id"])
    rest = [i for i in ids if i not in force_in and i not in mandatory]
    force_out = [str(x) for x in rng.choice(rest, size=int(rng.random() < 0.15), replace=False)]
    forced = mandatory | set(force_in)
    tables = {"initiatives": ini, "resources": resources, "demands": demands, "capacity": capacity,
              "dependencies": _dependencies(rng, ini, forced), "funding": _funding(rng, h, ini, capacity)}
    scenario = {
        "name": f"random-{seed}",
        "horizon": {"start": h.start, "periods": h.T, "granularity": h.granularity.value},
        "objective": {"discount_rate": float(rng.choice([0.0, 0.035, 0.035, 0.1])),
                      "weights": {"benefit": 1.0, "revenue": float(rng.choice([0.0, 1.0])),
                                  "in_year_revenue": float(rng.choice([0.0, 0.0, 0.5])),
                                  "alignment": float(rng.choice([0.0, 0.0, 5_000.0])),
                                  "cost": float(rng.choice([0.8, 1.0, 1.0, 1.2]))},
                      "alignment_weights": {"trust": 0.6, "ldr": 0.4}},
        "external": external, "force_in": force_in, "force_out": force_out,
        "solver": {"name": "highs", "time_limit": float(time_limit), "gap": float(gap)},
    }
    return Case(seed, tables, scenario)
