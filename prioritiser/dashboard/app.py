"""The page: ipywidgets and plotly FigureWidgets, each a view of one DashboardState.

Controls write traits of the state; outputs observe the state and redraw. Nothing here decides
anything about the plan: that is prioritiser.run's job, called by the state.
"""
from __future__ import annotations

import functools
import logging

import ipywidgets as W
import plotly.graph_objects as go

from prioritiser.scenario import WEIGHT_KEYS

from . import charts, panels
from .download import DownloadButton
from .figure import figure_widget
from .formatting import category_colours
from .state import STRESS_CUTS, DashboardState

log = logging.getLogger(__name__)

CSS = """
<style>
.pd-app { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; }
.pd-app h1 { font-size: 1.6em; margin: 0.2em 0 0.1em 0; color: #003087; }
.pd-app h2 { font-size: 1.2em; margin: 0.9em 0 0.3em 0; color: #003087; border-bottom: 2px solid #005EB8; }
.pd-app h3 { font-size: 1.0em; margin: 0.8em 0 0.2em 0; color: #003087; }
.pd-sub { color: #444; margin-bottom: 0.4em; }
.pd-side { background: #f4f6f9; border-right: 1px solid #d8dde6; padding: 6px 10px 12px 10px; }
.pd-help { color: #555; font-size: 0.88em; margin: 0 0 4px 0; line-height: 1.3; }
.pd-cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0; }
.pd-card { flex: 1 1 140px; border: 1px solid #c9d2de; border-left: 6px solid #005EB8; border-radius: 4px;
           padding: 8px 12px; background: #fff; }
.pd-card-label { font-size: 0.85em; color: #444; }
.pd-card-value { font-size: 1.45em; font-weight: bold; color: #111; margin: 2px 0; }
.pd-card-note { font-size: 0.8em; color: #555; }
.pd-card-delta { font-size: 0.85em; font-weight: bold; margin-top: 2px; }
.pd-card-delta.up, .num.up { color: #00613a; }
.pd-card-delta.down, .num.down { color: #a33000; }
.pd-status { padding: 8px 12px; border-radius: 4px; border: 1px solid #c9d2de; background: #fff; line-height: 1.35; }
.pd-status-word { font-weight: bold; letter-spacing: 0.03em; margin-right: 4px; }
.status-optimal { border-left: 6px solid #009E73; }
.status-feasible { border-left: 6px solid #E69F00; }
.status-infeasible, .status-error { border-left: 6px solid #D55E00; background: #fff4ee; }
.status-busy { border-left: 6px solid #56B4E9; background: #eef7fd; }
.pd-stale { margin-top: 4px; color: #7a4a00; font-weight: bold; }
.pd-notice { margin-top: 4px; color: #333; }
.pd-spinner { display: inline-block; width: 14px; height: 14px; border: 3px solid #9cc9ea;
              border-top-color: #005EB8; border-radius: 50%; animation: pd-spin 0.8s linear infinite;
              vertical-align: -2px; margin-right: 6px; }
@keyframes pd-spin { to { transform: rotate(360deg); } }
.pd-issues { border: 1px solid #D55E00; border-left: 6px solid #D55E00; background: #fff4ee; padding: 6px 12px;
             margin: 6px 0; border-radius: 4px; }
.pd-issues-title { font-weight: bold; }
.pd-issues ul { margin: 4px 0; padding-left: 20px; }
.pd-where { font-weight: bold; }
.pd-warnings summary { cursor: pointer; color: #7a4a00; }
.pd-table-wrap { max-height: 460px; overflow: auto; border: 1px solid #d8dde6; }
.pd-table { border-collapse: collapse; width: 100%; font-size: 0.88em; }
.pd-table caption { text-align: left; color: #444; padding: 4px; caption-side: top; }
.pd-table th { background: #005EB8; color: #fff; text-align: left; padding: 4px 6px; position: sticky; top: 0; }
.pd-table th[scope=row] { background: #f0f4f9; color: #222; position: static; }
.pd-table td { padding: 3px 6px; border-bottom: 1px solid #e3e7ee; vertical-align: top; }
.pd-table td.num { text-align: right; white-space: nowrap; }
.pd-table tr.row-out td { color: #555; background: #fafafa; }
.pd-table tr.row-in td.col-in_plan { color: #00613a; font-weight: bold; }
.pd-table td.col-start, .pd-table td.col-go_live, .pd-table td.col-id { white-space: nowrap; }
.pd-compare p { margin: 4px 0; }
.pd-changes { padding-left: 20px; }
.pd-download { display: inline-flex; align-items: center; gap: 8px; margin-right: 16px; }
.pd-download-button { padding: 0 14px; height: 32px; width: auto; }
.pd-download-note { color: #444; font-size: 0.85em; }
.pd-app .widget-label { color: #222; }
.pd-app .widget-html-content { line-height: 1.35; }
.pd-app .widget-html-content h2, .pd-app .widget-html-content h3 { line-height: 1.2; }
.pd-app .widget-slider .widget-readout { min-width: 48px; }
</style>
"""

SLIDER_RANGE = (-0.5, 0.5)  # -50% .. +50%
WEIGHT_LABELS = {"benefit": "Benefit weight", "revenue": "Revenue weight", "in_year_revenue": "In-year revenue weight",
                 "alignment": "Alignment (£ per score point)", "cost": "Cost weight"}


def _safe(method):
    """Run a callback; show a failure as a plain sentence in the page (never a traceback)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # pragma: no cover - a safety net for the page
            log.exception("dashboard callback failed")
            self.state.notice = f"Something went wrong ({type(exc).__name__}: {exc})."
    return wrapper


def _h(text: str, level: int = 2) -> W.HTML:
    return W.HTML(f"<h{level}>{text}</h{level}>")


def _help(text: str) -> W.HTML:
    return W.HTML(f'<p class="pd-help">{text}</p>')


class App:
    """The dashboard page. `App().display()` in a notebook; `app.state` is the model behind it."""

    def __init__(self, state: DashboardState | None = None, scenarios: dict | None = None,
                 scenario: str | None = None):
        self._syncing = False
        self._fy_sliders: dict[str, dict[str, W.FloatSlider]] = {"capital": {}, "revenue": {}}
        self._staff_sliders: dict[str, W.FloatSlider] = {}
        self._weight_boxes: dict[str, W.FloatText] = {}
        self._tag_to_id: dict[str, str] = {}
        self._id_to_tag: dict[str, str] = {}
        self._build_static()
        self.state = state if state is not None else DashboardState(scenarios=scenarios, load=False)
        self._bind()
        if state is None:
            first = scenario or next(iter(self.state.scenarios), None)
            if first is not None:
                self.state.scenario_name = first  # loads and solves; views follow
        else:
            self._on_base(None)
            self._render_all()

    # ================================================================== layout
    def _build_static(self) -> None:
        wide = W.Layout(width="100%")
        style = {"description_width": "170px"}
        self.title = W.HTML("<h1>Digital portfolio: what to fund, and when</h1>")
        self.subtitle = W.HTML('<div class="pd-sub"></div>')
        self.scenario = W.Dropdown(description="Scenario", options=[], layout=W.Layout(width="380px"),
                                   style={"description_width": "70px"}, tooltip="Choose a bundled scenario")
        self.scenario.add_class("scenario-select")
        self.upload = W.FileUpload(accept=".xlsx,.zip", multiple=False, description="Upload portfolio (.xlsx or .zip)",
                                   layout=W.Layout(width="260px"), tooltip="An Excel workbook or a .zip of CSV files "
                                   "in the portfolio format")
        self.upload.add_class("upload-button")
        self.reset_button = W.Button(description="Reset to scenario", icon="undo", tooltip="Undo every change made "
                                     "in this page", layout=W.Layout(width="auto"))
        self.issues = W.HTML("")
        self.issues.add_class("issues-panel")

        # ---- inputs
        self.capital_all = self._slider("Capital, all years", "capital-all")
        self.revenue_all = self._slider("Revenue, all years", "revenue-all")
        self.capital_years = W.VBox()
        self.revenue_years = W.VBox()
        self.staff_box = W.VBox()
        self.weights_box = W.VBox()
        self.discount = W.BoundedFloatText(description="Discount rate (% a year)", min=0, max=20, step=0.1,
                                           style=style, layout=wide)
        self.discount.add_class("discount-rate")
        self.external = W.Checkbox(description="Allow buying external staff", indent=False, layout=wide)
        self.external.add_class("external-toggle")
        self.force_in = W.TagsInput(allowed_tags=[], allow_duplicates=False, placeholder="type an id or a name",
                                    description="Force in",
                                    layout=wide, tooltip="Initiatives that must be in the plan")
        self.force_in.add_class("force-in")
        self.force_out = W.TagsInput(allowed_tags=[], allow_duplicates=False, placeholder="type an id or a name",
                                     description="Force out",
                                     layout=wide, tooltip="Initiatives to leave out of the plan")
        self.force_out.add_class("force-out")
        self.time_limit = W.BoundedFloatText(description="Time limit (seconds)", min=1, max=600, step=1, style=style,
                                             layout=wide)
        self.time_limit.add_class("time-limit")
        self.gap = W.BoundedFloatText(description="Gap tolerance (%)", min=0, max=10, step=0.1, style=style,
                                      layout=wide)
        self.gap.add_class("gap-tolerance")
        self.solver = W.Dropdown(description="Solver", options=[("HiGHS", "highs"), ("CBC", "cbc")], style=style,
                                 layout=wide)
        self.auto = W.Checkbox(description="Re-optimise on every change", indent=False, layout=wide)
        self.auto.add_class("auto-solve")
        self.quick = W.Checkbox(description="Show a first plan within a second, then prove it", indent=False,
                                layout=wide)
        self.quick.add_class("quick-first")

        side = W.VBox([
            _h("Budgets"),
            _help("Change each budget by a percentage. The 'every year' sliders set all years at once."),
            self.capital_all, self.revenue_all,
            W.HTML("<h3>Capital by financial year</h3>"), self.capital_years,
            W.HTML("<h3>Revenue by financial year</h3>"), self.revenue_years,
            _h("Staff capacity"),
            _help("Change each role's capacity in every period by a percentage."),
            self.staff_box, self.external,
            _h("What counts as value"),
            _help("Weights of the objective: benefit + revenue + in-year revenue + alignment - cost."),
            self.weights_box, self.discount,
            _h("Forced choices"),
            _help("Type part of an id or a name and pick from the list; press Enter to add."),
            W.HTML('<label class="widget-label">Force in</label>'), self.force_in,
            W.HTML('<label class="widget-label">Force out</label>'), self.force_out,
            _h("Solver"),
            _help("A plan is usually found within a second; proving it best within the gap tolerance takes "
                  "a second or two more. A plan stopped by the time limit is shown as feasible, with its gap."),
            self.time_limit, self.gap, self.solver, self.quick, self.auto,
        ], layout=W.Layout(width="400px", min_width="400px"))
        side.add_class("pd-side")

        # ---- outputs
        self.optimise = W.Button(description="Optimise", button_style="primary", icon="play",
                                 tooltip="Solve the plan with the settings on the left",
                                 layout=W.Layout(width="160px", height="38px"))
        self.optimise.add_class("optimise-button")
        self.status = W.HTML("")
        self.status.add_class("status-panel")
        self.headline = W.HTML("")
        self.headline.add_class("headline-panel")
        # figures are made at their first drawing, with their data (see figure.py)
        self.figures: dict[str, go.FigureWidget] = {}
        self.figure_boxes = {key: W.VBox(layout=W.Layout(width="100%", min_height="120px"))
                             for key in ("roadmap", "spend", "staff", "stress")}

        self.table_query = W.Text(description="Filter", placeholder="id, name, category, period or reason",
                                  layout=W.Layout(width="360px"), style={"description_width": "50px"},
                                  continuous_update=True)
        self.table_query.add_class("table-filter")
        self.table_show = W.Dropdown(description="Show", options=list(panels.SHOW), layout=W.Layout(width="240px"),
                                     style={"description_width": "45px"})
        self.table_show.add_class("table-show")
        self.table_sort = W.Dropdown(description="Sort by", options=list(panels.SORT_KEYS),
                                     layout=W.Layout(width="220px"), style={"description_width": "55px"})
        self.table_sort.add_class("table-sort")
        self.table_order = W.Dropdown(description="Order", options=[("Earliest / smallest first", True),
                                                                     ("Latest / largest first", False)],
                                      layout=W.Layout(width="280px"), style={"description_width": "45px"})
        self.table_order.add_class("table-order")
        self.table = W.HTML("")
        self.table.add_class("table-panel")

        self.pin_button = W.Button(description="Pin this plan as A", icon="thumb-tack",
                                   tooltip="Keep the current plan to compare the next ones with")
        self.pin_button.add_class("pin-button")
        self.unpin_button = W.Button(description="Clear A", icon="times", disabled=True)
        self.compare = W.HTML("")
        self.compare.add_class("compare-panel")

        self.stress_button = W.Button(description="Run stress test", icon="line-chart",
                                      tooltip="Re-optimise with capital cut by 5, 10, 20 and 30% from the second "
                                              "financial year", layout=W.Layout(width="180px"))
        self.stress_button.add_class("stress-button")
        self.stress_bar = W.IntProgress(min=0, max=len(STRESS_CUTS), value=0, description="Progress",
                                        layout=W.Layout(width="320px", visibility="hidden"))
        self.stress_table = W.HTML("")

        self.download_report = DownloadButton(self._report_payload, label="Excel report (.xlsx)",
                                              hint="Download the current plan as an Excel workbook")
        self.download_report.add_class("download-report")
        self.download_yaml = DownloadButton(self._yaml_payload, label="Scenario file (.yaml)",
                                            hint="Download the scenario behind the current plan; "
                                                    "'prioritiser run' on it reproduces this plan")
        self.download_yaml.add_class("download-yaml")

        box = self.figure_boxes.__getitem__
        main = W.VBox([
            W.HBox([self.optimise, self.status], layout=W.Layout(align_items="center", width="100%",
                                                                 grid_gap="12px")),
            self.headline,
            _h("Roadmap"),
            _help("When each selected initiative is built (the bar) and goes live (the bar's end), coloured by "
                  "category; hatched bars are mandatory; the dotted line is the end of the horizon. Hover for "
                  "dates and value."),
            box("roadmap"),
            _h("Spend against budget"),
            _help("Capital and revenue spent in each financial year (coloured) inside its budget (grey)."),
            box("spend"),
            _h("Staff"),
            _help("Share of each role's own capacity used in each quarter; × marks where external staff are "
                  "bought."),
            box("staff"),
            _h("Every initiative"),
            W.HBox([self.table_query, self.table_show, self.table_sort, self.table_order],
                   layout=W.Layout(flex_flow="row wrap", grid_gap="8px")),
            self.table,
            _h("Compare with plan A"),
            W.HBox([self.pin_button, self.unpin_button]), self.compare,
            _h("Funding-cut stress test"),
            _help("How much value is lost, and which initiatives go first, if capital is cut from the second "
                  "financial year. Each cut is re-optimised (five solves)."),
            W.HBox([self.stress_button, self.stress_bar], layout=W.Layout(align_items="center")),
            box("stress"), self.stress_table,
            _h("Downloads"),
            W.HBox([self.download_report, self.download_yaml]),
        ], layout=W.Layout(flex="1 1 auto", padding="0 0 0 16px", min_width="0"))
        main.add_class("pd-main")

        self.root = W.VBox([
            W.HTML(CSS), self.title, self.subtitle,
            W.HBox([self.scenario, self.upload, self.reset_button], layout=W.Layout(align_items="center",
                                                                                    grid_gap="10px")),
            self.issues,
            W.HBox([side, main], layout=W.Layout(width="100%", align_items="flex-start")),
        ], layout=W.Layout(width="100%"))
        self.root.add_class("pd-app")

    def _slider(self, label: str, cls: str | None = None) -> W.FloatSlider:
        s = W.FloatSlider(value=0.0, min=SLIDER_RANGE[0], max=SLIDER_RANGE[1], step=0.01, description=label,
                          readout_format="+.0%", continuous_update=False, style={"description_width": "170px"},
                          layout=W.Layout(width="100%"))
        if cls:
            s.add_class(cls)
        return s

    # ================================================================== bindings
    def _bind(self) -> None:
        st = self.state
        st.observe(self._on_scenarios, names="scenarios")
        st.observe(self._on_base, names="base")
        st.observe(self._on_inputs, names=["capital", "revenue", "staff", "weights", "discount_rate", "external",
                                           "force_in", "force_out", "time_limit", "gap", "solver", "auto_solve",
                                           "quick_first"])
        st.observe(self._on_result, names="result")
        st.observe(self._on_status, names=["busy", "stale", "notice", "proving"])
        st.observe(self._on_issues, names="issues")
        st.observe(self._on_pinned, names="pinned")
        st.observe(self._on_stress, names="stress_table")
        st.observe(self._on_stress_progress, names="stress_progress")
        self._on_scenarios(None)

        self.scenario.observe(self._set_scenario, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.reset_button.on_click(self._reset)
        self.capital_all.observe(functools.partial(self._set_all_years, "capital"), names="value")
        self.revenue_all.observe(functools.partial(self._set_all_years, "revenue"), names="value")
        self.discount.observe(self._set_simple("discount_rate", lambda v: round(v / 100, 6)), names="value")
        self.external.observe(self._set_simple("external", bool), names="value")
        self.force_in.observe(self._set_simple("force_in", self._ids_of), names="value")
        self.force_out.observe(self._set_simple("force_out", self._ids_of), names="value")
        self.time_limit.observe(self._set_simple("time_limit", float), names="value")
        self.gap.observe(self._set_simple("gap", lambda v: round(v / 100, 6)), names="value")
        self.solver.observe(self._set_simple("solver", str), names="value")
        self.auto.observe(self._set_simple("auto_solve", bool), names="value")
        self.quick.observe(self._set_simple("quick_first", bool), names="value")
        self.optimise.on_click(self._optimise)
        for w in (self.table_query, self.table_show, self.table_sort, self.table_order):
            w.observe(self._render_table, names="value")
        self.pin_button.on_click(self._pin)
        self.unpin_button.on_click(self._unpin)
        self.stress_button.on_click(self._run_stress)

    # ---- view -> state
    def _set_simple(self, trait: str, convert):
        def handler(change):
            if self._syncing:
                return
            try:
                setattr(self.state, trait, convert(change["new"]))
            except Exception as exc:
                self.state.notice = f"That value was not accepted ({exc})."
        return handler

    def _set_scenario(self, change):
        if self._syncing or not change["new"] or change["new"] == self.state.scenario_name:
            return
        self.state.scenario_name = change["new"]

    def _set_all_years(self, resource: str, change):
        if self._syncing:
            return
        pct = round(change["new"] * 100, 1)
        setattr(self.state, resource, {fy: pct for fy in getattr(self.state, resource)})

    def _set_year(self, resource: str, fy: str, change):
        if self._syncing:
            return
        setattr(self.state, resource, {**getattr(self.state, resource), fy: round(change["new"] * 100, 1)})

    def _set_role(self, role: str, change):
        if self._syncing:
            return
        self.state.staff = {**self.state.staff, role: round(change["new"] * 100, 1)}

    def _set_weight(self, key: str, change):
        if self._syncing:
            return
        self.state.weights = {**self.state.weights, key: float(change["new"])}

    def _ids_of(self, tags) -> list[str]:
        return [self._tag_to_id.get(t, t.split(" · ")[0].strip()) for t in tags]

    @_safe
    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        self.state.upload(f["name"], bytes(f["content"]))
        self._syncing = True
        try:
            self.upload.value = ()
        finally:
            self._syncing = False

    @_safe
    def _reset(self, _button=None):
        self.state.reset()

    @_safe
    def _optimise(self, _button=None):
        self.state.solve()

    @_safe
    def _pin(self, _button=None):
        self.state.pin()

    @_safe
    def _unpin(self, _button=None):
        self.state.unpin()

    @_safe
    def _run_stress(self, _button=None):
        self.stress_button.disabled = True
        self.stress_bar.layout.visibility = "visible"
        self.stress_bar.value = 0
        try:
            self.state.stress()
        finally:
            self.stress_button.disabled = False

    # ---- state -> view
    def _on_scenarios(self, _change):
        self._syncing = True
        try:
            self.scenario.options = list(self.state.scenarios)
            if self.state.scenario_name in self.state.scenarios:
                self.scenario.value = self.state.scenario_name
        finally:
            self._syncing = False

    def _on_base(self, _change):
        """A new scenario: rebuild the controls whose shape depends on it (years, roles, initiatives)."""
        base = self.state.base
        if base is None:
            return
        self._syncing = True
        try:
            if self.scenario.value != self.state.scenario_name and self.state.scenario_name in self.scenario.options:
                self.scenario.value = self.state.scenario_name
            self.subtitle.value = f'<div class="pd-sub">{panels.esc(base.description or base.name)}</div>'
            fys = base.horizon.fy_labels
            for resource, box in (("capital", self.capital_years), ("revenue", self.revenue_years)):
                sliders = {}
                for fy in fys:
                    s = self._slider(f"{resource.capitalize()} {fy}", f"{resource}-fy")
                    s.observe(functools.partial(self._set_year, resource, fy), names="value")
                    sliders[fy] = s
                self._fy_sliders[resource] = sliders
                box.children = list(sliders.values())
            self._staff_sliders = {}
            for role in self.state.staff:
                s = self._slider(charts.pretty(role), "staff-slider")
                s.observe(functools.partial(self._set_role, role), names="value")
                self._staff_sliders[role] = s
            self.staff_box.children = list(self._staff_sliders.values()) or [_help("No staff roles in this "
                                                                                 "portfolio.")]
            self._weight_boxes = {}
            for key in WEIGHT_KEYS:
                t = W.FloatText(description=WEIGHT_LABELS[key], style={"description_width": "200px"},
                                layout=W.Layout(width="95%"))
                t.add_class(f"weight-{key}")
                t.observe(functools.partial(self._set_weight, key), names="value")
                self._weight_boxes[key] = t
            self.weights_box.children = list(self._weight_boxes.values())
            # initiatives for the forced choices: "ID · name", searchable by either
            from prioritiser.tables import read_portfolio

            raw = read_portfolio(base.portfolio).tables.get("initiatives")
            tags = {}
            if raw is not None and "id" in raw.frame:
                names = raw.frame["name"] if "name" in raw.frame else raw.frame["id"]
                for i, n in zip(raw.frame["id"], names):
                    i = str(i).strip()
                    if i:
                        tags[f"{i} · {str(n).strip() or i}"] = i
            self._tag_to_id = tags
            self._id_to_tag = {v: k for k, v in tags.items()}
            self.force_in.allowed_tags = list(tags)
            self.force_out.allowed_tags = list(tags)
            self._colours = None
        finally:
            self._syncing = False
        self._on_inputs(None)

    def _on_inputs(self, _change):
        st = self.state
        if st.base is None:
            return
        def put(slider, pct):
            # only a real change is sent back: echoing a value the browser already has (as 0.07 for its
            # 0.06999...) would pull a slider back while the user is still moving it
            if round(slider.value * 1000) != round(float(pct) * 10):
                slider.value = float(pct) / 100

        self._syncing = True
        try:
            for resource in ("capital", "revenue"):
                values = getattr(st, resource)
                for fy, s in self._fy_sliders[resource].items():
                    put(s, values.get(fy, 0.0))
                distinct = set(values.values())
                if len(distinct) == 1:
                    put(self.capital_all if resource == "capital" else self.revenue_all, distinct.pop())
            for role, s in self._staff_sliders.items():
                put(s, st.staff.get(role, 0.0))
            for key, t in self._weight_boxes.items():
                t.value = float(st.weights.get(key, 0.0))
            self.discount.value = round(st.discount_rate * 100, 4)
            self.external.value = st.external
            self.force_in.value = [self._id_to_tag.get(i, i) for i in st.force_in]
            self.force_out.value = [self._id_to_tag.get(i, i) for i in st.force_out]
            self.time_limit.value = st.time_limit
            self.gap.value = round(st.gap * 100, 4)
            self.solver.value = st.solver if st.solver in ("highs", "cbc") else "highs"
            self.auto.value = st.auto_solve
            self.quick.value = st.quick_first
        finally:
            self._syncing = False

    def _on_status(self, _change=None):
        st = self.state
        self.status.value = panels.status_html(st.result, st.busy, st.stale, st.time_limit, st.gap, st.notice,
                                               st.proving)
        self.optimise.disabled = st.busy or st.proving  # last: the page is up to date once it is back
        self.optimise.description = "Optimising..." if (st.busy or st.proving) else "Optimise"

    def _on_issues(self, _change=None):
        self.issues.value = panels.issues_html(self.state.issues)

    def _on_result(self, change=None):
        if self.state.same_plan_as_shown:
            # the full solve proved the first plan shown: only the words about it change
            self._on_status()
            self._render_headline()
            self._render_compare()
            return
        self._render_all()

    def _on_pinned(self, _change=None):
        self.unpin_button.disabled = self.state.pinned is None
        self._render_headline()
        self._render_compare()
        self._render_spend()

    def _on_stress(self, _change=None):
        st = self.state
        start = st.base.horizon.second_fy_label if st.base is not None else ""
        self._draw("stress", *charts.stress_chart(st.stress_table, "capital", start))
        self.stress_table.value = panels.stress_html(st.stress_table, st.stress_label)
        if st.stress_table is not None:
            self.stress_bar.value = self.stress_bar.max

    def _on_stress_progress(self, change):
        self.stress_bar.value = int(round(change["new"] * self.stress_bar.max))

    # ---- renderers
    def _draw(self, key: str, traces: list, layout: dict) -> None:
        fig = self.figures.get(key)
        if fig is None:
            fig = figure_widget(data=traces, layout={**charts.BASE_LAYOUT, **layout})
            fig.add_class(f"{key}-chart")
            self.figures[key] = fig
            self.figure_boxes[key].children = [fig]
        else:
            charts.sync_figure(fig, traces, layout)

    def _render_all(self) -> None:
        self._on_status()
        self._on_issues()
        self._render_headline()
        self._render_roadmap()
        self._render_spend()
        self._render_staff()
        self._render_table()
        self._render_compare()
        if "stress" not in self.figures:  # drawn once here; afterwards only when a stress test runs
            self._on_stress()
        has_plan = self.state.result is not None and self.state.result.has_plan
        self.download_report.disabled = not has_plan
        self.pin_button.disabled = not has_plan

    def _render_headline(self):
        self.headline.value = panels.headline_html(self.state.result, self.state.pinned)

    def _render_roadmap(self):
        result = self.state.result
        colours = category_colours(result.plan["category"]) if result is not None else {}
        self._draw("roadmap", *charts.roadmap(result, colours))

    def _render_spend(self):
        self._draw("spend", *charts.spend(self.state.result, self.state.pinned))

    def _render_staff(self):
        self._draw("staff", *charts.staff_heatmap(self.state.result))

    def _render_table(self, _change=None):
        result = self.state.result
        rows = panels.initiative_rows(result, self.table_query.value, self.table_show.value, self.table_sort.value,
                                      self.table_order.value)
        total = len(result.plan) if result is not None else 0
        self.table.value = panels.table_html(rows, total)

    def _render_compare(self):
        st = self.state
        try:
            comparison = st.comparison()
        except Exception as exc:  # the comparison is a convenience: never block the page on it
            log.exception("comparison failed")
            self.compare.value = f'<div class="compare-box">Could not compare with A ({panels.esc(exc)}).</div>'
            return
        self.compare.value = panels.compare_html(comparison, st.pinned_label, st.describe(st.solved_scenario))

    # ---- downloads
    def _report_payload(self):
        name, data = self.state.workbook_bytes()
        return name, data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def _yaml_payload(self):
        name, text = self.state.scenario_yaml()
        return name, text, "application/x-yaml"

    # ================================================================== display
    def display(self):
        from IPython.display import display

        display(self.root)
        return None

    def _ipython_display_(self):
        self.display()
