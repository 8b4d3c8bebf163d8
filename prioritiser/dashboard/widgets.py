"""What every view of the page is built from: the `View` and `Panel` base classes, headings and help
text, the percentage slider, the page's stylesheet, and a safety net for callbacks."""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from pathlib import Path

import ipywidgets as W

log = logging.getLogger(__name__)

STYLESHEET = Path(__file__).resolve().parent / "share" / "dashboard.css"
SLIDER_RANGE = (-0.5, 0.5)  # -50% .. +50%
LABEL_WIDTH = {"description_width": "170px"}


def stylesheet() -> W.HTML:
    """The page's CSS (share/dashboard.css) as a widget placed first in the page."""
    return W.HTML(f"<style>\n{STYLESHEET.read_text(encoding='utf-8')}</style>")


def heading(text: str, level: int = 2) -> W.HTML:
    return W.HTML(f"<h{level}>{text}</h{level}>")


def help_text(text: str) -> W.HTML:
    return W.HTML(f'<p class="pd-help">{text}</p>')


def with_class(widget, cls: str | None):
    """The widget, with a CSS class (the browser tests and the stylesheet find widgets by class)."""
    if cls:
        widget.add_class(cls)
    return widget


def percent_slider(label: str, cls: str | None = None) -> W.FloatSlider:
    """A change of -50% .. +50%, shown as e.g. '-20%'; the value is a share (-0.2)."""
    s = W.FloatSlider(value=0.0, min=SLIDER_RANGE[0], max=SLIDER_RANGE[1], step=0.01, description=label,
                      readout_format="+.0%", continuous_update=False, style=LABEL_WIDTH,
                      layout=W.Layout(width="100%"))
    return with_class(s, cls)


def show_percent(slider: W.FloatSlider, pct: float) -> None:
    """Show a % change (the state's unit) on a slider (a share). Only a real change is sent: echoing
    a value the browser already has (as 0.07 for its 0.06999...) would pull a slider back while the
    user is still moving it."""
    if round(slider.value * 1000) != round(float(pct) * 10):
        slider.value = float(pct) / 100


def safe(method):
    """Run a click or upload callback; show a failure as a plain sentence in the page, never a traceback."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # pragma: no cover - a safety net for the page
            log.exception("dashboard callback failed")
            self.state.notice = f"Something went wrong ({type(exc).__name__}: {exc})."
    return wrapper


class View:
    """A part of the page, a view of the state.

    It builds its widgets once (`build`, returning its root widget), writes the state's traits when
    the user changes a control (`setter`), and redraws itself from the state (`refresh`) whenever
    one of the traits named in `observes` changes. A view never decides anything about the plan."""

    observes: tuple[str, ...] = ()

    def __init__(self, state):
        self.state = state
        self._syncing = False
        self.root = self.build()
        if self.observes:
            state.observe(self.refresh, names=list(self.observes))

    def build(self) -> W.Widget:
        raise NotImplementedError

    def refresh(self, change=None) -> None:
        """Redraw from the state (`change` is the traitlets change that caused it, None at first)."""

    @contextmanager
    def syncing(self):
        """While the view shows the state, its controls' own callbacks must not write it back."""
        self._syncing, before = True, self._syncing
        try:
            yield
        finally:
            self._syncing = before

    def setter(self, trait: str, convert):
        """A widget callback that writes `convert(new value)` to the state's `trait`."""
        def handler(change):
            if self._syncing:
                return
            try:
                setattr(self.state, trait, convert(change["new"]))
            except Exception as exc:
                self.state.notice = f"That value was not accepted ({exc})."
        return handler


class Panel(View):
    """A titled section of the page: a heading, a sentence of help, then the widgets of `body`."""

    title = ""
    help = ""

    def build(self) -> W.Widget:
        head = ([heading(self.title)] if self.title else []) + ([help_text(self.help)] if self.help else [])
        # overflow visible: a control 100% wide plus its margin must not be clipped by its section
        return W.VBox(head + list(self.body()), layout=W.Layout(overflow="visible"))

    def body(self) -> list[W.Widget]:
        raise NotImplementedError


class FigurePanel(Panel):
    """A panel holding one plotly figure, made at its first drawing with its data (see figure.py).

    Nothing is drawn before a scenario is loaded: a FigureWidget's later updates travel as messages
    that a page connecting afterwards never sees, so the first drawing must already hold the data."""

    key = ""  # names the figure in App.figures and its CSS class, f"{key}-chart"

    def body(self) -> list[W.Widget]:
        self.figure = None
        self.box = W.VBox(layout=W.Layout(width="100%", min_height="120px"))
        return [self.box]

    def draw(self, traces: list, layout: dict) -> None:
        from . import charts
        from .figure import figure_widget

        if self.figure is None:
            self.figure = with_class(figure_widget(data=traces, layout={**charts.BASE_LAYOUT, **layout}),
                                     f"{self.key}-chart")
            self.box.children = [self.figure]
        else:
            charts.sync_figure(self.figure, traces, layout)

    def redraws_on(self, change) -> bool:
        """False when there is nothing to draw yet, or when a full solve only proved the plan shown."""
        if self.state.base is None:
            return False
        return not (change is not None and change["name"] == "result" and self.state.same_plan_as_shown)
