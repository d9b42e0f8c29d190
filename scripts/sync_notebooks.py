"""Writes notebooks/*.ipynb from their sources, notebooks/*.py (jupytext py:percent).

The `.py` files are the source of truth: edit them, then run
`python scripts/sync_notebooks.py` (or `jupytext --to ipynb notebooks/0*.py`).
The `.ipynb` files are committed without outputs so that diffs stay readable;
`tests/test_notebooks.py` fails when a notebook's cells differ from its source
or carry outputs.
"""

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def render(py_path):
    """The notebook of a py:percent source, with stable cell ids and no outputs."""
    notebook = jupytext.read(py_path, fmt="py:percent")
    for i, cell in enumerate(notebook.cells):
        cell.id = f"cell-{i}"
    notebook.metadata.setdefault("kernelspec", {"display_name": "Python 3",
                                                "language": "python", "name": "python3"})
    notebook.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    return notebook


def main():
    for src in sorted(NOTEBOOKS.glob("[0-9]*.py")):
        target = src.with_suffix(".ipynb")
        jupytext.write(render(src), target, fmt="ipynb")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
