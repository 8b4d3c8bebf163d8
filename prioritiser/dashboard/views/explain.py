"""Explanations on the page: why there is no plan (and a button that applies the least fix as a
what-if), what reversing one initiative's decision costs, and what one more step of each binding
limit buys. Each calls the same public API as `prioritiser explain` on the plan shown."""
from __future__ import annotations

import ipywidgets as W

from .. import panels
from ..widgets import Panel, safe, with_class


class Diagnosis(Panel):
    """Shown only when the plan is infeasible."""

    title = "Why there is no plan"
    help = "The fewest limits to raise (or rules to drop) that would give a plan, each by the least that works."
    observes = ("result", "busy")

    def body(self) -> list[W.Widget]:
        self.diagnosis = with_class(W.HTML(""), "diagnosis-panel")
        self.apply_fix = with_class(W.Button(description="Apply this as a what-if", icon="wrench",
                                             tooltip="Raise each limit by its shortfall (and release forced-in "
                                                     "initiatives named), then optimise",
                                             layout=W.Layout(width="220px")), "apply-diagnosis")
        self.apply_fix.on_click(self._apply)
        return [self.diagnosis, self.apply_fix]

    def refresh(self, change=None) -> None:
        result = self.state.result
        infeasible = result is not None and result.status.value == "infeasible"
        self.root.layout.display = "flex" if infeasible else "none"
        self.diagnosis.value = panels.diagnosis_html(result)
        self.apply_fix.disabled = not (infeasible and result.diagnosis) or self.state.busy

    @safe
    def _apply(self, _button=None):
        self.state.apply_diagnosis()


class Explain(Panel):
    title = "What a decision costs, and what more budget buys"
    help = ("Pick an initiative to see how much the objective falls if its decision is reversed and the rest "
            "re-optimised; or measure what one more £100,000 or FTE of each binding limit is worth.")
    observes = ("result", "initiatives", "opportunity", "marginal_table", "explain_progress")

    def body(self) -> list[W.Widget]:
        self.pick = with_class(W.Dropdown(description="Initiative", options=[], layout=W.Layout(width="360px"),
                                          style={"description_width": "70px"}), "explain-pick")
        self.explain_button = with_class(W.Button(description="Cost of reversing it", icon="balance-scale",
                                                  layout=W.Layout(width="200px")), "explain-button")
        self.limits_button = with_class(W.Button(description="Value of more budget and staff", icon="plus-circle",
                                                 layout=W.Layout(width="260px")), "limits-button")
        self.explain_bar = W.FloatProgress(min=0, max=1, value=0, layout=W.Layout(width="240px", visibility="hidden"))
        self.opportunity_box = with_class(W.HTML(""), "opportunity-panel")
        self.marginal_box = with_class(W.HTML(""), "marginal-panel")
        self.explain_button.on_click(self._explain)
        self.limits_button.on_click(self._limits)
        return [W.HBox([self.pick, self.explain_button], layout=W.Layout(grid_gap="8px")), self.opportunity_box,
                W.HBox([self.limits_button, self.explain_bar], layout=W.Layout(align_items="center")),
                self.marginal_box]

    def refresh(self, change=None) -> None:
        st, name = self.state, change["name"] if change else None
        if name == "explain_progress":
            self.explain_bar.value = st.explain_progress
            return
        if name in (None, "initiatives"):
            self.pick.options = [(f"{i} {n}" if n != i else i, i) for i, n in st.initiatives.items()]
        has_plan = st.result is not None and st.result.has_plan
        self.explain_button.disabled = self.limits_button.disabled = not has_plan
        self.opportunity_box.value = panels.opportunity_html(st.opportunity, st.result)
        self.marginal_box.value = panels.marginal_html(st.marginal_table, st.result)

    def _busy(self, on: bool) -> None:
        self.explain_button.disabled = self.limits_button.disabled = on
        self.explain_bar.layout.visibility = "visible" if on else "hidden"
        self.explain_bar.value = 0

    @safe
    def _explain(self, _button=None):
        if self.pick.value:
            self._busy(True)
            try:
                self.state.explain_initiative(self.pick.value)
            finally:
                self._busy(False)

    @safe
    def _limits(self, _button=None):
        self._busy(True)
        try:
            self.state.explain_limits()
        finally:
            self._busy(False)
