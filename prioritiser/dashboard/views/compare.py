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
    observes = ("result", "pinned")

    def body(self) -> list[W.Widget]:
        self.pin_button = with_class(W.Button(description="Pin this plan as A", icon="thumb-tack",
                                              tooltip="Keep the current plan to compare the next ones with"),
                                     "pin-button")
        self.unpin_button = W.Button(description="Clear A", icon="times", disabled=True)
        self.compare = with_class(W.HTML(""), "compare-panel")
        self.pin_button.on_click(self._pin)
        self.unpin_button.on_click(self._unpin)
        return [W.HBox([self.pin_button, self.unpin_button]), self.compare]

    def refresh(self, change=None) -> None:
        st = self.state
        self.pin_button.disabled = st.result is None or not st.result.has_plan
        self.unpin_button.disabled = st.pinned is None
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
