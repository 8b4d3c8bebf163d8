"""The current plan's Excel report and the scenario behind it, made when the user clicks."""
from __future__ import annotations

import ipywidgets as W

from ..download import DownloadButton
from ..widgets import Panel, with_class

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Downloads(Panel):
    title = "Downloads"
    observes = ("result",)

    def body(self) -> list[W.Widget]:
        self.download_report = with_class(DownloadButton(self._report, label="Excel report (.xlsx)",
                                                         hint="Download the current plan as an Excel workbook"),
                                          "download-report")
        self.download_yaml = with_class(DownloadButton(self._yaml, label="Scenario file (.yaml)",
                                                       hint="Download the scenario behind the current plan; "
                                                            "'prioritiser run' on it reproduces this plan"),
                                        "download-yaml")
        return [W.HBox([self.download_report, self.download_yaml])]

    def refresh(self, change=None) -> None:
        result = self.state.result
        self.download_report.disabled = result is None or not result.has_plan

    def _report(self):
        name, data = self.state.workbook_bytes()
        return name, data, XLSX

    def _yaml(self):
        name, text = self.state.scenario_yaml()
        return name, text, "application/x-yaml"
