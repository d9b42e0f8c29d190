"""How long the notebooks take in smoke mode, cell by cell, in the tests' shared kernel.

Run it on an otherwise idle machine (about 10 min on a 2-core CPU):
`python benchmarks/notebook_smoke.py --out benchmarks/results/notebook_smoke.md`

The notebooks run as `tests/test_notebooks.py` runs them: one Jupyter kernel for all, in
smoke mode (`MMKERAS_SMOKE=1`), without the exercises' solutions, each after that file's
`FRESH_START` cell. They run twice, in the same order, each time in a new kernel: once as the
tests run them, and once with `FRESH_START`'s last two lines (the garbage collection and
`gc.freeze()`) left out, which is how the tests ran them before. Reported: each notebook's
time (the sum of its cells' times, from Jupyter's execution timestamps, `FRESH_START`
included) both ways, and each way's slowest cells.
"""

import argparse
import datetime
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

from _machine import machine_details, source_revision  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FREEZE = '__import__("gc").collect()\n__import__("gc").freeze()\n'


def notebook_tests():
    """tests/test_notebooks.py, imported from its path (it is not a package)."""
    spec = importlib.util.spec_from_file_location("notebook_tests",
                                                  ROOT / "tests" / "test_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell_seconds(cell):
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = datetime.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def run_all(tests, notebooks, freeze):
    """{notebook: [(seconds, first line of the cell), ...]} for one run in one kernel."""
    import nbformat

    if freeze:
        assert FREEZE in tests.FRESH_START, "FRESH_START no longer freezes: update FREEZE"
    else:
        tests.FRESH_START = tests.FRESH_START.replace(FREEZE, "")
    folder = Path(tempfile.mkdtemp(prefix="mmkeras-notebook-smoke-"))
    kernel = tests.SmokeKernel(folder)
    timings = {}
    try:
        for notebook in notebooks:
            nb = nbformat.read(notebook, as_version=4)
            work = folder / notebook.stem
            work.mkdir()
            cells = kernel.run([c for c in nb.cells if "solution" not in c.get(
                "metadata", {}).get("tags", [])], work)
            errors = [o for c in cells for o in c.get("outputs", [])
                      if o.get("output_type") == "error"]
            assert not errors, f"{notebook.stem}: {errors[0].get('ename')}"
            timings[notebook.stem] = [(cell_seconds(c), c.source.splitlines()[0])
                                      for c in cells if c.cell_type == "code"]
            print(f"{'freeze' if freeze else 'no freeze'}: {notebook.stem} "
                  f"{sum(s for s, _ in timings[notebook.stem]):.1f} s", flush=True)
    finally:
        kernel.close()
    return timings


def report(before, after, revision):
    lines = [f"# The notebooks in smoke mode, in the tests' shared kernel "
             f"({datetime.date.today().isoformat()})", "",
             f"Machine: {machine_details()}.", "", f"Measured: {revision}.", "",
             "Command: `python benchmarks/notebook_smoke.py` (on the otherwise idle machine; "
             "the notebooks in this order, twice, each time in a new kernel).", "",
             "| notebook | without the freeze (s) | with it (s) |", "|---|---|---|"]
    for stem in after:
        lines.append(f"| {stem} | {sum(s for s, _ in before[stem]):.1f} | "
                     f"{sum(s for s, _ in after[stem]):.1f} |")
    lines.append(f"| all | {sum(s for t in before.values() for s, _ in t):.1f} | "
                 f"{sum(s for t in after.values() for s, _ in t):.1f} |")
    for title, timings in (("without the freeze", before), ("with it", after)):
        slowest = sorted(((s, stem, line) for stem, t in timings.items() for s, line in t),
                         reverse=True)[:10]
        lines += ["", f"## The 10 slowest cells, {title}", "", "| seconds | notebook | "
                  "the cell's first line |", "|---|---|---|"]
        lines += [f"| {s:.1f} | {stem} | `{line.replace('|', '/')}` |" for s, stem, line in slowest]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the report (Markdown) to this file")
    parser.add_argument("--only", nargs="+", metavar="NN",
                        help="only these notebooks, by number (e.g. 05 12), in this order")
    args = parser.parse_args(argv)
    revision = source_revision(ROOT)
    tests = notebook_tests()
    notebooks = [n for n in tests.NOTEBOOKS if n.stem not in tests.OPTIONAL
                 or importlib.util.find_spec(tests.OPTIONAL[n.stem])]
    if args.only:
        notebooks = [n for number in args.only for n in notebooks
                     if n.stem.split("_")[0] == number]
    after = run_all(tests, notebooks, freeze=True)
    before = run_all(notebook_tests(), notebooks, freeze=False)
    text = report(before, after, revision)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
