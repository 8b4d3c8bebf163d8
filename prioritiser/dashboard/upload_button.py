"""An upload button that checks a file's size in the browser before sending it (an anywidget: its
JavaScript travels with the widget). A file over the upload limit is refused at once with a
message naming the limit; nothing is sent, so no upload ever vanishes without a word (ipywidgets'
own FileUpload sends any file, and one over the server's websocket message limit was dropped)."""
from __future__ import annotations

import anywidget
from traitlets import Bool, Int, Unicode

from prioritiser import limits

_ESM = r"""
function render({ model, el }) {
  const input = document.createElement("input");
  input.type = "file";
  input.style.display = "none";
  const btn = document.createElement("button");
  btn.type = "button";
  btn.className = "jupyter-widgets jupyter-button widget-button pd-upload-button";
  const note = document.createElement("span");
  note.className = "pd-upload-note";
  note.setAttribute("role", "status");
  const sync = () => {
    btn.textContent = model.get("label");
    btn.title = model.get("hint");
    btn.setAttribute("aria-label", model.get("hint") || model.get("label"));
    btn.disabled = model.get("disabled");
    input.accept = model.get("accept");
  };
  sync();
  ["label", "hint", "disabled", "accept"].forEach((k) => model.on("change:" + k, sync));
  btn.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    const most = model.get("max_bytes");
    if (file.size > most) {
      note.textContent = file.name + " is " + (file.size / 1e6).toFixed(1) + " MB, over the upload limit of " +
        (most / 1e6).toFixed(0) + " MB (" + model.get("limit_hint") + "); nothing was uploaded";
      return;
    }
    note.textContent = "uploading " + file.name + "...";
    btn.disabled = true;
    const data = await file.arrayBuffer();
    model.send({ event: "file", name: file.name, size: file.size }, undefined, [data]);
  });
  model.on("msg:custom", (msg) => {
    if (msg.event === "done") { note.textContent = msg.message || ""; btn.disabled = model.get("disabled"); }
  });
  el.classList.add("pd-upload");
  el.appendChild(btn);
  el.appendChild(input);
  el.appendChild(note);
}
export default { render };
"""


def upload_limit_bytes() -> int:
    """The upload limit in force (PRIORITISER_MAX_UPLOAD_MB), in bytes."""
    return int(limits.value("UPLOAD_MB") * 1e6)


class UploadButton(anywidget.AnyWidget):
    """`on_file(name, content)` runs with each uploaded file within the limit; its return value (a
    short sentence, or None) is shown next to the button."""

    _esm = _ESM
    label = Unicode("Upload").tag(sync=True)
    hint = Unicode("").tag(sync=True)
    accept = Unicode("").tag(sync=True)
    disabled = Bool(False).tag(sync=True)
    max_bytes = Int(0).tag(sync=True)
    limit_hint = Unicode("").tag(sync=True)

    def __init__(self, on_file, **kwargs):
        lim = limits.LIMITS["UPLOAD_MB"]
        kwargs.setdefault("max_bytes", upload_limit_bytes())
        kwargs.setdefault("limit_hint", f"raise it with the environment variable {lim.variable}")
        super().__init__(**kwargs)
        self._on_file = on_file
        self.on_msg(self._receive)

    def _receive(self, widget, content, buffers):
        if not isinstance(content, dict) or content.get("event") != "file":
            return
        if not buffers:
            self.send({"event": "done", "message": "the file did not arrive; try again"})
            return
        data, message = bytes(buffers[0]), ""
        try:
            if len(data) > self.max_bytes:  # the page's own check was bypassed
                message = f"{content.get('name')} is over the upload limit; nothing was read"
            else:
                message = self._on_file(str(content.get("name") or "upload"), data) or ""
        finally:
            self.send({"event": "done", "message": message})
