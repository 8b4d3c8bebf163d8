"""Scripts and notebooks just work: run_batch, stress and frontier from a plain script with no
`if __name__ == "__main__":` guard, and from a notebook cell. Workers are forked from our own
server (python -m prioritiser.workers), so the caller's script never runs again in them."""
import subprocess
import sys
import textwrap

import pytest

from known import write_case
from test_cli import CASE

pytestmark = pytest.mark.timeout(600)


def _scenarios(tmp_path, n=3):
    paths = []
    for k in range(n):
        case = dict(CASE, capacity=CASE["capacity"].replace("capital,2026/27,100", f"capital,2026/27,{100 + 10 * k}"))
        paths.append(write_case(tmp_path / f"s{k}", case, name=f"case-{k}"))
    return paths


def test_run_batch_and_stress_from_a_script_without_a_main_guard(tmp_path):
    paths = _scenarios(tmp_path)
    script = tmp_path / "analysis.py"
    script.write_text(textwrap.dedent(f"""
        import prioritiser
        print("SCRIPT STARTED", flush=True)  # printed once: workers never run this file again
        result = prioritiser.run_batch({[str(p) for p in paths]!r}, {str(tmp_path / 'out')!r}, workers=2)
        print("STATUSES", sorted(r.status for r in result.records), "FAILED", len(result.failed))
        cut = prioritiser.stress({str(paths[0])!r}, cuts=[10, 50], start="2026/27", out={str(tmp_path / 'stress')!r},
                                 workers=2)
        print("STRESS", list(cut.table["status"]))
        front = prioritiser.frontier({str(paths[0])!r}, low=0.5, high=1.0, steps=2, out={str(tmp_path / 'front')!r},
                                     workers=2, chart=False)
        print("FRONTIER", list(front.table["status"]))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=500,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("SCRIPT STARTED") == 1, out
    assert "STATUSES ['optimal', 'optimal', 'optimal'] FAILED 0" in out, out
    assert "STRESS ['optimal', 'optimal', 'optimal']" in out, out
    assert "FRONTIER ['optimal', 'optimal']" in out, out
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / ".running").exists()


def test_run_batch_from_a_notebook_cell(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    paths = _scenarios(tmp_path, 2)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "import prioritiser\n"
        f"result = prioritiser.run_batch({[str(p) for p in paths]!r}, {str(tmp_path / 'nb-out')!r}, workers=2)\n"
        "print('STATUSES', sorted(r.status for r in result.records))"))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
    assert "STATUSES ['optimal', 'optimal']" in text, nb.cells[0].outputs


def test_batch_summary_counts_bad_input_as_failed_and_leaves_no_lock_folder(tmp_path):
    from prioritiser.batch import run_batch

    good = _scenarios(tmp_path, 1)[0]
    bad = write_case(tmp_path / "bad", dict(CASE, capacity="resource,period\ncapital,2026/27\n"), name="bad")
    result = run_batch([good, bad], tmp_path / "out", workers=2)
    assert [r.reason for r in result.failed] == ["bad input"] and len(result.solved) == 1
    assert result.counts() == "2 scenario(s): 1 solved, 0 infeasible, 1 failed (1 bad input)"
    assert not (tmp_path / "out" / ".running").exists()
    again = run_batch([good, bad], tmp_path / "out", workers=2)
    assert again.counts().endswith("; 2 unchanged since the last run (not solved again)")
