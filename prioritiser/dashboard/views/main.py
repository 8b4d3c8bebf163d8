"""The main area: the panels, top to bottom, in PANELS order."""
from __future__ import annotations

import ipywidgets as W

from ..widgets import View, with_class
from .compare import Compare
from .downloads import Downloads
from .explain import Diagnosis, Explain
from .plan import (Benefits, ChangesPanel, Headline, InitiativeTable, RiskView, Roadmap, Spend, StaffUse,
                   StatusBar)
from .stress import Stress

PANELS = (StatusBar, Diagnosis, Headline, Roadmap, Spend, Benefits, RiskView, StaffUse, InitiativeTable, ChangesPanel,
          Explain, Compare, Stress, Downloads)


class MainArea(View):
    def build(self) -> W.Widget:
        self.panels = [cls(self.state) for cls in PANELS]
        main = W.VBox([p.root for p in self.panels],
                      layout=W.Layout(flex="1 1 auto", padding="0 0 0 16px", min_width="0"))
        return with_class(main, "pd-main")
