"""Random portfolios of realistic shape, written as format-v1 files: for tests and benchmarks.

`random_case(seed)` draws a portfolio a trust could plausibly hand in: 10 to 40 initiatives over
6 to 12 periods of one granularity (year, quarter or month, starting anywhere in a financial
year), capital and revenue limits per financial year, per period or both, one to three staff
roles with per-period limits (sometimes a yearly one too) and external staff to buy, demands by
build / run / k offsets, dependencies of all four types, central funding that lands on a
capacity row (often gated on a milestone), mandatory and forced items, Green Book discounting and
random weights. Budgets are cut to a share of what the initiatives would need, so that ranking
is often wrong. The same seed gives the same case on every machine (numpy's PCG64).

With `cycle=True` a case also has the planning cycle of format v1.1, drawn from a random stream of
its own so that the rest of the case is as without it: initiatives in progress (with stop costs,
`allow_stopping` on or off), training rows (trainer, clinical time, bank and locum pay over 1-3
periods before go-live) and an approved plan (`approved.csv`: a random plan, some starts outside
the new windows, in-progress ones started before the horizon) with a `changes.keep` mode,
`max_moved` and penalties. Work in flight is budgeted (its build costs and staff are added to the
limits covering them, as a trust's plan for the year would be) and has no unfinished predecessors.

With `money=True` a case also has the money rules of format v1.1 (issue 13), again from a stream of
its own: a cash-releasing share on most initiatives, categories, optimism bias on in most cases (a
`by_category` default, a category's own uplifts, per-initiative overrides; initiatives with a latest
finish keep their duration, so that no deadline is made impossible) and one or two targets per case
(cash-releasing savings or in-year revenue in a financial year of the horizon) set at a share of what
every initiative together could reach, so that they often bind and are sometimes out of reach.

`case.write(folder)` writes CSV files and a scenario.yaml and returns the scenario path;
`case.shuffled(seed)` is the same case with the rows of every table in another order.
`count_starts(case)` gives the number of plans brute force would enumerate.
"""
from __future__ import annotations

import dataclasses
import re
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
    approved: pd.DataFrame | None = None  # the approved plan (id, start), written as approved.csv

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
        scenario = {**self.scenario, "portfolio": "portfolio"}
        if self.approved is not None:
            self.approved.to_csv(folder / "approved.csv", index=False)
            scenario["approved_plan"] = "approved.csv"
        path = folder / "scenario.yaml"
        path.write_text(yaml.safe_dump(scenario, sort_keys=False))
        return path

    def shuffled(self, seed: int) -> "Case":
        rng = np.random.default_rng(seed)
        tables = {k: v.iloc[rng.permutation(len(v))].reset_index(drop=True) for k, v in self.tables.items()}
        return dataclasses.replace(self, tables=tables)

    def with_scenario(self, **changes) -> "Case":
        return dataclasses.replace(self, scenario={**self.scenario, **changes})

    def without_must_haves(self) -> "Case":
        """The same case with no initiative mandatory and nothing forced in."""
        tables = dict(self.tables)
        tables["initiatives"] = tables["initiatives"].assign(mandatory="false")
        return dataclasses.replace(self, tables=tables, scenario={**self.scenario, "force_in": []})


_FITS_NOWHERE = re.compile(r"^(\S+) is (?:mandatory|forced in by the scenario) but fits at no start")


def run_unless_unplaceable(case: Case, folder: Path):
    """`prioritiser.run` of the case, or None when validation rejects it only because must-haves fit
    at no start. That claim is confirmed here with the independent checker, not believed: with every
    must-have flag lifted, each named initiative alone (nothing else selected) fails the checker at
    every period of the horizon. (The checker is given no purchases, while validation allowed all
    external staff: a start that fits only with purchases is caught by the solvers' cases, not here.)"""
    import prioritiser
    from prioritiser.check import check_plan

    folder = Path(folder)
    try:
        return prioritiser.run(case.write(folder / "case"))
    except prioritiser.InputError as exc:
        errors = [i for i in exc.issues if i.severity == "error"]
        named = [_FITS_NOWHERE.match(i.message) for i in errors]
        if not errors or not all(named):
            raise
    relaxed = prioritiser.load(case.without_must_haves().write(folder / "relaxed"))
    for iid in {m.group(1) for m in named}:
        for start in range(relaxed.horizon.T):
            assert not check_plan(relaxed, {iid: start}).ok, f"{iid} fits alone at {start}: validation said nowhere"
    return None


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


def _training(rng, ini: pd.DataFrame, resources: pd.DataFrame) -> pd.DataFrame:
    """Staff to train before go-live for some initiatives; trainer and clinical time get hours_per_fte
    (those not among the case's roles exist implicitly, without limits)."""
    rows = []
    for iid in ini["id"]:
        if rng.random() < 0.3:
            rows.append({"initiative": iid, "staff_group": str(rng.choice(["nurses", "doctors", "admin"])),
                         "headcount": float(rng.choice([10, 40, 120])), "hours_each": float(rng.choice([1, 2, 4])),
                         "bank_locum_share": float(rng.choice([0.0, 0.1, 0.25])),
                         "bank_rate": float(rng.choice([0, 25, 80])),
                         "trainees_per_trainer": float(rng.choice([6, 10])),
                         "periods_before_go_live": int(rng.integers(1, 4))})
    if len(resources):
        hours = {"trainer": 1650.0, "clinical_time": float(rng.choice([1500, 1650]))}
        resources["hours_per_fte"] = [hours.get(r, np.nan) for r in resources["resource"]]
    return pd.DataFrame(rows, columns=["initiative", "staff_group", "headcount", "hours_each", "bank_locum_share",
                                       "bank_rate", "trainees_per_trainer", "periods_before_go_live"])


def _in_progress(rng, h: Horizon, ini: pd.DataFrame) -> None:
    """A few initiatives already being built: they start in the first period; stopping one costs up to
    twice its first period's build revenue."""
    for k in ini.index[rng.random(len(ini)) < 0.12]:
        d = int(ini.at[k, "duration"])
        ini.at[k, "earliest_start"] = h.label(0)
        ini.at[k, "latest_finish"] = "" if rng.random() < 0.7 else h.label(d - 1 + int(rng.integers(0, 3)))
        ini.at[k, "status"] = "in_progress"
        ini.at[k, "stop_cost"] = round(float(rng.uniform(0, 2)) * ini.at[k, "revenue_cost"] / d, -2)


def _train_use(h: Horizon, resources: pd.DataFrame, q, d: int, use: dict) -> None:
    """Add a training row of work in flight to `use` (format v1.1's arithmetic, inside the horizon)."""
    hours = q.hours_each * q.headcount
    k = int(q.periods_before_go_live)
    per_fte = dict(zip(resources["resource"], resources.get("hours_per_fte", [])))
    for res, total in (("trainer", hours / q.trainees_per_trainer), ("clinical_time", hours * (1 - q.bank_locum_share)),
                       ("revenue", hours * q.bank_locum_share * q.bank_rate)):
        amount = total / k if res == "revenue" else total / k / ((per_fte.get(res) or 1650.0) / h.per_year)
        for p in range(d - k, d):
            if 0 <= p < h.T:
                use[res, p] = use.get((res, p), 0.0) + amount


def _budget_for_flight(h: Horizon, tables: dict) -> None:
    """Budgets already hold what work in flight is committed to (its build costs and build-time staff):
    added to every capacity row covering those periods, as a trust's plan for the year would."""
    ini, dem, cap = tables["initiatives"], tables["demands"], tables["capacity"]
    use: dict[tuple[str, int], float] = {}
    for r in ini[ini["status"] == "in_progress"].itertuples(index=False):
        d = int(r.duration)
        spend = [("capital", r.capital_cost / d), ("revenue", r.revenue_cost / d)]
        for q in dem[dem["initiative"] == r.id].itertuples(index=False):
            if q.offset == "build":
                spend.append((q.resource, q.amount))
        for p in range(min(d, h.T)):
            for res, amount in spend:
                use[res, p] = use.get((res, p), 0.0) + amount
        for q in dem[dem["initiative"] == r.id].itertuples(index=False):
            if str(q.offset).isdigit() and int(q.offset) < h.T:
                use[q.resource, int(q.offset)] = use.get((q.resource, int(q.offset)), 0.0) + q.amount
        for q in tables["training"][tables["training"]["initiative"] == r.id].itertuples(index=False):
            _train_use(h, tables["resources"], q, d, use)
    for i, row in cap.iterrows():
        covered = h.resolve(row["period"])[0]
        extra = sum(use.get((row["resource"], p), 0.0) for p in covered)
        if extra:
            cap.at[i, "amount"] = float(row["amount"]) + (0.5 * -(-extra * 2 // 1) if row["resource"] not in
                                                           ("capital", "revenue") else round(extra + 500, -3))


def _approved(rng, h: Horizon, ini: pd.DataFrame) -> pd.DataFrame:
    """Last year's plan: most initiatives approved, mostly at a start their window allows."""
    rows = []
    for r in ini.itertuples(index=False):
        if rng.random() < 0.4:
            continue
        if r.status == "in_progress":
            start = h.label(0) if rng.random() < 0.5 else h.label(-int(rng.integers(1, 3)))
        else:
            first = h.index(r.earliest_start)
            last = h.T - 1 if not r.latest_finish else min(h.T - 1, h.index(r.latest_finish) - r.duration + 1)
            inside = first <= last and rng.random() < 0.8
            start = h.label(int(rng.integers(first, last + 1)) if inside else int(rng.integers(0, h.T)))
        rows.append({"id": r.id, "start": start})
    return pd.DataFrame(rows, columns=["id", "start"])


def _must(ini: pd.DataFrame, scenario: dict, approved: pd.DataFrame) -> set:
    """What validation will call must-select: mandatory, forced in, work in flight that may not stop,
    and approved initiatives that changes.keep keeps."""
    must = set(ini.loc[ini["mandatory"] == "true", "id"]) | set(scenario["force_in"])
    if not scenario["allow_stopping"]:
        must |= set(ini.loc[ini["status"] == "in_progress", "id"])
    if scenario["changes"]["keep"] != "none":
        must |= set(approved["id"])
    return must


def _trainable(h: Horizon, ini: pd.DataFrame, training: pd.DataFrame, must: set) -> pd.DataFrame:
    """The training rows, less those that would leave a must-select initiative no start (validation
    rejects that: such a case has no plan, which the infeasible cases cover already)."""
    keep = []
    for row in training.itertuples():
        r = ini.loc[ini["id"] == row.initiative].iloc[0]
        d, k = int(r["duration"]), int(row.periods_before_go_live)
        first = max(h.index(r["earliest_start"]), k - d)
        last = min(h.T - d, h.T if not r["latest_finish"] else h.index(r["latest_finish"]) - d + 1)
        keep.append(row.initiative not in must or r["status"] == "in_progress" or first <= last)
    return training[keep].reset_index(drop=True)


def _planning_cycle(seed: int, h: Horizon, tables: dict, scenario: dict) -> pd.DataFrame:
    """Work in flight, training and an approved plan (module docstring), from their own random stream:
    the approved plan, with the scenario's keys set. Validation's contradictions (forcing out what must
    stay, two must-haves that exclude each other) are left out."""
    rng = np.random.default_rng([seed, 11])
    ini = tables["initiatives"]
    ini["status"], ini["stop_cost"] = "proposed", 0.0
    _in_progress(rng, h, ini)
    # work in flight has started: whatever had to come before it is done
    dep, flight = tables["dependencies"], set(ini.loc[ini["status"] == "in_progress", "id"])
    tables["dependencies"] = dep[~(dep["successor"].isin(flight) & dep["type"].isin(
        ["finish_to_start", "start_to_start"]))].reset_index(drop=True)
    training = tables["training"] = _training(rng, ini, tables["resources"])
    _budget_for_flight(h, tables)
    forced_out = set(scenario["force_out"])
    scenario["force_out"] = [i for i in scenario["force_out"]
                             if ini.loc[ini["id"] == i, "status"].item() != "in_progress"]
    scenario["allow_stopping"] = bool(rng.random() < 0.5)
    if forced_out != set(scenario["force_out"]):
        scenario["allow_stopping"] = True  # forcing out work in flight means stopping it
    scenario["changes"] = {"keep": str(rng.choice(["none", "none", "none", "none", "none", "none", "selection",
                                                   "start"])),
                           "move_penalty": float(rng.choice([0, 0, 2_000, 20_000])),
                           "drop_penalty": float(rng.choice([0, 0, 10_000, 100_000]))}
    approved = _approved(rng, h, ini)
    if rng.random() < 0.2:
        scenario["changes"]["max_moved"] = int(np.ceil(len(approved) * float(rng.uniform(0.3, 1.0))))
    if scenario["changes"]["keep"] != "none":
        approved = approved[~approved["id"].isin(scenario["force_out"])]
    approved = _no_two_must_haves_excluded(ini, scenario, approved, tables["dependencies"])
    tables["training"] = _trainable(h, ini, training, _must(ini, scenario, approved))
    return approved.reset_index(drop=True)


def _no_two_must_haves_excluded(ini: pd.DataFrame, scenario: dict, approved: pd.DataFrame,
                                dependencies: pd.DataFrame) -> pd.DataFrame:
    """Two must-haves that exclude each other are an input error: un-approve one, or (work in flight
    that may not stop) make it a proposal."""
    for a, b, typ in zip(dependencies["predecessor"], dependencies["successor"], dependencies["type"]):
        must = _must(ini, scenario, approved)
        if typ != "excludes" or not {a, b} <= must:
            continue
        kept = set(approved["id"]) if scenario["changes"]["keep"] != "none" else set()
        flight = set(ini.loc[ini["status"] == "in_progress", "id"])
        for x in (a, b):
            if x in kept and x in must - flight - set(scenario["force_in"]) - set(
                    ini.loc[ini["mandatory"] == "true", "id"]):
                approved = approved[approved["id"] != x]
                break
            if x in flight:
                ini.loc[ini["id"] == x, ["status", "stop_cost"]] = ["proposed", 0.0]
                break
    return approved


def _money_rules(seed: int, h: Horizon, ini: pd.DataFrame, scenario: dict) -> None:
    """Cash-releasing shares, categories, optimism bias and targets (module docstring)."""
    rng = np.random.default_rng([seed, 13])
    n = len(ini)
    ini["cash_releasing"] = rng.choice([0.0, 0.0, 0.25, 0.5, 1.0], size=n)
    ini["category"] = rng.choice(["clinical", "infrastructure", "cyber", ""], size=n)
    own = rng.random(n) < 0.2
    ini["optimism_bias_capital"] = np.where(own, rng.choice([0.0, 0.1, 0.5], size=n), np.nan)
    deadline = ini["latest_finish"] != ""
    ini["optimism_bias_duration"] = np.where(deadline, 0.0, np.where(own, rng.choice([0.0, 0.25, 0.5], size=n),
                                                                   np.nan))
    if rng.random() < 0.75:
        scenario["optimism_bias"] = {"apply": True, "by_category": {
            "default": {"capital": float(rng.choice([0.1, 0.24, 0.54])), "duration": float(rng.choice([0.0, 0.2, 0.5]))},
            "infrastructure": {"capital": float(rng.choice([0.05, 0.2]))}}}
    years = sorted(set(h.fy_labels))
    targets = []
    for measure in rng.choice(["cash_releasing_savings", "in_year_revenue"], size=int(rng.integers(1, 3)),
                              replace=False):
        year = str(rng.choice(years))
        periods = np.array(h.fy_periods(year))
        rate = ini["benefit"] * ini["cash_releasing"] if measure == "cash_releasing_savings" else ini["revenue"]
        # at full benefit only from the earliest start + 1.5 x duration + ramp on: less than any initiative can
        # reach, so that a target is never beyond every plan (an input error) but limits may still rule it out
        full = np.array([h.index(es) for es in ini["earliest_start"]]) + np.ceil(1.5 * ini["duration"]) + ini["ramp"]
        most = float((rate.to_numpy(float) * (periods[None, :] >= full.to_numpy()[:, None]).sum(axis=1)).sum())
        targets.append({"measure": str(measure), "financial_year": year,
                        "at_least": round(most * float(rng.choice([0.02, 0.05, 0.1, 0.2, 0.4])), -2)})
    scenario["targets"] = targets


def random_case(seed: int, gap: float = 0.0, time_limit: float = 60.0, narrow: bool | None = None,
                initiatives: tuple[int, int] = (10, 40), cycle: bool = False, money: bool = False) -> Case:
    """A random portfolio (see the module docstring). `narrow`: every initiative has one allowed
    start (small enough for brute force when there are few initiatives). `initiatives`: the range
    of their number (not for narrow cases, which have 10 to 12). `cycle`: with the planning cycle.
    `money`: with cash-releasing benefits, optimism bias and targets."""
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
    approved = _planning_cycle(seed, h, tables, scenario) if cycle else None
    if money:
        _money_rules(seed, h, ini, scenario)
    return Case(seed, tables, scenario, approved)
