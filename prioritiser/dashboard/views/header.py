"""The top of the page: title, the chosen scenario's description, the scenario list, upload and
reset, and the list of input problems."""
from __future__ import annotations

import ipywidgets as W

from .. import panels
from ..upload_button import UploadButton
from ..formatting import esc
from ..widgets import View, safe, with_class


class Header(View):
    observes = ("scenarios", "base", "issues")

    def build(self) -> W.Widget:
        self.title = W.HTML("<h1>Digital portfolio: what to fund, and when</h1>")
        self.subtitle = W.HTML('<div class="pd-sub"></div>')
        self.scenario = with_class(W.Dropdown(description="Scenario", options=[], layout=W.Layout(width="380px"),
                                              style={"description_width": "70px"},
                                              tooltip="Choose a bundled scenario"), "scenario-select")
        self.upload = with_class(UploadButton(self._on_upload, accept=".xlsx,.zip",
                                              label="Upload portfolio (.xlsx or .zip)",
                                              hint="An Excel workbook or a .zip of CSV files in the portfolio "
                                                   "format"), "upload-button")
        self.reset_button = W.Button(description="Reset to scenario", icon="undo",
                                     tooltip="Undo every change made in this page", layout=W.Layout(width="auto"))
        self.issues = with_class(W.HTML(""), "issues-panel")
        self.scenario.observe(self._choose, names="value")
        self.reset_button.on_click(self._reset)
        row = W.HBox([self.scenario, self.upload, self.reset_button],
                     layout=W.Layout(align_items="center", grid_gap="10px"))
        return W.VBox([self.title, self.subtitle, row, self.issues], layout=W.Layout(width="100%"))

    def refresh(self, change=None) -> None:
        st, name = self.state, change["name"] if change else None
        with self.syncing():
            if name in (None, "scenarios"):
                self.scenario.options = list(st.scenarios)
            if st.scenario_name in self.scenario.options and self.scenario.value != st.scenario_name:
                self.scenario.value = st.scenario_name
            if name in (None, "base") and st.base is not None:
                self.subtitle.value = f'<div class="pd-sub">{esc(st.base.description or st.base.name)}</div>'
            if name in (None, "issues"):
                self.issues.value = panels.issues_html(st.issues)

    def _choose(self, change):
        if self._syncing or not change["new"] or change["new"] == self.state.scenario_name:
            return
        self.state.scenario_name = change["new"]  # loads and solves

    @safe
    def _on_upload(self, name: str, content: bytes) -> str:
        errors = [i for i in self.state.upload(name, content) if i.severity == "error"]
        return f"{len(errors)} problem(s) in {name}: see the list below" if errors else ""

    @safe
    def _reset(self, _button=None):
        self.state.reset()
