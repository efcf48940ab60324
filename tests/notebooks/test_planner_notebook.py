"""The planner's notebook, run as README says (`uv run jupyter execute notebooks/planner.ipynb`
from the repository root) on a real lake (the demo's), with a real Jupyter kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.conftest import REPO

NOTEBOOK = Path("notebooks") / "planner.ipynb"  # as README writes it, from the repository root
JUPYTER = Path(sys.executable).parent / "jupyter"  # `uv run jupyter`: the project's environment


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", ""))
        out.append(o.get("data", {}).get("text/plain", ""))
    return "".join(out)


def test_readme_says_how_to_run_the_notebook():
    assert f"uv run jupyter execute {NOTEBOOK.as_posix()}" in (REPO / "README.md").read_text()


def test_the_planner_notebook_reads_the_lake_from_the_repository_root(demo_run, tmp_path):
    """Jupyter starts the kernel in notebooks/; the lake is named relative to the repository
    root, as `./data` is by default: it is found only if the notebook works from the root."""
    settings, spec, _, _ = demo_run
    env = {
        **os.environ,
        "DXLAKE_HOME": os.path.relpath(settings.home, REPO),
        "DXLAKE_PROVINCE": "46",
    }
    env.pop("DXLAKE_PERIOD", None)
    assert not Path(env["DXLAKE_HOME"]).is_absolute()
    done = subprocess.run(
        [JUPYTER, "execute", NOTEBOOK, f"--output={tmp_path / 'planner_executed'}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(tmp_path / "planner_executed.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "2026-H1" in _text(code[0]) and "Thành phố Huế: 40" in _text(code[0])
    # The gap table ranks real gaps first; the two units that sent nothing come last.
    table = _text(code[1])
    assert "large" in table and "not_reported" not in table
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the map was drawn"
