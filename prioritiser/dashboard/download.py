"""A one-click download button that makes its file only when clicked (an anywidget: its few lines
of JavaScript travel with the widget, nothing is fetched from a CDN)."""
from __future__ import annotations

import anywidget
from traitlets import Bool, Unicode

_ESM = r"""
function render({ model, el }) {
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "jupyter-widgets jupyter-button widget-button pd-download-button";
  const note = document.createElement("span");
  note.className = "pd-download-note";
  note.setAttribute("role", "status");
  const sync = () => {
    btn.textContent = model.get("label");
    btn.title = model.get("hint");
    btn.setAttribute("aria-label", model.get("hint") || model.get("label"));
    btn.disabled = model.get("disabled");
  };
  sync();
  model.on("change:label", sync);
  model.on("change:hint", sync);
  model.on("change:disabled", sync);
  btn.addEventListener("click", () => {
    btn.disabled = true;
    note.textContent = "preparing...";
    model.send({ event: "request" });
  });
  model.on("msg:custom", (msg, buffers) => {
    btn.disabled = model.get("disabled");
    if (msg.event === "error") { note.textContent = msg.message; return; }
    if (msg.event !== "file") return;
    const blob = new Blob(buffers, { type: msg.mime });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = msg.filename;
    a.style.display = "none";
    document.body.appendChild(a);
    a.click();
    a.remove();
    note.textContent = "saved " + msg.filename;
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  el.classList.add("pd-download");
  el.appendChild(btn);
  el.appendChild(note);
}
export default { render };
"""


class DownloadButton(anywidget.AnyWidget):
    """`make()` returns (file name, bytes or str, MIME type); it runs when the user clicks."""

    _esm = _ESM
    label = Unicode("Download").tag(sync=True)
    hint = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)

    def __init__(self, make, **kwargs):
        super().__init__(**kwargs)
        self._make = make
        self.on_msg(self._on_msg)

    def payload(self) -> tuple[str, bytes, str]:
        filename, data, mime = self._make()
        return filename, data.encode("utf-8") if isinstance(data, str) else bytes(data), mime

    def _on_msg(self, widget, content, buffers):
        if not isinstance(content, dict) or content.get("event") != "request":
            return
        try:
            filename, data, mime = self.payload()
        except Exception as exc:  # shown next to the button, never as a traceback
            self.send({"event": "error", "message": f"could not prepare the file ({exc})"})
            return
        self.send({"event": "file", "filename": filename, "mime": mime}, [data])
