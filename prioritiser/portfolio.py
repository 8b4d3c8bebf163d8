"""The validated portfolio with its scenario applied: what the model, heuristic and checker read."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import Issue
from .periods import Horizon
from .scenario import Scenario, Settings


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

    @property
    def ids(self) -> pd.Index:
        return self.initiatives.index

    @property
    def must_select(self) -> np.ndarray:
        """Mandatory or forced in by the scenario."""
        return self.initiatives["mandatory"].to_numpy(bool) | self.ids.isin(self.settings.force_in)

    @property
    def forced_out(self) -> np.ndarray:
        return self.ids.isin(self.settings.force_out)

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
