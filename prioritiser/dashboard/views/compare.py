"""Plan A and the current plan side by side (prioritiser.compare): pin, clear, and what changed."""
from __future__ import annotations

import logging

import ipywidgets as W

from .. import panels
from ..formatting import esc
from ..widgets import Panel, safe, with_class

log = logging.getLogger(__name__)


class Compare(Panel):
    title = "Compare with plan A"
    observes = ("result", "pinned", "alternatives")

    def body(self) -> list[W.Widget]:
        self.pin_button = with_class(W.Button(description="Pin this plan as A", icon="thumb-tack",
                                              tooltip="Keep the current plan to compare the next ones with"),
                                     "pin-button")
        self.unpin_button = W.Button(description="Clear A", icon="times", disabled=True)
        self.compare = with_class(W.HTML(""), "compare-panel")
        self.find_button = with_class(W.Button(description="Find other good plans", icon="clone",
                                               tooltip="Up to 3 plans within 2% of this one, as different from it "
                                                       "and each other as possible", layout=W.Layout(width="210px")),
                                      "alternatives-button")
        self.alternative_pick = with_class(W.Dropdown(description="Pin as A", options=[], disabled=True,
                                                      layout=W.Layout(width="440px"),
                                                      style={"description_width": "60px"}), "alternative-pick")
        self.pin_button.on_click(self._pin)
        self.unpin_button.on_click(self._unpin)
        self.find_button.on_click(self._find)
        self.alternative_pick.observe(self._pin_alternative, names="value")
        return [W.HBox([self.pin_button, self.unpin_button]),
                W.HBox([self.find_button, self.alternative_pick], layout=W.Layout(grid_gap="8px")), self.compare]

    def refresh(self, change=None) -> None:
        st = self.state
        self.pin_button.disabled = self.find_button.disabled = st.result is None or not st.result.has_plan
        self.unpin_button.disabled = st.pinned is None
        if change is None or change["name"] == "alternatives":
            with self.syncing():
                self.alternative_pick.options = [("(choose one)", -1)] + panels.alternative_options(st.alternatives)
                self.alternative_pick.value = -1
                self.alternative_pick.disabled = not st.alternatives
        try:
            comparison = st.comparison()
        except Exception as exc:  # the comparison is a convenience: never block the page on it
            log.exception("comparison failed")
            self.compare.value = f'<div class="compare-box">Could not compare with A ({esc(exc)}).</div>'
            return
        self.compare.value = panels.compare_html(comparison, st.pinned_label, st.describe(st.solved_scenario))

    @safe
    def _pin(self, _button=None):
        self.state.pin()

    @safe
    def _unpin(self, _button=None):
        self.state.unpin()

    @safe
    def _find(self, _button=None):
        self.find_button.disabled = True
        try:
            self.state.find_alternatives()
        finally:
            self.find_button.disabled = False

    @safe
    def _pin_alternative(self, change):
        if not self._syncing and change["new"] is not None and change["new"] >= 0:
            self.state.pin_alternative(change["new"])
