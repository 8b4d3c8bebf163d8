"""The validated portfolio with its scenario applied: what the model, heuristic and checker read."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import Issue
from .periods import Horizon
from .scenario import Scenario, Settings


def no_approved_plan() -> pd.DataFrame:
    """`Portfolio.approved` without an approved plan."""
    return pd.DataFrame({"start": pd.Series(dtype=np.int64), "label": pd.Series(dtype=object)},
                        index=pd.Index([], name="initiative", dtype=object))


def targets_table(targets: list, horizon: Horizon) -> pd.DataFrame:
    """`Portfolio.targets` from the scenario's Target list: one row per target, in the scenario's order."""
    return pd.DataFrame({"measure": pd.Series([t.measure for t in targets], dtype=object),
                         "financial_year": pd.Series([t.financial_year for t in targets], dtype=object),
                         "periods": pd.Series([horizon.fy_periods(t.financial_year) for t in targets], dtype=object),
                         "at_least": pd.Series([float(t.at_least) for t in targets], dtype=float)})


@dataclass
class Portfolio:
    """One DataFrame per entity.

    initiatives  index `initiative`: name, directorate, category, duration, earliest_start (period
                 index), latest_finish (Int64 index of the last allowed build period, <NA> = none),
                 mandatory, capital_cost, revenue_cost, running_cost, benefit, revenue, ramp,
                 score_* and any passthrough columns.
    resources    index `resource`: kind (money/staff), external_cost, external_max.
    demands      initiative, resource, offset_kind (k/build/run), k, amount.
    capacity     RangeIndex = capacity row id: resource, period (label), periods (tuple of indices
                 inside the horizon), amount (after adjustments, funding excluded).
    funding      source, resource, period, amount (after adjustments), milestone (id or None),
                 capacity_row, milestone_period.
    dependencies predecessor, successor, type, lag.
    training     the training table as given: initiative, staff_group, headcount, bank_locum_share,
                 hours_each, bank_rate, trainees_per_trainer, periods_before_go_live. Validation
                 turns each row into `demands` rows (marked by their `training_row`), so the model
                 needs nothing special; the checker reads this table itself.
    approved     index `initiative`: the approved set of `approved_plan`, with `start` (period
                 index; below 0 for an in_progress initiative started before the horizon) and
                 `label` (as the file has it). Empty without an approved plan.

    `initiatives` also has `status` (proposed, approved, in_progress) and `stop_cost`; `resources`
    has `hours_per_fte`; `demands` has `training_row` (<NA> for the demands table's own rows).

    The money rules (format v1.1): `initiatives` has `cash_releasing` (share of benefit), and, with
    optimism bias on, `capital_cost` and `duration` are the uplifted figures everything downstream plans
    with; `capital_cost_given` and `duration_given` are the figures as given, `optimism_bias_capital`
    and `optimism_bias_duration` the initiative's own uplifts as written (NaN = the scenario's).
    targets      RangeIndex = target row (the scenario's order): measure (cash_releasing_savings or
                 in_year_revenue), financial_year (label), periods (tuple of indices), at_least (£).
    """

    name: str
    horizon: Horizon
    settings: Settings
    initiatives: pd.DataFrame
    resources: pd.DataFrame
    demands: pd.DataFrame
    capacity: pd.DataFrame
    funding: pd.DataFrame
    dependencies: pd.DataFrame
    scenario: Scenario | None = None
    warnings: list[Issue] = field(default_factory=list)
    input_hash: str = ""
    passthrough_columns: dict[str, list[str]] = field(default_factory=dict)  # table -> columns it does not read
    training: pd.DataFrame = field(default_factory=pd.DataFrame)
    approved: pd.DataFrame = field(default_factory=no_approved_plan)
    targets: pd.DataFrame = field(default_factory=lambda: targets_table([], None))

    @property
    def ids(self) -> pd.Index:
        return self.initiatives.index

    @property
    def in_progress(self) -> np.ndarray:
        return (self.initiatives["status"] == "in_progress").to_numpy() if "status" in self.initiatives \
            else np.zeros(len(self.ids), bool)

    @property
    def stoppable(self) -> np.ndarray:
        """In progress, and the scenario allows stopping it (mandatory and forced-in ones never stop)."""
        forced = self.initiatives["mandatory"].to_numpy(bool) | self.ids.isin(self.settings.force_in)
        return self.in_progress & bool(self.settings.allow_stopping) & ~forced

    @property
    def is_approved(self) -> np.ndarray:
        """In the approved set of the approved plan."""
        return self.ids.isin(self.approved.index)

    @property
    def approved_starts(self) -> np.ndarray:
        """The approved start of each initiative (-1: not approved); an in_progress one's is the first period."""
        out = np.full(len(self.ids), -1, dtype=np.int64)
        pos = self.ids.get_indexer(self.approved.index)
        out[pos] = self.approved["start"].to_numpy(np.int64)
        return np.where(self.in_progress & self.is_approved, 0, out)

    @property
    def training_periods(self) -> np.ndarray:
        """The most periods any training row of each initiative spreads over before go-live (0: no training)."""
        out = np.zeros(len(self.ids), dtype=np.int64)
        if len(self.training):
            k = self.training.groupby("initiative")["periods_before_go_live"].max()
            out[self.ids.get_indexer(k.index)] = k.to_numpy(np.int64)
        return out

    @property
    def must_select(self) -> np.ndarray:
        """Mandatory, forced in by the scenario, in progress and not stoppable, or approved and kept."""
        keep = self.settings.changes.keep in ("start", "selection")
        return (self.initiatives["mandatory"].to_numpy(bool) | self.ids.isin(self.settings.force_in)
                | self.in_progress & ~self.stoppable | keep & self.is_approved)

    @property
    def forced_out(self) -> np.ndarray:
        return self.ids.isin(self.settings.force_out)

    @property
    def optimism_bias(self) -> bool:
        """Capital and duration are uplifted for optimism bias (the figures as given are kept beside them)."""
        return bool(self.settings.optimism_bias.apply)

    @property
    def score_columns(self) -> list[str]:
        return [c for c in self.initiatives.columns if c.startswith("score_")]

    def alignment(self) -> pd.Series:
        """Alignment score per initiative: sum over objectives of weight * score."""
        out = pd.Series(0.0, index=self.ids)
        for objective, weight in self.settings.alignment_weights.items():
            col = f"score_{objective}"
            if col in self.initiatives:
                out += weight * self.initiatives[col].astype(float)
        return out

    def discount(self) -> np.ndarray:
        """Discount factor of each period: (1 + rate)^(-p / periods per year) for p = 0 .. T-1."""
        p = np.arange(self.horizon.T)
        return (1.0 + self.settings.discount_rate) ** (-p / self.horizon.per_year)

    # ---------------------------------------------------------------- what-if edits (explanations)

    def decided(self, decisions: dict[str, bool]) -> "Portfolio":
        """A copy with initiatives' decisions fixed: True forces one in, False takes it out (lifting
        its mandate or its place in force_in). The checker checks a plan against the copy's rules."""
        if not decisions:
            return self
        unknown = sorted(set(decisions) - set(self.ids))
        if unknown:
            raise ValueError(f"not in the portfolio: {', '.join(unknown)}")
        ini = self.initiatives.copy()
        out = [i for i, keep in decisions.items() if not keep]
        ini.loc[out, "mandatory"] = False
        force_in = [i for i in self.settings.force_in if i not in out] + \
            [i for i, keep in decisions.items() if keep and i not in self.settings.force_in]
        force_out = [i for i in self.settings.force_out if decisions.get(i) is not True] + \
            [i for i in out if i not in self.settings.force_out]
        settings = dataclasses.replace(self.settings, force_in=force_in, force_out=force_out)
        return dataclasses.replace(self, initiatives=ini, settings=settings)

    def raised(self, limits) -> "Portfolio":
        """A copy with limits raised: `limits` holds (resource, period or financial-year label, amount)
        and each capacity row of that resource and label gains the amount."""
        if not limits:
            return self
        capacity = self.capacity.copy()
        for resource, period, amount in limits:
            hit = (capacity["resource"] == resource) & (capacity["period"] == period)
            if not hit.any():
                raise ValueError(f"no {resource} limit for {period}")
            capacity.loc[hit, "amount"] += float(amount)
        return dataclasses.replace(self, capacity=capacity)
