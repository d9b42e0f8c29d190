"""Writes notebooks/*.ipynb from their sources, notebooks/*.py (py:percent).

The `.py` files are the source of truth: edit them, then run
`python scripts/sync_notebooks.py`. The `.ipynb` files are committed without
outputs so that diffs stay readable; `tests/test_notebooks.py` fails when a
notebook is out of sync with its source or carries outputs. The format is
jupytext's py:percent, so `jupytext --sync` works too if you have it.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def parse_percent(text):
    """Cells of a py:percent file: `[(cell_type, source)]`."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in body.splitlines())
        if body.strip():
            cells.append((kind, body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def to_notebook(cells):
    def source(body):
        parts = body.splitlines(keepends=True)
        return parts

    nb_cells = []
    for i, (kind, body) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i}", "metadata": {}, "source": source(body)}
        if kind == "code":
            cell.update({"execution_count": None, "outputs": []})
        nb_cells.append(cell)
    return {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "jupytext": {"formats": "ipynb,py:percent"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(py_path):
    return json.dumps(to_notebook(parse_percent(py_path.read_text())), indent=1,
                      ensure_ascii=False) + "\n"


def main():
    sources = sorted(NOTEBOOKS.glob("[0-9]*.py"))
    for src in sources:
        target = src.with_suffix(".ipynb")
        target.write_text(render(src))
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
