"""The inputs on the left: budgets, staff capacity, what counts as value, forced choices and the
solver's settings. Each section writes the state's traits and shows them back."""
from __future__ import annotations

import functools

import ipywidgets as W

from prioritiser.scenario import WEIGHT_KEYS
from prioritiser.solvers import SOLVER_LABELS, SOLVER_NAMES

from ..charts import pretty
from ..widgets import LABEL_WIDTH, Panel, View, help_text, percent_slider, show_percent, with_class

WIDE = W.Layout(width="100%")
WEIGHT_LABELS = {"benefit": "Benefit weight", "revenue": "Revenue weight", "in_year_revenue": "In-year revenue weight",
                 "alignment": "Alignment (£ per score point)", "cost": "Cost weight"}


class Section(Panel):
    """A sidebar section: `rebuild` when a new scenario changes the controls' shape, then `show`."""

    def refresh(self, change=None) -> None:
        if self.state.base is None:
            return
        with self.syncing():
            if change is None or change["name"] == "base":
                self.rebuild()
            self.show()

    def rebuild(self) -> None:
        """Make the controls whose number depends on the scenario (years, roles, initiatives)."""

    def show(self) -> None:
        raise NotImplementedError


class Budgets(Section):
    title = "Budgets"
    help = "Change each budget by a percentage. The 'every year' sliders set all years at once."
    observes = ("base", "capital", "revenue")

    def body(self) -> list[W.Widget]:
        self.capital_all = percent_slider("Capital, all years", "capital-all")
        self.revenue_all = percent_slider("Revenue, all years", "revenue-all")
        self.capital_years, self.revenue_years = W.VBox(), W.VBox()
        self.fy_sliders: dict[str, dict[str, W.FloatSlider]] = {"capital": {}, "revenue": {}}
        self.capital_all.observe(functools.partial(self._set_all_years, "capital"), names="value")
        self.revenue_all.observe(functools.partial(self._set_all_years, "revenue"), names="value")
        return [self.capital_all, self.revenue_all,
                W.HTML("<h3>Capital by financial year</h3>"), self.capital_years,
                W.HTML("<h3>Revenue by financial year</h3>"), self.revenue_years]

    def rebuild(self) -> None:
        for resource, box in (("capital", self.capital_years), ("revenue", self.revenue_years)):
            sliders = {}
            for fy in self.state.base.horizon.fy_labels:
                sliders[fy] = percent_slider(f"{resource.capitalize()} {fy}", f"{resource}-fy")
                sliders[fy].observe(functools.partial(self._set_year, resource, fy), names="value")
            self.fy_sliders[resource] = sliders
            box.children = list(sliders.values())

    def show(self) -> None:
        for resource, every in (("capital", self.capital_all), ("revenue", self.revenue_all)):
            values = getattr(self.state, resource)
            for fy, slider in self.fy_sliders[resource].items():
                show_percent(slider, values.get(fy, 0.0))
            distinct = set(values.values())
            if len(distinct) == 1:
                show_percent(every, distinct.pop())

    def _set_all_years(self, resource: str, change):
        if not self._syncing:
            pct = round(change["new"] * 100, 1)
            setattr(self.state, resource, {fy: pct for fy in getattr(self.state, resource)})

    def _set_year(self, resource: str, fy: str, change):
        if not self._syncing:
            setattr(self.state, resource, {**getattr(self.state, resource), fy: round(change["new"] * 100, 1)})


class StaffCapacity(Section):
    title = "Staff capacity"
    help = "Change each role's capacity in every period by a percentage."
    observes = ("base", "staff", "external")

    def body(self) -> list[W.Widget]:
        self.staff_box = W.VBox()
        self.staff_sliders: dict[str, W.FloatSlider] = {}
        self.external = with_class(W.Checkbox(description="Allow buying external staff", indent=False, layout=WIDE),
                                   "external-toggle")
        self.external.observe(self.setter("external", bool), names="value")
        return [self.staff_box, self.external]

    def rebuild(self) -> None:
        self.staff_sliders = {}
        for role in self.state.staff:
            self.staff_sliders[role] = percent_slider(pretty(role), "staff-slider")
            self.staff_sliders[role].observe(functools.partial(self._set_role, role), names="value")
        self.staff_box.children = list(self.staff_sliders.values()) or [help_text("No staff roles in this portfolio.")]

    def show(self) -> None:
        for role, slider in self.staff_sliders.items():
            show_percent(slider, self.state.staff.get(role, 0.0))
        self.external.value = self.state.external

    def _set_role(self, role: str, change):
        if not self._syncing:
            self.state.staff = {**self.state.staff, role: round(change["new"] * 100, 1)}


class Value(Section):
    title = "What counts as value"
    help = "Weights of the objective: benefit + revenue + in-year revenue + alignment - cost."
    observes = ("base", "weights", "discount_rate")

    def body(self) -> list[W.Widget]:
        self.weight_boxes: dict[str, W.FloatText] = {}
        for key in WEIGHT_KEYS:
            box = with_class(W.FloatText(description=WEIGHT_LABELS[key], style={"description_width": "200px"},
                                         layout=W.Layout(width="95%")), f"weight-{key}")
            box.observe(functools.partial(self._set_weight, key), names="value")
            self.weight_boxes[key] = box
        self.weights_box = W.VBox(list(self.weight_boxes.values()))
        self.discount = with_class(W.BoundedFloatText(description="Discount rate (% a year)", min=0, max=20, step=0.1,
                                                      style=LABEL_WIDTH, layout=WIDE), "discount-rate")
        self.discount.observe(self.setter("discount_rate", lambda v: round(v / 100, 6)), names="value")
        return [self.weights_box, self.discount]

    def show(self) -> None:
        for key, box in self.weight_boxes.items():
            box.value = float(self.state.weights.get(key, 0.0))
        self.discount.value = round(self.state.discount_rate * 100, 4)

    def _set_weight(self, key: str, change):
        if not self._syncing:
            self.state.weights = {**self.state.weights, key: float(change["new"])}


class ForcedChoices(Section):
    title = "Forced choices"
    help = "Type part of an id or a name and pick from the list; press Enter to add."
    observes = ("base", "force_in", "force_out")

    def body(self) -> list[W.Widget]:
        self._tag_to_id: dict[str, str] = {}
        self._id_to_tag: dict[str, str] = {}
        boxes = {}
        for trait, label, tip in (("force_in", "Force in", "Initiatives that must be in the plan"),
                                  ("force_out", "Force out", "Initiatives to leave out of the plan")):
            boxes[trait] = with_class(W.TagsInput(allowed_tags=[], allow_duplicates=False, description=label,
                                                  placeholder="type an id or a name", layout=WIDE, tooltip=tip),
                                      trait.replace("_", "-"))
            boxes[trait].observe(self.setter(trait, self._ids_of), names="value")
        self.force_in, self.force_out = boxes["force_in"], boxes["force_out"]
        return [W.HTML('<label class="widget-label">Force in</label>'), self.force_in,
                W.HTML('<label class="widget-label">Force out</label>'), self.force_out]

    def rebuild(self) -> None:
        # "ID · name", searchable by either
        self._tag_to_id = {f"{i} · {name}": i for i, name in self.state.initiatives.items()}
        self._id_to_tag = {i: tag for tag, i in self._tag_to_id.items()}
        self.force_in.allowed_tags = list(self._tag_to_id)
        self.force_out.allowed_tags = list(self._tag_to_id)

    def show(self) -> None:
        self.force_in.value = [self._id_to_tag.get(i, i) for i in self.state.force_in]
        self.force_out.value = [self._id_to_tag.get(i, i) for i in self.state.force_out]

    def _ids_of(self, tags) -> list[str]:
        return [self._tag_to_id.get(t, t.split(" · ")[0].strip()) for t in tags]


class Replanning(Section):
    title = "Re-planning"
    help = ("Against the plan the board approved (the scenario's approved_plan) and the work already in flight. "
            "Keep approved starts: every approved initiative starts where it was approved. Allow stopping: work in "
            "flight may be stopped, paying its stop cost, when that leaves more for the rest.")
    observes = ("base", "keep_approved", "allow_stopping")

    def body(self) -> list[W.Widget]:
        self.keep_approved = with_class(W.Checkbox(description="Keep approved starts", indent=False, layout=WIDE),
                                        "keep-approved")
        self.allow_stopping = with_class(W.Checkbox(description="Allow stopping work in flight", indent=False,
                                                    layout=WIDE), "allow-stopping")
        self.keep_approved.observe(self.setter("keep_approved", bool), names="value")
        self.allow_stopping.observe(self.setter("allow_stopping", bool), names="value")
        self.replan_note = help_text("")
        return [self.keep_approved, self.allow_stopping, self.replan_note]

    def show(self) -> None:
        st = self.state
        has_plan = st.base.approved_plan is not None
        self.keep_approved.value = st.keep_approved
        self.keep_approved.disabled = not has_plan
        self.allow_stopping.value = st.allow_stopping
        self.replan_note.value = ("" if has_plan else '<p class="pd-help">This scenario has no approved plan: choose '
                                  "a re-plan scenario (such as replan-capital-cut-10) to keep or change one.</p>")


class MoneyRules(Section):
    """Optimism bias on or off, and a cash-releasing savings target per financial year (issue 13)."""

    title = "Money rules"
    help = ("Optimism bias: uplift capital and build time (the scenario's uplifts, else the Green Book's) before "
            "optimising; the plan is then appraised with and without it. A cash-releasing target is a floor on the "
            "savings that count towards the cost-improvement target in that year (0 = none).")
    observes = ("base", "optimism_bias", "targets")

    def body(self) -> list[W.Widget]:
        self.optimism_bias = with_class(W.Checkbox(description="Apply Green Book optimism bias", indent=False,
                                                   layout=WIDE), "optimism-bias")
        self.optimism_bias.observe(self.setter("optimism_bias", bool), names="value")
        self.target_years = W.VBox()
        self.cash_targets: dict[str, W.FloatText] = {}
        return [self.optimism_bias, W.HTML("<h3>Cash-releasing savings target (£)</h3>"), self.target_years]

    def rebuild(self) -> None:
        self.cash_targets = {}
        for fy in self.state.base.horizon.fy_labels:
            box = with_class(W.BoundedFloatText(description=fy, min=0, max=1e12, step=100_000, style=LABEL_WIDTH,
                                                layout=WIDE), "cash-target")
            box.observe(functools.partial(self._set_target, fy), names="value")
            self.cash_targets[fy] = box
        self.target_years.children = list(self.cash_targets.values())

    def _set_target(self, fy: str, change) -> None:
        if not self._syncing:
            self.state.set_target("cash_releasing_savings", fy, float(change["new"] or 0.0))

    def show(self) -> None:
        st = self.state
        self.optimism_bias.value = st.optimism_bias
        for fy, box in self.cash_targets.items():
            box.value = st.target_of("cash_releasing_savings", fy)


class SolverSettings(Section):
    title = "Solver"
    help = ("A first plan (the plan on screen kept to the new limits, or the ranking's) is shown at once; proving "
            "the best within the gap tolerance takes a few seconds more. A plan stopped by the time limit is shown "
            "as feasible, with its gap.")
    observes = ("base", "time_limit", "gap", "solver", "quick_first", "auto_solve")

    def body(self) -> list[W.Widget]:
        self.time_limit = with_class(W.BoundedFloatText(description="Time limit (seconds)", min=1, max=600, step=1,
                                                        style=LABEL_WIDTH, layout=WIDE), "time-limit")
        self.gap = with_class(W.BoundedFloatText(description="Gap tolerance (%)", min=0, max=10, step=0.1,
                                                 style=LABEL_WIDTH, layout=WIDE), "gap-tolerance")
        self.solver = W.Dropdown(description="Solver", options=[(SOLVER_LABELS[n], n) for n in SOLVER_NAMES],
                                 style=LABEL_WIDTH, layout=WIDE)
        self.quick = with_class(W.Checkbox(description="Show a first plan at once, then prove it",
                                           indent=False, layout=WIDE), "quick-first")
        self.auto = with_class(W.Checkbox(description="Re-optimise on every change", indent=False, layout=WIDE),
                               "auto-solve")
        for widget, trait, convert in ((self.time_limit, "time_limit", float), (self.solver, "solver", str),
                                       (self.gap, "gap", lambda v: round(v / 100, 6)),
                                       (self.quick, "quick_first", bool), (self.auto, "auto_solve", bool)):
            widget.observe(self.setter(trait, convert), names="value")
        return [self.time_limit, self.gap, self.solver, self.quick, self.auto]

    def show(self) -> None:
        st = self.state
        self.time_limit.value = st.time_limit
        self.gap.value = round(st.gap * 100, 4)
        self.solver.value = st.solver if st.solver in SOLVER_NAMES else SOLVER_NAMES[0]
        self.quick.value = st.quick_first
        self.auto.value = st.auto_solve


SECTIONS = (Budgets, StaffCapacity, Value, ForcedChoices, Replanning, MoneyRules, SolverSettings)


class Sidebar(View):
    """The column of inputs: one view per section, in SECTIONS order."""

    def build(self) -> W.Widget:
        self.sections = [cls(self.state) for cls in SECTIONS]
        side = W.VBox([s.root for s in self.sections], layout=W.Layout(width="400px", min_width="400px"))
        return with_class(side, "pd-side")
