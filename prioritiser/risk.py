"""Risk: how sure can the board be of the plan? (format v1.1 `risk.csv`, `risk-selection.csv`)

- `simulate(result, samples, seed)`: the chosen plan held fixed (every start as planned, the external
  staff as bought, the work in flight that stops as stopped) under `samples` draws of each selected
  initiative's `capital_cost`, `benefit` and `duration` from its triangular range (`<base>_low`,
  `<base>_high`, the base value most likely). A drawn duration moves go-live, so it moves the capital
  and revenue spread over the build, the running costs, the training periods, the benefit start and
  milestone-gated funding, all by format v1's rules. No solver: whole blocks of samples at once as
  numpy arrays (samples x initiatives x periods), reproducible from `seed` (numpy's Generator).
- `reoptimise_samples(scenario, samples, seed, out)`: the same draws (sample k is the same in both), each
  written as a portfolio of its own with a scenario that extends the user's, solved afresh by the
  batch runner (local workers or Dask, resumable): how often each initiative is selected.
- `risk(scenario, ...)`: the plan solved, then both; `write_risk` publishes the folder atomically.

Draws: money is continuous triangular (inverse CDF of one uniform per value); a duration is whole
periods low .. high with P(d) proportional to the triangle on [low - 1, high + 1] peaking at the base
(so the base is the most likely, every whole number in the range can occur, and a zero-width range
is the base). Each sample takes 3 x (initiatives) uniforms in one fixed order, so sample k does not
depend on how many samples are drawn.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import RISK_RANGE_BASES, RISK_RANGE_COLUMNS

DRAWN = RISK_RANGE_BASES  # capital_cost, benefit, duration
BLOCK = 1000  # samples evaluated at once: bounds memory at about BLOCK x initiatives x periods x money resources
TOLERANCE = 1e-6  # a limit is overspent by more than this share of itself (and £1e-6), as the checker says
QUANTILES = {"p5": 0.05, "p50": 0.5, "p95": 0.95}
RISK_COLUMNS = ["measure", "resource", "financial_year", "plan", "budget", "p5", "p50", "p95", "mean",
                "chance_of_overspend"]
SELECTION_COLUMNS = ["id", "name", "in_plan", "selection_frequency", "samples_selected", "samples_solved"]
RISK_FILES = ("risk.json", "risk.csv", "risk-drivers.csv", "risk-samples.csv", "risk-selection.csv", "plan.csv",
              "npv-fan.png", "selection-frequency.png", "samples", "sample-inputs")


# ------------------------------------------------------------------------------------------- draws
@dataclass
class Draws:
    """Per sample and initiative (in the portfolio's order): the drawn capital_cost, benefit, duration."""

    capital_cost: np.ndarray  # (samples, initiatives) £
    benefit: np.ndarray  # (samples, initiatives) £ per period
    duration: np.ndarray  # (samples, initiatives) whole periods

    def __len__(self) -> int:
        return len(self.duration)


def triangular(u: np.ndarray, low, mode, high) -> np.ndarray:
    """The triangular distribution's inverse CDF at `u` (low <= mode <= high, broadcast; width 0 = low)."""
    low, mode, high = (np.asarray(a, float) for a in (low, mode, high))
    width = high - low
    c = np.divide(mode - low, width, out=np.zeros(np.broadcast(low, width).shape), where=width > 0)
    rising = low + np.sqrt(u * width * (mode - low))
    falling = high - np.sqrt((1 - u) * width * (high - mode))
    return np.clip(np.where(u < c, rising, falling), low, high)


def triangular_periods(u: np.ndarray, low, mode, high) -> np.ndarray:
    """Whole periods low .. high with P(d) proportional to the triangle on [low - 1, high + 1] with its
    peak at `mode`, at the uniforms `u` (samples x initiatives)."""
    low, mode, high = (np.asarray(a, np.int64) for a in (low, mode, high))
    d = low[:, None] + np.arange(int((high - low).max(initial=0)) + 1)[None, :]  # (initiatives, widest)
    rise = (d - low[:, None] + 1) / (mode - low + 1)[:, None]
    fall = (high[:, None] + 1 - d) / (high - mode + 1)[:, None]
    weight = np.where(d > high[:, None], 0.0, np.where(d <= mode[:, None], rise, fall))
    cdf = np.cumsum(weight, axis=1) / weight.sum(axis=1, keepdims=True)
    k = (u[:, :, None] >= cdf[None, :, :]).sum(axis=2)
    return low[None, :] + np.minimum(k, high - low)


def draw(initiatives: pd.DataFrame, samples: int, seed: int) -> Draws:
    """`samples` draws of every initiative's capital_cost, benefit and duration from its range."""
    rng = np.random.default_rng(seed)
    u = rng.random((int(samples), len(DRAWN), len(initiatives)))  # sample-major: sample k is fixed by seed
    ini = initiatives

    def money(n: int, base: str) -> np.ndarray:
        return triangular(u[:, n], ini[f"{base}_low"].to_numpy(float), ini[base].to_numpy(float),
                          ini[f"{base}_high"].to_numpy(float))
    duration = triangular_periods(u[:, 2], ini["duration_low"].to_numpy(np.int64), ini["duration"].to_numpy(np.int64),
                                  ini["duration_high"].to_numpy(np.int64))
    return Draws(money(0, "capital_cost"), money(1, "benefit"), duration)


def has_ranges(initiatives: pd.DataFrame) -> bool:
    """Whether any initiative has a range wider than its base value."""
    return any((initiatives[f"{b}_low"] != initiatives[b]).any() or (initiatives[f"{b}_high"] != initiatives[b]).any()
               for b in DRAWN)


# ------------------------------------------------------------------------------------ the fixed plan
@dataclass
class _Plan:
    """Everything the simulation needs of a plan, as aligned arrays over its m selected initiatives."""

    T: int
    discount: np.ndarray  # (T,)
    sel: np.ndarray  # (m,) positions in the portfolio
    start: np.ndarray  # (m,)
    base: dict[str, np.ndarray]  # capital_cost, benefit, duration of the selected, as planned
    revenue_cost: np.ndarray
    running: np.ndarray
    income: np.ndarray  # `revenue`: new income per period after go-live
    ramp: np.ndarray
    money: list[str]  # the money resources (capital, revenue first)
    fixed: np.ndarray  # (M, T) money drawn whatever the draws: external staff bought, stop costs
    demands: dict[str, np.ndarray]  # money demands of the selected: owner, resource, kind, k, amount, training
    rows: dict[str, np.ndarray]  # money capacity rows: resource, fy, incidence (J, T), amount (J,)
    funding: dict[str, np.ndarray]  # row (J index), amount, owner (-1: no milestone, -2: not selected), due
    years: list[str]
    fy_of: np.ndarray  # (T,) financial-year position of each period


def _plan_demands(p, sel: np.ndarray, money: list[str]) -> dict[str, np.ndarray]:
    dem = p.demands[p.demands["resource"].isin(money) & p.demands["initiative"].isin(p.ids[sel])]
    owner = pd.Index(p.ids[sel]).get_indexer(dem["initiative"])
    training = dem["training_row"].notna().to_numpy() if "training_row" in dem else np.zeros(len(dem), bool)
    return {"owner": owner, "resource": np.array([money.index(r) for r in dem["resource"]], np.int64),
            "kind": dem["offset_kind"].to_numpy(object), "k": dem["k"].to_numpy(np.int64),
            "amount": dem["amount"].to_numpy(float), "training": training}


def _plan_rows(p, money: list[str], fy_of: np.ndarray, sel: np.ndarray) -> tuple[dict, dict]:
    """The money capacity rows (each a limit of its own) and the funding that lands on them."""
    cap = p.capacity
    keep = np.flatnonzero(cap["resource"].isin(money).to_numpy() & (cap["periods"].map(len) > 0).to_numpy())
    inc = np.zeros((len(keep), p.horizon.T))
    for j, row in enumerate(keep):
        inc[j, list(cap.at[row, "periods"])] = 1.0
    rows = {"resource": np.array([money.index(r) for r in cap["resource"].to_numpy()[keep]], np.int64),
            "fy": np.array([fy_of[min(cap.at[row, "periods"])] for row in keep], np.int64),
            "incidence": inc, "amount": cap["amount"].to_numpy(float)[keep]}
    f = p.funding
    at = pd.Index(keep).get_indexer(f["capacity_row"].to_numpy(np.int64)) if len(f) else np.zeros(0, np.int64)
    on = at >= 0
    milestone = f["milestone"].to_numpy(object)[on] if len(f) else np.zeros(0, object)
    where = pd.Index(p.ids[sel]).get_indexer([m if isinstance(m, str) else "" for m in milestone])
    owner = np.where([isinstance(m, str) for m in milestone], np.where(where >= 0, where, -2), -1).astype(np.int64)
    due = f["milestone_period"].to_numpy()[on] if len(f) else np.zeros(0)
    funding = {"row": at[on], "amount": f["amount"].to_numpy(float)[on] if len(f) else np.zeros(0),
               "owner": owner, "due": np.nan_to_num(np.asarray(due, float), nan=-1).astype(np.int64)}
    return rows, funding


def _fixed_money(result, money: list[str]) -> np.ndarray:
    """(M, T): external staff bought (revenue, in its period) and stop costs of stopped work in flight
    (revenue, the first period): money the draws do not change."""
    p = result.portfolio
    fixed = np.zeros((len(money), p.horizon.T))
    revenue = money.index("revenue")
    for (role, t), amount in result.external_purchases.items():
        fixed[revenue, t] += amount * float(p.resources.at[role, "external_cost"])
    selected = np.array([result.starts.get(i) is not None for i in p.ids])
    fixed[revenue, 0] += float(p.initiatives["stop_cost"].to_numpy(float)[p.in_progress & ~selected].sum())
    return fixed


def plan_of(result) -> _Plan:
    """The arrays of `result`'s plan (it must have one)."""
    p = result.portfolio
    H, ini = p.horizon, p.initiatives
    sel = np.array([i for i, name in enumerate(p.ids) if result.starts.get(name) is not None], np.int64)
    money = ["capital", "revenue"] + [r for r in p.resources.index[p.resources["kind"] == "money"]
                                      if r not in ("capital", "revenue")]
    years = list(dict.fromkeys(H.fy_label_of(t) for t in range(H.T)))
    fy_of = np.array([years.index(H.fy_label_of(t)) for t in range(H.T)], np.int64)
    rows, funding = _plan_rows(p, money, fy_of, sel)
    col = lambda name, kind=float: ini[name].to_numpy(kind)[sel]  # noqa: E731
    return _Plan(T=H.T, discount=p.discount(), sel=sel,
                 start=np.array([result.starts[p.ids[i]] for i in sel], np.int64),
                 base={"capital_cost": col("capital_cost"), "benefit": col("benefit"),
                       "duration": col("duration", np.int64)},
                 revenue_cost=col("revenue_cost"), running=col("running_cost"), income=col("revenue"),
                 ramp=col("ramp", np.int64), money=money, fixed=_fixed_money(result, money),
                 demands=_plan_demands(p, sel, money), rows=rows, funding=funding, years=years, fy_of=fy_of)


# ------------------------------------------------------------------------------------ one block
@dataclass
class _Block:
    npv: np.ndarray  # (n,)
    cumulative: np.ndarray  # (n, T): PV of net money so far, period by period (its last is the NPV)
    spend: np.ndarray  # (n, M, Y) money spent per resource and financial year
    overspent: np.ndarray  # (n, M, Y) some limit of that resource in that year is exceeded
    own: np.ndarray  # (n, m, M, Y) each initiative's spend per resource and year
    landed: np.ndarray  # (n, F) each funding row lands


def _money_use(plan: _Plan, d: np.ndarray, capital: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, m, M, T) money each selected initiative draws per period, and (n, m, T) periods since go-live."""
    n, m = d.shape
    t = np.arange(plan.T)
    go = plan.start[None, :, None] + d[:, :, None]
    build = (t >= plan.start[None, :, None]) & (t < go)
    since = t - go
    use = np.zeros((n, m, len(plan.money), plan.T))
    use[:, :, 0] = build * (capital / d)[:, :, None]
    use[:, :, 1] = build * (plan.revenue_cost[None, :] / d)[:, :, None] + (since >= 0) * plan.running[None, :, None]
    q = plan.demands
    if len(q["owner"]):
        o = q["owner"]
        # a training demand's periods end with the last build period, so they move with the duration
        shift = np.where(q["training"][None, :], d[:, o] - plan.base["duration"][o][None, :], 0)
        at = plan.start[o][None, :] + q["k"][None, :] + shift  # (n, Q) the period of a "k" demand
        mask = np.where((q["kind"] == "k")[None, :, None], t == at[:, :, None],
                        np.where((q["kind"] == "build")[None, :, None], build[:, o], since[:, o] >= 0))
        slot = np.zeros((len(o), m * len(plan.money)))
        slot[np.arange(len(o)), o * len(plan.money) + q["resource"]] = 1.0
        add = np.matmul((mask * q["amount"][None, :, None]).transpose(0, 2, 1), slot)  # (n, T, slots): BLAS
        use += add.transpose(0, 2, 1).reshape(n, m, len(plan.money), plan.T)
    return use, since


def _landed(plan: _Plan, d: np.ndarray) -> np.ndarray:
    """(n, F): each funding row lands: no milestone, or its milestone goes live by the row's due period."""
    f = plan.funding
    o = np.maximum(f["owner"], 0)
    live_by_due = plan.start[o][None, :] + d[:, o] <= f["due"][None, :] if len(o) and len(plan.start) else \
        np.zeros((len(d), len(o)), bool)
    return np.where(f["owner"][None, :] == -1, True, np.where(f["owner"][None, :] == -2, False, live_by_due))


def _evaluate(plan: _Plan, capital: np.ndarray, benefit: np.ndarray, d: np.ndarray) -> _Block:
    """The plan's figures under n draws of its selected initiatives ((n, m) each)."""
    use, since = _money_use(plan, d, capital)
    live = np.where(since >= 0, np.minimum(1.0, (since + 1) / (plan.ramp[None, :, None] + 1)), 0.0)
    gain = (live * (benefit + plan.income[None, :])[:, :, None]).sum(axis=1)  # (n, T)
    per_period = use.sum(axis=1) + plan.fixed[None]  # (n, M, T)
    cumulative = np.cumsum((gain - per_period.sum(axis=1)) * plan.discount[None, :], axis=1)
    fy = np.zeros((plan.T, len(plan.years)))
    fy[np.arange(plan.T), plan.fy_of] = 1.0
    r, landed = plan.rows, _landed(plan, d)
    landing = (landed * plan.funding["amount"][None, :]) @ _onehot(plan.funding["row"], len(r["amount"]))
    limit = r["amount"][None, :] + landing
    used = (per_period[:, r["resource"]] * r["incidence"][None]).sum(axis=2)  # (n, J)
    over = used > limit + TOLERANCE * np.abs(limit) + TOLERANCE  # (n, J)
    over_my = np.zeros((len(d), len(plan.money), len(plan.years)), bool)
    for j in range(len(r["amount"])):  # capacity rows: a handful; never a loop over samples
        over_my[:, r["resource"][j], r["fy"][j]] |= over[:, j]
    return _Block(npv=cumulative[:, -1] if plan.T else np.zeros(len(d)), cumulative=cumulative,
                  spend=per_period @ fy, overspent=over_my, own=use @ fy, landed=landed)


def _onehot(index: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((len(index), width))
    out[np.arange(len(index)), index] = 1.0
    return out


# ------------------------------------------------------------------------------------ simulate
@dataclass
class Simulation:
    """What `simulate` found: one entry per sample, and the tables risk.csv and risk-drivers.csv hold."""

    samples: int
    seed: int
    plan_npv: float  # the plan's NPV as planned (the engine's own figure)
    npv: np.ndarray  # (samples,)
    cumulative: np.ndarray  # (samples, T)
    planned_cumulative: np.ndarray  # (T,)
    spend: pd.DataFrame  # one row per sample: capital_<year>, revenue_<year>, ...
    overspent: pd.DataFrame  # one row per sample: True where that resource's year is overspent
    table: pd.DataFrame  # risk.csv
    drivers: pd.DataFrame  # risk-drivers.csv
    periods: list[str]
    seconds: float = 0.0
    selection: pd.DataFrame | None = None  # risk-selection.csv, with reoptimise
    reoptimised_npv: np.ndarray | None = None
    batch: object = field(default=None, repr=False)


def _blocks(plan: _Plan, draws: Draws, progress=None):
    """The plan evaluated block by block over the samples, with the drivers' sums on the way."""
    n = len(draws)
    planned = _evaluate(plan, plan.base["capital_cost"][None], plan.base["benefit"][None], plan.base["duration"][None])
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        block = _evaluate(plan, draws.capital_cost[lo:hi][:, plan.sel], draws.benefit[lo:hi][:, plan.sel],
                          draws.duration[lo:hi][:, plan.sel])
        if progress is not None:
            progress(hi, n)
        yield planned, block


def simulate(result, samples: int = 10_000, seed: int = 0, progress=None) -> Simulation:
    """The plan of `result` held fixed under `samples` draws (see the module docstring).
    `progress(done, total)` is called after each block of samples."""
    t0 = time.perf_counter()
    if not result.has_plan:
        raise ValueError(f"scenario {result.scenario} has no plan ({result.status.value}): nothing to simulate")
    if samples < 1:
        raise ValueError("samples must be at least 1")
    plan = plan_of(result)
    draws = draw(result.portfolio.initiatives, samples, seed)
    parts, extra, lost, count = [], 0.0, 0.0, 0.0
    for planned, block in _blocks(plan, draws, progress):
        parts.append(block)
        over = block.overspent.astype(float)
        extra = extra + ((block.own - planned.own) * over[:, None]).sum(axis=0)
        lost = lost + _lost_funding(plan, planned.landed, block.landed, over)
        count = count + over.sum(axis=0)
    npv = np.concatenate([b.npv for b in parts])
    spend = np.concatenate([b.spend for b in parts])
    overspent = np.concatenate([b.overspent for b in parts])
    sim = Simulation(samples=int(samples), seed=int(seed), plan_npv=float(result.components["npv"]), npv=npv,
                     cumulative=np.concatenate([b.cumulative for b in parts]),
                     planned_cumulative=planned.cumulative[0], spend=_per_year(plan, spend),
                     overspent=_per_year(plan, overspent),
                     table=_risk_table(result, plan, npv, spend, overspent, planned.spend[0]),
                     drivers=_drivers(result, plan, extra, lost, count), periods=list(result.portfolio.horizon.labels))
    sim.seconds = time.perf_counter() - t0
    return sim


def _lost_funding(plan: _Plan, planned: np.ndarray, landed: np.ndarray, over: np.ndarray) -> np.ndarray:
    """(m, M, Y): over the overspent samples of each resource and year, the milestone-gated money that
    the plan counted on and did not land because its milestone initiative went live too late."""
    f, r = plan.funding, plan.rows
    m, M, Y = len(plan.sel), len(plan.money), len(plan.years)
    out = np.zeros((m, M, Y))
    for k in np.flatnonzero(f["owner"] >= 0):  # gated funding rows: a handful
        missed = (planned[0, k] & ~landed[:, k]) * f["amount"][k]  # (n,)
        j = f["row"][k]
        out[f["owner"][k], r["resource"][j], r["fy"][j]] += missed @ over[:, r["resource"][j], r["fy"][j]]
    return out


def _per_year(plan: _Plan, values: np.ndarray) -> pd.DataFrame:
    """(samples, M, Y) -> one column per resource and year: capital_2026/27, ..."""
    n, M, Y = values.shape
    names = [f"{res}_{fy}" for res in plan.money for fy in plan.years]
    return pd.DataFrame(values.reshape(n, M * Y), columns=names)


def _quantiles(values: np.ndarray) -> dict[str, float]:
    out = {k: float(np.quantile(values, q)) for k, q in QUANTILES.items()}
    out["mean"] = float(np.mean(values))
    return out


def _risk_table(result, plan: _Plan, npv, spend, overspent, planned_spend) -> pd.DataFrame:
    """risk.csv: NPV, then each money resource's spend per financial year with its chance of overspend."""
    from .figures import spend_by_year

    budget = spend_by_year(result).set_index(["resource", "financial_year"])["available"]
    rows = [{"measure": "npv", "plan": float(result.components["npv"]), **_quantiles(npv)}]
    limited = {(plan.money[r], plan.years[y]) for r, y in zip(plan.rows["resource"], plan.rows["fy"])}
    for r, res in enumerate(plan.money):
        for y, fy in enumerate(plan.years):
            if res not in ("capital", "revenue") and (res, fy) not in limited:
                continue
            rows.append({"measure": "spend", "resource": res, "financial_year": fy, "plan": planned_spend[r, y],
                         "budget": budget.get((res, fy), np.nan) if (res, fy) in limited else np.nan,
                         **_quantiles(spend[:, r, y]), "chance_of_overspend": float(overspent[:, r, y].mean())})
    return pd.DataFrame(rows, columns=RISK_COLUMNS)


def _drivers(result, plan: _Plan, extra, lost, count) -> pd.DataFrame:
    """risk-drivers.csv: for each resource and year that is ever overspent, each selected initiative's
    average extra spend over plan and gated funding it lost (going live late) in the overspent samples,
    and its share of their sum; largest first."""
    ids = result.portfolio.ids[plan.sel]
    rows = []
    for r, res in enumerate(plan.money):
        for y, fy in enumerate(plan.years):
            if count[r, y] == 0:
                continue
            more, missed = extra[:, r, y] / count[r, y], lost[:, r, y] / count[r, y]
            total = np.clip(more + missed, 0, None).sum()
            for i in np.argsort(-(more + missed), kind="stable"):
                if more[i] + missed[i] > 0.5:
                    rows.append({"resource": res, "financial_year": fy, "id": ids[i],
                                 "extra_spend": more[i], "funding_lost": missed[i],
                                 "share": (more[i] + missed[i]) / total if total > 0 else np.nan})
    return pd.DataFrame(rows, columns=["resource", "financial_year", "id", "extra_spend", "funding_lost", "share"])


# ------------------------------------------------------------------------------------ reoptimise
def _header(frame: pd.DataFrame, name: str) -> str | None:
    """The raw header that means column `name` ('Capital Cost' for capital_cost), as validation reads it."""
    return next((h for h in frame.columns if re.sub(r"\s+", "_", str(h).strip().lower()) == name), None)


def _sample_initiatives(frame: pd.DataFrame, draws: Draws, k: int) -> pd.DataFrame:
    """The user's initiatives table (as text) with sample k's values, and without the ranges."""
    out = frame.copy()
    ranges = {c.name for c in RISK_RANGE_COLUMNS}
    out = out.drop(columns=[h for h in out.columns if re.sub(r"\s+", "_", str(h).strip().lower()) in ranges])
    for name, values in (("capital_cost", draws.capital_cost[k]), ("benefit", draws.benefit[k]),
                         ("duration", draws.duration[k])):
        text = [str(int(v)) if name == "duration" else repr(float(v)) for v in values]
        out[_header(out, name) or name] = text
    return out


def write_samples(scenario, draws: Draws, folder: Path) -> list[Path]:
    """One portfolio folder (CSV files) and one scenario file (extending `scenario`'s) per sample."""
    from .scenario import write_scenario
    from .tables import read_portfolio

    read = read_portfolio(scenario.portfolio)
    paths = []
    for k in range(len(draws)):  # one folder per sample: files, not arithmetic
        name = f"{scenario.name}-sample-{k + 1:05d}"
        portfolio = folder / "portfolios" / name
        portfolio.mkdir(parents=True, exist_ok=True)
        for table, raw in read.tables.items():
            frame = _sample_initiatives(raw.frame, draws, k) if table == "initiatives" else raw.frame
            _write_if_changed(portfolio / f"{table}.csv", frame.to_csv(index=False))
        doc = {"name": name, "extends": str(Path(scenario.path).resolve()), "portfolio": str(portfolio.resolve())}
        paths.append(write_scenario(folder / "scenarios" / f"{name}.yaml", doc))
    return paths


def _write_if_changed(path: Path, text: str) -> None:
    """Leave a file that already says the same alone, so that the batch's cache of it stays valid."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def reoptimise_samples(scenario, samples: int, seed: int, out: str | Path, plan=None, *, workers: int | None = None,
               executor: str = "local", scheduler: str | None = None, progress=False, **options):
    """`samples` draws (the same as `simulate`'s with this seed), each solved afresh through the batch
    runner into `out`: (risk-selection.csv as a DataFrame, the re-optimised NPVs, the BatchResult).
    `plan`: the Result of the unchanged scenario, for the `in_plan` column."""
    from .batch import run_batch
    from .scenario import load_scenario
    from .validate import build_portfolio

    scenario = scenario if not isinstance(scenario, (str, Path)) else load_scenario(scenario)
    portfolio = build_portfolio(scenario)
    draws = draw(portfolio.initiatives, samples, seed)
    # the samples' scenarios and portfolios beside the batch's folder, never in it (no output among inputs)
    paths = write_samples(scenario, draws, Path(out).with_name("sample-inputs"))
    batch = run_batch(paths, out, workers=workers, executor=executor, scheduler=scheduler, progress=progress,
                      **options)
    solved = [r.scenario for r in batch.solved]
    chosen = batch.selection.reindex(index=portfolio.ids, columns=solved).fillna("") != ""
    in_plan = [plan is not None and plan.starts.get(i) is not None for i in portfolio.ids]
    selection = pd.DataFrame({"id": portfolio.ids, "name": portfolio.initiatives["name"].to_numpy(),
                              "in_plan": in_plan,
                              "selection_frequency": chosen.mean(axis=1).to_numpy() if solved else np.nan,
                              "samples_selected": chosen.sum(axis=1).to_numpy(), "samples_solved": len(solved)},
                             columns=SELECTION_COLUMNS)
    npv = pd.to_numeric(batch.comparison.loc[solved, "npv"]).to_numpy(float) if solved else np.zeros(0)
    return selection, npv, batch


# ------------------------------------------------------------------------------------ the whole run
def risk(scenario, samples: int = 10_000, seed: int = 0, *, reoptimise: bool = False, out: str | Path | None = None,
         result=None, workers: int | None = None, executor: str = "local", scheduler: str | None = None,
         progress=None, batch_progress=False, **options) -> Simulation:
    """The scenario's plan (solved here unless `result` is given) held fixed under `samples` draws and,
    with `reoptimise`, the same draws each solved afresh into `out`/samples (needs `out`). Bad input
    raises InputError; a scenario without a plan raises ValueError. `options`: solver, time_limit, gap
    (for the plan and every sample)."""
    from .engine import run
    from .scenario import load_scenario

    scenario = load_scenario(scenario) if isinstance(scenario, (str, Path)) else scenario
    if result is None:
        result = run(scenario, **options)
    sim = simulate(result, samples, seed, progress)
    if reoptimise:
        if out is None:
            raise ValueError("re-optimising needs an output folder (out) for the samples' results")
        _claim(Path(out))
        sim.selection, sim.reoptimised_npv, sim.batch = reoptimise_samples(
            scenario, samples, seed, Path(out) / "samples", result, workers=workers, executor=executor,
            scheduler=scheduler, progress=batch_progress, **options)
        sim.table = pd.concat([sim.table, pd.DataFrame([{"measure": "npv_reoptimised", "plan": sim.plan_npv,
                                                         **_quantiles(sim.reoptimised_npv)}])
                               if len(sim.reoptimised_npv) else None], ignore_index=True)
    return sim


def _claim(out: Path) -> None:
    """Mark `out` as ours (risk.json) before the samples are solved into it, so that the folder can be
    published over; refused (OutputError) when it holds anything we did not write."""
    import json

    from .outputs import check_result_target
    from .version import __version__

    check_result_target(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "risk.json").write_text(json.dumps({"package_version": __version__, "state": "re-optimising"}) + "\n")


def write_risk(sim: Simulation, result, out: str | Path) -> Path:
    """Publish the risk folder atomically: risk.csv, risk-drivers.csv, risk-samples.csv, plan.csv (the
    plan held fixed), npv-fan.png and, re-optimised, risk-selection.csv, selection-frequency.png and
    samples/ (each sample's scenario, portfolio and results, which a rerun with the same seed reuses)."""
    import json
    import os

    from .report import plan_frame, publish
    from .version import __version__

    out = Path(out)

    def fill(tmp: Path) -> None:
        sim.table.to_csv(tmp / "risk.csv", index=False)
        sim.drivers.to_csv(tmp / "risk-drivers.csv", index=False)
        samples = pd.concat([pd.DataFrame({"sample": np.arange(1, sim.samples + 1), "npv": sim.npv}), sim.spend,
                             sim.overspent.add_prefix("overspent_")], axis=1)
        samples.to_csv(tmp / "risk-samples.csv", index=False)
        plan_frame(result).to_csv(tmp / "plan.csv", index=False)
        fan_chart(sim, result.scenario, tmp / "npv-fan.png")
        if sim.selection is not None:
            sim.selection.to_csv(tmp / "risk-selection.csv", index=False)
            selection_chart(sim.selection, result.scenario, tmp / "selection-frequency.png")
        (tmp / "risk.json").write_text(json.dumps({"package_version": __version__, "samples": sim.samples,
                                                   "seed": sim.seed}, indent=2) + "\n")
        for folder in ("sample-inputs", "samples"):  # last: the batch's folders move in when all else is written
            if (out / folder).is_dir():
                os.replace(out / folder, tmp / folder)
    return publish(out, fill)


# ------------------------------------------------------------------------------------ charts
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _pounds(v, _=None) -> str:
    sign = "-" if v < 0 else ""
    return f"{sign}£{abs(v) / 1e6:,.1f}m" if abs(v) >= 1e6 else f"{sign}£{abs(v):,.0f}"


def fan_chart(sim: Simulation, name: str, path: Path) -> None:
    """NPV so far, period by period: the 5-95% and 25-75% bands of the draws, their median and the plan."""
    from matplotlib.ticker import FuncFormatter

    plt = _pyplot()
    x = np.arange(len(sim.periods))
    q = np.quantile(sim.cumulative, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120)
    ax.fill_between(x, q[0], q[4], color="#0072B2", alpha=0.18, linewidth=0, label="5% to 95% of draws")
    ax.fill_between(x, q[1], q[3], color="#0072B2", alpha=0.35, linewidth=0, label="25% to 75%")
    ax.plot(x, q[2], color="#0072B2", label="median")
    ax.plot(x, sim.planned_cumulative, color="#D55E00", linestyle="--", label="as planned")
    ax.axhline(0, color="#999999", linewidth=0.8)
    step = max(1, len(x) // 10)
    ax.set_xticks(x[::step], [sim.periods[i] for i in x[::step]], rotation=30, ha="right")
    ax.yaxis.set_major_formatter(FuncFormatter(_pounds))
    ax.set_ylabel("NPV so far (discounted)")
    ax.set_title(f"{name}: NPV of the plan held fixed, {sim.samples:,} draws (final NPV: median "
                 f"{_pounds(q[2][-1])}, 5-95% {_pounds(q[0][-1])} to {_pounds(q[4][-1])})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def selection_chart(selection: pd.DataFrame, name: str, path: Path) -> None:
    """How often each initiative is selected when every draw is re-optimised, in the plan or not."""
    plt = _pyplot()
    rows = selection.sort_values(["selection_frequency", "id"], ascending=[True, False])
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.22 * len(rows) + 1.2)), dpi=120)
    colours = np.where(rows["in_plan"].to_numpy(bool), "#0072B2", "#E69F00")
    ax.barh(rows["id"], rows["selection_frequency"].fillna(0) * 100, color=colours)
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of re-optimised draws that select it (%)")
    ax.tick_params(axis="y", labelsize=7)
    solved = int(selection["samples_solved"].max()) if len(selection) else 0
    ax.set_title(f"{name}: how robust each choice is ({solved} draws re-optimised; blue = in the plan)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------------ console
def risk_text(sim: Simulation, result) -> str:
    """The console summary: NPV spread, chance of overspend per year, what drives it, robustness."""
    from .formatting import money, percent

    npv = sim.table[sim.table["measure"] == "npv"].iloc[0]
    lines = [f"Risk of {result.scenario}: {sim.samples:,} draws (seed {sim.seed}), the plan held fixed "
             f"({len(result.selected)} initiatives, {result.status.value})",
             f"NPV: as planned {money(sim.plan_npv)}; 5% {money(npv.p5)}, median {money(npv.p50)}, "
             f"95% {money(npv.p95)}, mean {money(npv['mean'])}"]
    spend = sim.table[sim.table["measure"] == "spend"]
    lines.append("Chance of overspend per financial year:")
    lines.append(f"  {'year':<9}" + "".join(f"{r:>12}" for r in dict.fromkeys(spend["resource"])))
    for fy, part in spend.groupby("financial_year", sort=False):
        lines.append(f"  {fy:<9}" + "".join(f"{percent(c):>12}" if b == b else f"{'no limit':>12}"
                                              for c, b in zip(part["chance_of_overspend"], part["budget"])))
    if len(sim.drivers):
        lines.append("What drives overspend (average extra spend, and gated funding lost, when overspent):")
        for (res, fy), part in sim.drivers.groupby(["resource", "financial_year"], sort=False):
            top = ", ".join(f"{r.id} {money(r.extra_spend + r.funding_lost)} ({percent(r.share, 0)})"
                            for r in part.head(3).itertuples())
            lines.append(f"  {res} {fy}: {top}")
    if sim.selection is not None:
        lines += _robustness_lines(sim)
    lines.append(f"Simulated in {sim.seconds:.1f} s")
    return "\n".join(lines)


def _robustness_lines(sim: Simulation) -> list[str]:
    from .formatting import money, percent

    sel = sim.selection
    solved = int(sel["samples_solved"].max()) if len(sel) else 0
    lines = [f"Re-optimised: {solved} of {sim.samples} draws solved" +
             (f"; NPV median {money(np.median(sim.reoptimised_npv))}" if solved else "")]
    if not solved:
        return lines
    unsure = sel[(sel["selection_frequency"] > 0.05) & (sel["selection_frequency"] < 0.95)]
    unsure = unsure.assign(dist=(unsure["selection_frequency"] - 0.5).abs()).sort_values(["dist", "id"])
    robust = int(((sel["selection_frequency"] >= 0.95) & sel["in_plan"]).sum())
    lines.append(f"  in the plan and selected in 95% of draws or more: {robust} of {int(sel['in_plan'].sum())}")
    if len(unsure):
        lines.append("  least settled: " + ", ".join(f"{r.id} {percent(r.selection_frequency, 0)}"
                                                     for r in unsure.head(8).itertuples()))
    return lines
