"""The funding-cut stress test: prioritiser.stress on the current what-if, as a chart and a table."""
from __future__ import annotations

import ipywidgets as W

from .. import charts, panels
from ..state import STRESS_CUTS
from ..widgets import FigurePanel, safe, with_class


class Stress(FigurePanel):
    key = "stress"
    title = "Funding-cut stress test"
    help = ("How much value is lost, and which initiatives go first, if capital is cut from the second financial "
            "year. Each cut is re-optimised (five solves).")
    observes = ("result", "stress_table", "stress_progress")

    def body(self) -> list[W.Widget]:
        self.stress_button = with_class(W.Button(description="Run stress test", icon="line-chart",
                                                 tooltip="Re-optimise with capital cut by 5, 10, 20 and 30% from the "
                                                         "second financial year", layout=W.Layout(width="180px")),
                                        "stress-button")
        self.stress_bar = W.IntProgress(min=0, max=len(STRESS_CUTS), value=0, description="Progress",
                                        layout=W.Layout(width="320px", visibility="hidden"))
        self.stress_table = W.HTML("")
        self.stress_button.on_click(self._run)
        figure = super().body()
        return [W.HBox([self.stress_button, self.stress_bar], layout=W.Layout(align_items="center")), *figure,
                self.stress_table]

    def refresh(self, change=None) -> None:
        st, name = self.state, change["name"] if change else None
        if name == "stress_progress":
            self.stress_bar.value = int(round(st.stress_progress * self.stress_bar.max))
            return
        if not self.redraws_on(change) or (name == "result" and self.figure is not None):
            return  # drawn with the first plan; afterwards only when a stress test runs
        start = st.base.horizon.second_fy_label
        self.draw(*charts.stress_chart(st.stress_table, "capital", start))
        self.stress_table.value = panels.stress_html(st.stress_table, st.stress_label)
        if st.stress_table is not None:
            self.stress_bar.value = self.stress_bar.max

    @safe
    def _run(self, _button=None):
        self.stress_button.disabled = True
        self.stress_bar.layout.visibility = "visible"
        self.stress_bar.value = 0
        try:
            self.state.stress()
        finally:
            self.stress_button.disabled = False
