"""The tutorial notebooks: in sync with their sources, committed without outputs,
and executed top to bottom in smoke mode (MMKERAS_SMOKE=1)."""

import json
import os
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def test_every_notebook_has_its_source_and_every_source_its_notebook():
    sources = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
    assert len(NOTEBOOKS) >= 9
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in sources]
    numbers = [p.stem.split("_")[0] for p in NOTEBOOKS]
    assert len(set(numbers)) == len(numbers), f"two notebooks share a number: {numbers}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_in_sync_without_outputs_and_well_formed(notebook):
    source = jupytext.read(notebook.with_suffix(".py"), fmt="py:percent").cells
    cells = json.loads(notebook.read_text())["cells"]
    assert [(c.cell_type, c.source) for c in source] == [
        (c["cell_type"], "".join(c["source"])) for c in cells], (
        f"{notebook.name} is out of sync with its .py source: run python scripts/sync_notebooks.py")
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
    first = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and "**Goal:**" in first
    assert "TIME_" not in first, "the introduction must state measured times"
    text = "".join("".join(c["source"]) for c in cells)
    assert "!pip" not in text and "%pip" not in text
    assert "MMKERAS_SMOKE" in text and "## Exercises" in text and "## Summary" in text


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_in_smoke_mode(notebook, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MMKERAS_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
