"""The Voila dashboard: a traitlets state model (state.py) and ipywidgets/plotly views of it (app.py).

In a notebook::

    from prioritiser.dashboard import App
    App().display()
"""
from .state import DashboardState, bundled_scenarios

__all__ = ["App", "DashboardState", "bundled_scenarios"]


def __getattr__(name):  # the widgets load only when the App is asked for
    if name == "App":
        from .app import App

        return App
    raise AttributeError(name)
