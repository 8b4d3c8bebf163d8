"""The page: a header, a sidebar of inputs and a main area of panels, each a view of one DashboardState.

Controls write traits of the state; views observe the state and redraw. Nothing here decides
anything about the plan: that is prioritiser.run's job, called by the state. The views live in
views/ (one class per panel; to add one, see views/__init__.py); widgets.py holds what they share.
"""
from __future__ import annotations

import ipywidgets as W

from .state import DashboardState
from .views import Header, MainArea, Sidebar
from .widgets import FigurePanel, stylesheet


class App:
    """The dashboard page. `App().display()` in a notebook; `app.state` is the model behind it.

    Every named control and output of the views can be reached from the app by its name, for
    scripts and tests: `app.optimise` is the Optimise button, `app.capital_all` the capital slider."""

    def __init__(self, state: DashboardState | None = None, scenarios: dict | None = None,
                 scenario: str | None = None):
        given = state is not None
        self.state = state if given else DashboardState(scenarios=scenarios, load=False)
        self.header = Header(self.state)
        self.sidebar = Sidebar(self.state)
        self.main = MainArea(self.state)
        self.views = [self.header, *self.sidebar.sections, *self.main.panels]
        body = W.HBox([self.sidebar.root, self.main.root], layout=W.Layout(width="100%", align_items="flex-start"))
        self.root = W.VBox([stylesheet(), self.header.root, body], layout=W.Layout(width="100%"))
        self.root.add_class("pd-app")
        for view in self.views:
            view.refresh()
        if not given:
            first = scenario or next(iter(self.state.scenarios), None)
            if first is not None:
                self.state.scenario_name = first  # loads and solves; the views follow

    @property
    def figures(self) -> dict:
        """The page's plotly figures by name (roadmap, spend, staff, stress), once drawn."""
        return {p.key: p.figure for p in self.main.panels if isinstance(p, FigurePanel) and p.figure is not None}

    def __getattr__(self, name: str):
        # only reached when `name` is not the app's own: look for a view's control or output of that name
        if not name.startswith("_"):
            for view in self.__dict__.get("views", ()):
                if name in vars(view) and name not in ("state", "root"):
                    return vars(view)[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def display(self):
        from IPython.display import display

        display(self.root)
        return None

    def _ipython_display_(self):
        self.display()
