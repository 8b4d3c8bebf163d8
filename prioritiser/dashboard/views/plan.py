"""The plan on screen: the Optimise button and status, headline figures, roadmap, spend against
budget, staff use and the table of every initiative."""
from __future__ import annotations

import ipywidgets as W

from .. import charts, panels
from ..widgets import FigurePanel, Panel, View, safe, with_class


class StatusBar(View):
    """Optimise, and the plain sentence saying what the solver proved (or that it is still working)."""

    observes = ("busy", "stale", "notice", "proving", "result")

    def build(self) -> W.Widget:
        self.optimise = with_class(W.Button(description="Optimise", button_style="primary", icon="play",
                                            tooltip="Solve the plan with the settings on the left",
                                            layout=W.Layout(width="160px", height="38px")), "optimise-button")
        self.status = with_class(W.HTML(""), "status-panel")
        self.optimise.on_click(self._optimise)
        return W.HBox([self.optimise, self.status], layout=W.Layout(align_items="center", width="100%",
                                                                    grid_gap="12px"))

    def refresh(self, change=None) -> None:
        st = self.state
        self.status.value = panels.status_html(st.result, st.busy, st.stale, st.time_limit, st.gap, st.notice,
                                               st.proving)
        working = st.busy or st.proving
        self.optimise.disabled = working  # last: the page is up to date once the button is back
        self.optimise.description = "Optimising..." if working else "Optimise"

    @safe
    def _optimise(self, _button=None):
        self.state.solve()


class Headline(View):
    observes = ("result", "pinned")

    def build(self) -> W.Widget:
        self.headline = with_class(W.HTML(""), "headline-panel")
        return self.headline

    def refresh(self, change=None) -> None:
        self.headline.value = panels.headline_html(self.state.result, self.state.pinned)


class Roadmap(FigurePanel):
    key = "roadmap"
    title = "Roadmap"
    help = ("When each selected initiative is built (the bar) and goes live (the bar's end), coloured by category; "
            "hatched bars are mandatory; the dotted line is the end of the horizon. Hover for dates and value.")
    observes = ("result",)

    def refresh(self, change=None) -> None:
        if self.redraws_on(change):
            self.draw(*charts.roadmap(self.state.result))


class Spend(FigurePanel):
    key = "spend"
    title = "Spend against budget"
    help = "Capital and revenue spent in each financial year (coloured) inside its budget (grey)."
    observes = ("result", "pinned")

    def refresh(self, change=None) -> None:
        if self.redraws_on(change):
            self.draw(*charts.spend(self.state.result, self.state.pinned))


class Benefits(FigurePanel):
    """Money rules (issue 13): benefits by year split by cash-releasing, the targets, the Green Book appraisal."""

    key = "benefits"
    title = "Benefits and appraisal"
    help = ("Benefits the plan counts on per financial year (not discounted: benefits.csv), cash-releasing and not, "
            "with any cash-releasing target; then the Green Book appraisal, with and without optimism bias when it is "
            "on.")
    observes = ("result",)

    def body(self) -> list[W.Widget]:
        self.appraisal = with_class(W.HTML(""), "appraisal-panel")
        return [*super().body(), self.appraisal]

    def refresh(self, change=None) -> None:
        if self.redraws_on(change):
            self.draw(*charts.benefits(self.state.result))
        self.appraisal.value = panels.appraisal_html(self.state.result)


class StaffUse(FigurePanel):
    key = "staff"
    title = "Staff"
    help = "Share of each role's own capacity used in each quarter; × marks where external staff are bought."
    observes = ("result",)

    def refresh(self, change=None) -> None:
        if self.redraws_on(change):
            self.draw(*charts.staff_heatmap(self.state.result))


class InitiativeTable(Panel):
    """Every initiative, in or out, with its reason; filtered and sorted by the controls above it."""

    title = "Every initiative"
    observes = ("result",)

    def body(self) -> list[W.Widget]:
        self.table_query = with_class(W.Text(description="Filter", placeholder="id, name, category, period or reason",
                                             layout=W.Layout(width="360px"), style={"description_width": "50px"},
                                             continuous_update=True), "table-filter")
        self.table_show = with_class(W.Dropdown(description="Show", options=list(panels.SHOW),
                                                layout=W.Layout(width="240px"), style={"description_width": "45px"}),
                                     "table-show")
        self.table_sort = with_class(W.Dropdown(description="Sort by", options=list(panels.SORT_KEYS),
                                                layout=W.Layout(width="220px"), style={"description_width": "55px"}),
                                     "table-sort")
        self.table_order = with_class(W.Dropdown(description="Order", options=[("Earliest / smallest first", True),
                                                                               ("Latest / largest first", False)],
                                                 layout=W.Layout(width="280px"), style={"description_width": "45px"}),
                                      "table-order")
        self.table = with_class(W.HTML(""), "table-panel")
        for control in (self.table_query, self.table_show, self.table_sort, self.table_order):
            control.observe(self.refresh, names="value")
        controls = W.HBox([self.table_query, self.table_show, self.table_sort, self.table_order],
                          layout=W.Layout(flex_flow="row wrap", grid_gap="8px"))
        return [controls, self.table]

    def refresh(self, change=None) -> None:
        if change is not None and change["name"] == "result" and self.state.same_plan_as_shown:
            return
        result = self.state.result
        rows = panels.initiative_rows(result, self.table_query.value, self.table_show.value, self.table_sort.value,
                                      self.table_order.value)
        self.table.value = panels.table_html(rows, len(result.plan) if result is not None else 0)


class ChangesPanel(Panel):
    """What the plan changes against the approved plan (as changes.csv), or why it cannot be kept."""

    title = "Changes against the approved plan"
    help = ("Each approved initiative that moves, drops or (in flight) stops, and what is added; or, when the "
            "approved plan cannot be kept, the limits and rules in the way.")
    observes = ("result",)

    def body(self) -> list[W.Widget]:
        self.changes = with_class(W.HTML(""), "changes-panel")
        return [self.changes]

    def refresh(self, change=None) -> None:
        self.changes.value = panels.changes_html(self.state.result)


class RiskView(Panel):
    """Issue 13: how sure the plan is, from the ranges (`prioritiser risk`'s held-fixed part)."""

    title = "Risk"
    help = ("The plan held fixed under draws of capital cost, benefit and duration from each initiative's range "
            "(capital_cost_low/_high, ...): the spread of its NPV and the chance each year's budget is overspent.")
    observes = ("result", "risk")

    def body(self) -> list[W.Widget]:
        self.risk_button = with_class(W.Button(description="Simulate risk", icon="random",
                                               tooltip="2,000 draws of the current plan (seed 1)",
                                               layout=W.Layout(width="180px")), "risk-button")
        self.risk_box = with_class(W.HTML(""), "risk-panel")
        self.risk_button.on_click(self._run)
        return [self.risk_button, self.risk_box]

    def refresh(self, change=None) -> None:
        self.risk_box.value = panels.risk_html(self.state.risk, self.state.result)

    @safe
    def _run(self, _button=None):
        self.risk_button.disabled = True
        try:
            self.state.simulate_risk()
        finally:
            self.risk_button.disabled = False
