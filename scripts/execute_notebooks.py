"""Renders notebooks/*.ipynb from their sources (notebooks/*.py) and executes them with outputs.

The `.py` files (jupytext py:percent) are the source of truth: edit them, then regenerate their
notebooks with this one script:

    python scripts/execute_notebooks.py             # every notebook, full size
    python scripts/execute_notebooks.py 04 06       # the notebooks whose names hold 04 or 06
    python scripts/execute_notebooks.py --smoke     # MMKERAS_SMOKE=1: its time only
    python scripts/execute_notebooks.py --sync 11   # text or smoke-only edit: keep outputs
    python scripts/execute_notebooks.py --without-solutions handout/   # students' copies

Rendering adds what every notebook starts with, made from the repository URL declared once in
pyproject.toml (`[project.urls] Repository`): an "Open in Colab" badge, and a cell that installs
mmkeras where it is not installed. Solution cells (`# %% tags=["solution"]` in the source) are
collapsed in the notebook; `--without-solutions` writes copies without them for students.

Each notebook is executed top to bottom by nbclient in a fresh temporary folder (files it writes
stay out of the repository), its outputs are cleaned (machine paths, TensorFlow's log lines,
progress-bar redraws) and it is written with its outputs to notebooks/NN_name.ipynb. The wall
time of each full-size run is recorded, with the machine, in notebooks/execution_times.json;
only the notebooks executed are updated there. `--smoke` executes in smoke mode (with the
solutions, in a new kernel, as a student runs it with `MMKERAS_SMOKE=1`), writes no notebook
and records its time under the notebook's `"smoke"` entry. `--note` adds what else shared the
machine. `tests/test_notebooks.py` checks that each notebook's cells equal its source and
carry outputs.
"""

import argparse
import ast
import datetime
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMES = NOTEBOOKS / "execution_times.json"
# The extra of mmkeras (pyproject.toml's [project.optional-dependencies]) a notebook needs
# beyond the core package: its install cell installs mmkeras with it, so that the notebook
# runs in a hosted notebook too.
EXTRAS = {"13_scaling_out_with_ray": "ray"}
sys.path.insert(0, str(ROOT))

# TensorFlow's log lines: C++ ("I0000 00:00:1732 123 cudart_stub.cc:31] ..."), LiteRT's
# ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.") and its Python logger's INFO
# ("INFO:tensorflow:Assets written to: ..." when a SavedModel is exported) and the TFLite
# converter's ("fully_quantize: 0, inference_type: 6, ...").
TF_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\]"
                         r"|WARNING: All log messages before absl::InitializeLog\(\)"
                         r"|INFO: Created TensorFlow Lite|INFO:tensorflow:"
                         r"|fully_quantize: \d).*\n?",
                         re.MULTILINE)


def repository_url():
    """The repository URL declared once, in pyproject.toml's `[project.urls]`."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("urls", {})
    url = urls.get("Repository")
    if not url:
        raise SystemExit("pyproject.toml names no [project.urls] Repository: the notebooks' "
                         "badges and install cells are made from it")
    return url.rstrip("/")


def header_cells(py_path, url):
    """The cells every notebook starts with: an "Open in Colab" badge, and a cell that
    installs mmkeras where it is not installed (a hosted notebook), from the repository."""
    import nbformat

    path = py_path.resolve().with_suffix(".ipynb").relative_to(ROOT)
    colab = url.replace("https://github.com/", "https://colab.research.google.com/github/")
    badge = nbformat.v4.new_markdown_cell(
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab}/blob/main/{path.as_posix()})")
    extra = EXTRAS.get(py_path.stem)
    requirement = f"mmkeras[{extra}]" if extra else "mmkeras"
    install = nbformat.v4.new_code_cell(
        "# In a hosted notebook (Colab, Kaggle, a JupyterHub) mmkeras is not installed yet: this\n"
        f"# installs it{f' with its {extra} extra' if extra else ''} from its repository. "
        "Where it is installed, it does nothing.\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("mmkeras") is None:\n'
        f'    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",\n'
        f'                           "{requirement} @ git+{url}"])')
    return badge, install


def render(py_path, solutions=True):
    """The notebook of a py:percent source, with stable cell ids and no outputs: a badge
    first, the install cell after the introduction, solution cells collapsed (or left out
    with `solutions=False`, for a student's copy)."""
    notebook = jupytext.read(py_path, fmt="py:percent")
    badge, install = header_cells(py_path, repository_url())
    cells = [c for c in notebook.cells if solutions or not is_solution(c)]
    notebook.cells = [badge, cells[0], install, *cells[1:]]
    for i, cell in enumerate(notebook.cells):
        cell.id = f"cell-{i}"
        if is_solution(cell):
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    notebook.metadata.setdefault("kernelspec", {"display_name": "Python 3",
                                                "language": "python", "name": "python3"})
    notebook.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    return notebook


def is_solution(cell):
    """A solution cell: tagged `solution` in the source (`# %% tags=["solution"]`)."""
    return "solution" in cell.get("metadata", {}).get("tags", [])


def clean_text(text, workdir):
    """Text as a reader should see it: no machine paths, C++ log lines or redrawn lines."""
    replacements = [(str(workdir), "<tmp>"), (str(ROOT) + "/", ""), (str(ROOT), "."),
                    (str(Path.home()), "~")]
    tmp = re.escape(tempfile.gettempdir())
    for old, new in replacements:
        text = text.replace(old, new)
    text = re.sub(tmp + r"/[\w.-]+", "<tmp>", text)
    text = TF_LOG_LINE.sub("", text)
    text = re.sub(r" at 0x[0-9a-f]{6,}", " at 0x…", text)  # object addresses change every run
    # A progress bar redraws its line with \r: keep what the screen finally shows.
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def clean_outputs(notebook, workdir):
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = clean_text(output.text, workdir)
                if not output.text.strip():
                    continue
            elif output.output_type == "error":
                output.traceback = [clean_text(t, workdir) for t in output.traceback]
                output.evalue = clean_text(output.evalue, workdir)
            else:
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in output.get("data", {}):
                        output.data[mime] = clean_text(output.data[mime], workdir)
            kept.append(output)
        cell.outputs = kept
        cell.metadata.pop("execution", None)
    return notebook


def execute(notebook, smoke):
    """Executes in a fresh temporary folder; returns (notebook, seconds)."""
    from nbclient import NotebookClient

    os.environ["MMKERAS_SMOKE"] = "1" if smoke else "0"
    os.environ.pop("MPLBACKEND", None)  # figures inline, as a user sees them in Jupyter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    workdir = Path(tempfile.mkdtemp(prefix="mmkeras-notebook-")).resolve()
    try:
        start = time.perf_counter()
        NotebookClient(notebook, timeout=3600, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(workdir)}}).execute()
        seconds = time.perf_counter() - start
        return clean_outputs(notebook, workdir), seconds
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _FullSizeCode(ast.NodeTransformer):
    """Replaces what only smoke mode runs by what the full-size run runs:
    `A if SMOKE else B` by `B`, `if SMOKE: ... else: ...` by its `else` part, and the same
    with `not SMOKE` by the other part."""

    @staticmethod
    def _full_size_part(node):
        test = node.test
        if isinstance(test, ast.Name) and test.id == "SMOKE":
            return node.orelse  # a statement's orelse may be []: the statement goes
        if (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
                and isinstance(test.operand, ast.Name) and test.operand.id == "SMOKE"):
            return node.body
        return node

    def visit_IfExp(self, node):
        return self._full_size_part(self.generic_visit(node))

    def visit_If(self, node):
        return self._full_size_part(self.generic_visit(node))


def code_at_full_size(source):
    """The code a cell runs at full size (`MMKERAS_SMOKE` unset), without comments or layout:
    two cells that differ only in comments, line breaks or what they do in smoke mode
    (`x if SMOKE else y`, `if SMOKE: ...`) give the same outputs at full size, so such an
    edit keeps the cell's outputs. Code that Python cannot parse is compared as it is."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    return ast.unparse(ast.fix_missing_locations(_FullSizeCode().visit(tree)))


def sync(py_path, target):
    """Re-renders a notebook from its source, keeping the outputs of code cells whose
    full-size code is unchanged (comments, layout and smoke-mode values aside)."""
    import nbformat

    notebook = render(py_path)
    old = nbformat.read(target, as_version=4) if target.exists() else None
    outputs = {}
    for cell in old.cells if old else []:
        if cell.cell_type == "code":
            outputs.setdefault(code_at_full_size(cell.source),
                               (cell.get("outputs", []), cell.get("execution_count")))
    if old and "language_info" in old.metadata:  # written by the kernel that executed it
        notebook.metadata["language_info"] = old.metadata["language_info"]
    lost = 0
    for cell in notebook.cells:
        if cell.cell_type == "code":
            code = code_at_full_size(cell.source)
            cell.outputs, cell.execution_count = outputs.get(code, ([], None))
            lost += code not in outputs
    if lost:
        print(f"{target.name}: {lost} code cell(s) changed and have no outputs: execute it")
    return notebook


def record_times(times, note, smoke=False):
    """Records `{notebook: seconds}` in notebooks/execution_times.json: a full-size run's time
    as the notebook's entry, a smoke run's (`smoke=True`) under its entry's `"smoke"`. Either
    keeps the other."""
    import mmkeras  # noqa: F401  (imports TensorFlow with its C++ log lines silenced)
    from benchmarks._machine import machine_details

    data = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    data.setdefault("command", "python scripts/execute_notebooks.py [NAME ...]")
    entries = data.setdefault("notebooks", {})
    machine = machine_details()
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for name, seconds in times.items():
        entry = {"seconds": round(seconds), "executed": day, "machine": machine, "note": note}
        old = entries.get(name, {})
        if smoke:
            entries[name] = {**old, "smoke": entry}
        else:
            entries[name] = {**entry, **({"smoke": old["smoke"]} if "smoke" in old else {})}
    data["notebooks"] = dict(sorted(entries.items()))
    TIMES.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def select(names):
    sources = sorted(NOTEBOOKS.glob("[0-9]*.py"))
    if not names:
        return sources
    chosen = [p for p in sources if any(n in p.stem for n in names)]
    unknown = [n for n in names if not any(n in p.stem for p in sources)]
    if unknown:
        raise SystemExit(f"no notebook matches {unknown}; notebooks: {[p.stem for p in sources]}")
    return chosen


def main(argv=None):
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="parts of notebook names (default: all)")
    parser.add_argument("--smoke", action="store_true",
                        help="execute with MMKERAS_SMOKE=1 and record its time (under "
                             "\"smoke\"); writes no notebook")
    parser.add_argument("--sync", action="store_true",
                        help="re-render from the sources without executing; code cells whose "
                             "full-size code is unchanged (comments, layout and smoke-mode "
                             "values aside) keep their outputs")
    parser.add_argument("--without-solutions", metavar="FOLDER",
                        help="write students' copies (no solution cells, no outputs) to FOLDER "
                             "and execute nothing")
    parser.add_argument("--note", default="",
                        help="recorded with the times, e.g. what else shared the machine")
    args = parser.parse_args(argv)
    if args.without_solutions:
        folder = Path(args.without_solutions)
        folder.mkdir(parents=True, exist_ok=True)
        for src in select(args.names):
            nbformat.write(render(src, solutions=False), folder / f"{src.stem}.ipynb")
            print(f"wrote {folder / (src.stem + '.ipynb')}", flush=True)
        return 0
    for src in select(args.names):
        target = src.with_suffix(".ipynb")
        if args.sync:
            nbformat.write(sync(src, target), target)
            print(f"synced {target.relative_to(ROOT)}", flush=True)
            continue
        notebook, seconds = execute(render(src), args.smoke)
        mode = "smoke" if args.smoke else "full size"
        if not args.smoke:
            nbformat.write(notebook, target)
        record_times({src.stem: seconds}, args.note, smoke=args.smoke)
        print(f"{src.stem}: {seconds:.0f} s ({mode})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
