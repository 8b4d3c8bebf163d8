"""plotly FigureWidgets for the page, sharing one copy of plotly's JavaScript.

Every `go.FigureWidget` carries plotly's whole widget bundle (about 5 MB) in its own state, and the
browser loads it once per figure; with several figures on a page that is slow, and anywidget gives
each widget only 2 s to start. When `prioritiser dashboard` serves the page it also serves that
bundle from the environment (a local URL, no CDN) and sets PRIORITISER_PLOTLY_ESM; the figures then
carry a three-line loader instead, and the browser fetches and runs the bundle once for all of them.
Anywhere else (JupyterLab, nbclient) the figures are plain FigureWidgets.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import plotly
import plotly.graph_objects as go

ENV = "PRIORITISER_PLOTLY_ESM"  # the bundle's path under the server's base URL
BUNDLE_DIR = Path(plotly.__file__).resolve().parent  # served as a labextensions path
BUNDLE_URL_PATH = "voila/labextensions/package_data/widgetbundle.js"

_LOADER = """
const cfg = (() => {
  try { return JSON.parse(document.getElementById("jupyter-config-data").textContent); } catch (e) { return {}; }
})();
const base = (cfg.baseUrl || "/").replace(/\\/?$/, "/");
const mod = await import(new URL(base + %s, window.location.href).href);
// Under anywidget, plotly's FigureView never learns its box's size (it listens for window resizes
// that its own set-up does not register): remember each view on its element and size it to its box.
const View = mod.FigureView;
if (!View.prototype.__prioritiserPatched) {
  const perform = View.prototype.perform_render;
  View.prototype.perform_render = function (...args) {
    this.el.__prioritiserView = this;
    return perform.apply(this, args);
  };
  View.prototype.__prioritiserPatched = true;
}
function fit(el, tries) {
  const view = el.__prioritiserView;
  if (view && el._fullLayout) {
    try { view.autosizeFigure(); } catch (e) { /* sizing is cosmetic */ }
  } else if (tries > 0) {
    setTimeout(() => fit(el, tries - 1), 150);
  }
}
export default () => {
  const inner = mod.default();
  return {
    initialize(ctx) { return inner.initialize(ctx); },
    render(ctx) {
      const cleanup = inner.render(ctx);
      let timer = null;
      const observer = new ResizeObserver(() => {
        clearTimeout(timer);
        timer = setTimeout(() => fit(ctx.el, 40), 60);
      });
      observer.observe(ctx.el);
      return () => { observer.disconnect(); if (typeof cleanup === "function") cleanup(); };
    },
  };
};
"""

_classes: dict[str, type] = {}


def _shared_class(path: str) -> type:
    if path not in _classes:
        _classes[path] = type("SharedBundleFigureWidget", (go.FigureWidget,),
                              {"_esm": _LOADER % json.dumps(path.lstrip("/")), "__module__": __name__})
    return _classes[path]


def figure_widget(data=None, layout=None) -> go.FigureWidget:
    """A FigureWidget built with its data (state set at construction reaches a page that connects later)."""
    path = os.environ.get(ENV, "").strip()
    cls = _shared_class(path) if path else go.FigureWidget
    return cls(data=data, layout=layout)


def serve_env() -> dict[str, str]:
    return {ENV: BUNDLE_URL_PATH}


def serve_args() -> list[str]:
    return [f"--VoilaConfiguration.extra_labextensions_path={BUNDLE_DIR}"]
