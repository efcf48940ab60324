"""The planner's notebook, executed on a real lake (the demo's) with a real Jupyter kernel."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOK = REPO / "notebooks" / "planner.ipynb"


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", ""))
        out.append(o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def test_the_planner_notebook_reads_the_lake(demo_run, monkeypatch):
    settings, spec, _, _ = demo_run
    monkeypatch.setenv("DXLAKE_HOME", str(settings.home))
    monkeypatch.setenv("DXLAKE_PROVINCE", "46")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": REPO}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "2026-H1" in _text(code[0]) and "Thành phố Huế: 40" in _text(code[0])
    # The gap table ranks real gaps first; the two units that sent nothing come last.
    table = _text(code[1])
    assert "large" in table and "not_reported" not in table
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the map was drawn"
