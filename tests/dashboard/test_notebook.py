"""notebooks/dashboard.ipynb executes headless (nbclient, a cell timeout, never None) and its app answers."""
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "dashboard.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(240)]


def test_notebook_executes_headless():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "st = app.state\n"
        "print('STATUS', st.result.status.value, 'IN', int(st.result.plan.selected.sum()))\n"
        "before = st.result.components['npv']\n"
        "app.capital_all.value = -0.2\n"
        "app.optimise.click()\n"
        "print('CHANGED', st.result.components['npv'] != before, 'FIGURES', sorted(app.figures))\n"
        # the stress test's batch workers start from inside the kernel, as under Voila
        "app.stress_button.click()\n"
        "t = st.stress_table\n"
        "print('STRESS', list(t.cut_percent), set(t.status) <= {'optimal', 'feasible'}, 'NOTICE', repr(st.notice))"))
    # timeout: a widget cell can stall nbclient until the timeout (toolchain notes, nbclient#312), so
    # it is short and never None; the kernel's folder is the notebook's, as under Voila
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = nb.cells[-1].outputs
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "STATUS optimal" in text or "STATUS feasible" in text, text
    assert "CHANGED True" in text and "FIGURES ['benefits', 'roadmap', 'spend', 'staff', 'stress']" in text, text
    assert "STRESS [0.0, 5.0, 10.0, 20.0, 30.0] True" in text and "NOTICE ''" in text, text
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # the first cell shows the page and prints nothing (no solver banner above the dashboard)
    first = [c for c in nb.cells if c.cell_type == "code"][0]
    assert not [o for o in first.outputs if o.get("output_type") == "stream"], first.outputs
