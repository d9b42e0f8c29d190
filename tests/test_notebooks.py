"""The tutorial notebooks: in sync with their sources, committed executed at full size with
clean outputs (scripts/execute_notebooks.py), and executed top to bottom in smoke mode
(MMKERAS_SMOKE=1)."""

import ast
import contextlib
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture
def renderer(repository_script):
    """scripts/execute_notebooks.py, which renders a notebook from its source."""
    return repository_script("scripts/execute_notebooks.py")


def test_every_notebook_has_its_source_and_every_source_its_notebook():
    sources = sorted((ROOT / "notebooks").glob("[0-9]*.py"))
    assert len(NOTEBOOKS) >= 9
    assert [p.stem for p in NOTEBOOKS] == [p.stem for p in sources]
    numbers = [p.stem.split("_")[0] for p in NOTEBOOKS]
    assert len(set(numbers)) == len(numbers), f"two notebooks share a number: {numbers}"


REGENERATE = "run python scripts/execute_notebooks.py {}"
# Machine paths and TensorFlow's log lines ("I0000 00:00:17… cudart_stub.cc:31] …").
UNWANTED = re.compile(r"(/work/|/tmp/|/home/|/root/|/Users/|^[IWEF]\d{4} \d\d:\d\d"
                      r"|cudart_stub|absl::InitializeLog|INFO:tensorflow:|TensorFlow Lite XNNPACK"
                      r"|fully_quantize: \d|\r|Warning|WARNING|Downloading data from"
                      r"|np\.float(32|64)\(|\d\.\d{9,})", re.MULTILINE)


def _output_texts(output):
    if output["output_type"] == "stream":
        yield "".join(output["text"])
    elif output["output_type"] == "error":
        yield "\n".join(output["traceback"])
    else:
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/"):
                yield "".join(value)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_in_sync_with_its_source_and_well_formed(notebook, renderer):
    source = renderer.render(notebook.with_suffix(".py")).cells
    cells = json.loads(notebook.read_text())["cells"]
    assert [(c.cell_type, c.source, renderer.is_solution(c)) for c in source] == [
        (c["cell_type"], "".join(c["source"]), renderer.is_solution(c)) for c in cells], (
        f"{notebook.name} is out of sync with its .py source: "
        + REGENERATE.format(notebook.stem.split("_")[0]))
    badge, intro, install = ("".join(c["source"]) for c in cells[:3])
    url = renderer.repository_url()
    assert "colab-badge.svg" in badge and notebook.name in badge
    assert f"git+{url}" in install and 'find_spec("mmkeras") is None' in install
    for part in ("**Goal:**", "**Prerequisites:**", "**Time:**"):
        assert part in intro, f"{notebook.name}: the introduction needs {part}"
    assert "TIME_" not in intro, "the introduction must state measured times"
    text = "".join("".join(c["source"]) for c in cells)
    assert "!pip" not in text and "%pip" not in text
    assert "MMKERAS_SMOKE" in text and "## Summary" in text


def test_sync_keeps_outputs_when_the_full_size_code_is_unchanged(renderer):
    """`--sync` keeps a code cell's outputs when only its comments, its layout or what it
    does in smoke mode changed: the committed outputs are those of the full-size run."""
    same = renderer.code_at_full_size
    code = "x = 1  # one\nif x:\n    print(x)\n"
    assert same(code) == same("# a new first line\nx = 1  # another\nif x:\n\n    print(x)\n")
    assert same("print(1)") == same("print(1)\n# a comment after the last line\n")
    assert same("f(a,\n  b)") == same("f(a, b)")
    assert same(code) != same(code.replace("x = 1", "x = 2"))
    assert same(code) != same(code.replace("print(x)", "print('# x')"))  # a string, not a comment
    # Smoke-mode values: only the full-size part counts.
    assert same("n = 3 if SMOKE else 8") == same("n = 1 if SMOKE else 8") == same("n = 8")
    assert same("n = 3 if SMOKE else 8") != same("n = 3 if SMOKE else 9")
    assert same("n = 8 if not SMOKE else 3") == same("n = 8 if not SMOKE else 1")
    assert same("f(k=[1] if SMOKE else [1, 2])") == same("f(k=[1, 2])")
    assert same("if SMOKE:\n    a = 1\nb = 2") == same("b = 2")
    assert same("if SMOKE:\n    a = 1\nelse:\n    a = 2") == same("a = 2")
    assert same("if not SMOKE:\n    a = 2") == same("a = 2")
    assert same("if smoke:\n    a = 1") != same("")  # only the notebooks' SMOKE constant
    assert same("n = 1 if FAST else 8") != same("n = 8")
    assert same("print((") == "print(("  # code Python cannot parse is compared as it is


# The module each of mmkeras' extras (pyproject.toml) brings, by the extra's name.
EXTRA_MODULES = {"ray": "ray", "retrieval": "faiss"}


def test_a_notebook_that_imports_an_extra_installs_it_in_a_hosted_notebook(renderer):
    """The install cell of a notebook that imports Ray installs `mmkeras[ray]`: in Colab the
    notebook would otherwise stop at `import ray`."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert set(EXTRA_MODULES) == set(extras) - {"test", "docs"}, "name the new extra's module"
    for notebook in NOTEBOOKS:
        source = notebook.with_suffix(".py").read_text()
        needed = [extra for extra, module in EXTRA_MODULES.items()
                  if re.search(rf"^(import|from) {module}\b", source, re.MULTILINE)]
        install = renderer.render(notebook.with_suffix(".py")).cells[2].source
        installed = re.findall(r'"mmkeras(?:\[(\w+)\])? @ git\+', install)
        assert installed == (needed or [""]), f"{notebook.name}: installs {installed}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_exercise_has_its_solution(notebook):
    """Exercises are a numbered list under `## Exercises`; each has a collapsed solution
    cell (tagged `solution`) that starts with `# Exercise N`."""
    cells = json.loads(notebook.read_text())["cells"]
    exercises = [c for c in cells if c["cell_type"] == "markdown"
                 and "## Exercises" in "".join(c["source"])]
    assert len(exercises) == 1, f"{notebook.name}: one ## Exercises section"
    numbers = re.findall(r"^(\d+)\. ", "".join(exercises[0]["source"]), re.MULTILINE)
    assert numbers, f"{notebook.name}: no numbered exercises"
    solutions = [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])]
    answered = [m.group(1) for c in solutions
                if (m := re.match(r"# Exercise (\d+)", "".join(c["source"])))]
    assert answered == numbers, f"{notebook.name}: exercises {numbers}, solutions {answered}"
    assert all(c.get("metadata", {}).get("jupyter", {}).get("source_hidden")
               for c in solutions), "solutions are collapsed"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_executed_top_to_bottom_with_clean_outputs(notebook):
    redo = REGENERATE.format(notebook.stem.split("_")[0])
    code = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), (
        f"{notebook.name} was not executed top to bottom in one run: {redo}")
    assert sum(bool(c["outputs"]) for c in code) >= len(code) // 3, (
        f"{notebook.name} has few outputs: {redo}")
    for i, cell in enumerate(code):
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{notebook.name}, code cell {i}: {output}"
            for text in _output_texts(output):
                found = UNWANTED.search(text)
                assert not found, (f"{notebook.name}, code cell {i} prints {found.group()!r} "
                                   f"(a machine path, a log line or a redrawn line): {text[:300]}")
    assert notebook.stat().st_size < 1_500_000, f"{notebook.name}: keep figures small"


def test_every_notebook_has_its_full_size_time_recorded():
    times = json.loads((ROOT / "notebooks" / "execution_times.json").read_text())["notebooks"]
    missing = [p.stem for p in NOTEBOOKS if p.stem not in times]
    assert not missing, f"not executed at full size by scripts/execute_notebooks.py: {missing}"
    assert all(t["seconds"] > 0 and "cores" in t["machine"] for t in times.values())


# Notebooks that need an optional extra: the module they import.
OPTIONAL = {"13_scaling_out_with_ray": "ray"}


# The cell run before each notebook in the shared kernel (see `SmokeKernel`).
FRESH_START = """\
%reset -f
import os, keras, matplotlib.pyplot
os.chdir({folder!r})
keras.backend.clear_session()
keras.config.set_dtype_policy("float32")
matplotlib.pyplot.close("all")
%reset -f
# What %reset removes of a new kernel's namespace (multiprocessing's spawn reads __spec__).
__doc__ = "Automatically created module for IPython interactive environment"
__loader__ = __package__ = __spec__ = None
# The last notebook's objects are garbage now: collected once, and what outlives them (the
# imported modules) frozen, out of the sight of the collections to come (no name bound).
__import__("gc").collect()
__import__("gc").freeze()
"""


class SmokeKernel:
    """One Jupyter kernel for the notebooks of this file, in smoke mode.

    Starting a kernel and importing TensorFlow and Keras in it took 11 to 15 s a notebook
    (measured cell by cell); in one kernel it is paid once: four notebooks (01, 02, 05, 12) ran in
    64 s against 95 s in a kernel each (one run each, alone on the 2-core CPU). Before each
    notebook, `FRESH_START` empties the kernel's namespace (`%reset -f`: a name the notebook
    does not define itself is an error, as in a new kernel) and Keras' global state. What the
    kernel keeps is the imported modules, which each notebook imports again, and their
    settings: a library setting one notebook changes (02 quiets absl's log) holds for the next.
    Those modules are frozen out of the garbage collector's sight (`gc.freeze()`, as
    conftest.py does for the tests): each collection (`%reset`, `clear_session`) otherwise walks
    every object TensorFlow and the notebooks before made, up to 4 to 5 s before each notebook
    late in the row. The 13 notebooks' cells ran in 247 s against 278 s without it
    (`benchmarks/notebook_smoke.py`, one run each, alone on the 2-core CPU). A notebook that
    fails may leave the kernel dead or half-way: the next one gets a new kernel.
    """

    def __init__(self, folder):
        self.env = {**os.environ, "MMKERAS_SMOKE": "1", "MPLBACKEND": "Agg",
                    "KERAS_HOME": str(folder / "keras-home")}
        self.manager = None

    def run(self, cells, folder):
        """Runs `cells` (nbformat cells) after `FRESH_START`, with `folder` as the working
        folder; returns the executed cells."""
        import nbformat
        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        if self.manager is None:  # started by the client, with `env`
            self.manager = AsyncKernelManager(kernel_name="python3")
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(FRESH_START.format(folder=str(folder))), *cells]
        client = NotebookClient(nb, km=self.manager, timeout=600,
                                resources={"metadata": {"path": str(folder)}})
        try:
            client.execute(env=self.env)
        except BaseException:
            self.close()
            raise
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
        return nb.cells

    def close(self):
        from nbclient.util import run_sync

        manager, self.manager = self.manager, None  # a manager's shutdown closes it for good
        if manager is not None and manager.has_kernel:
            # A dead kernel's shutdown may fail too; a notebook's error is the one to show.
            with contextlib.suppress(Exception):
                run_sync(manager.shutdown_kernel)(now=True)


@pytest.fixture(scope="module")
def smoke_kernel(tmp_path_factory):
    kernel = SmokeKernel(tmp_path_factory.mktemp("kernel"))
    yield kernel
    kernel.close()


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_in_smoke_mode(notebook, tmp_path, smoke_kernel):
    import nbformat

    if notebook.stem in OPTIONAL:
        pytest.importorskip(OPTIONAL[notebook.stem])

    nb = nbformat.read(notebook, as_version=4)
    # The exercises' solutions (the last cells, tagged `solution`) ran at full size when the
    # notebook was executed for its committed outputs; here they are left out, which keeps the
    # full suite inside CI's 30 minutes (they train about as many models as the lesson).
    cells = smoke_kernel.run([
        c for c in nb.cells if "solution" not in c.get("metadata", {}).get("tags", [])], tmp_path)
    errors = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.slow
def test_a_notebook_finds_nothing_of_the_one_before(smoke_kernel, tmp_path):
    """In the shared kernel, what one notebook defined is gone for the next, which starts in
    its own folder with the namespace of a new kernel."""
    from nbformat.v4 import new_code_cell

    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    smoke_kernel.run([new_code_cell(
        "import numpy as np\nleftover = np.ones(2)\nimport keras\n"
        "keras.config.set_dtype_policy('mixed_float16')")], tmp_path / "first")
    cells = smoke_kernel.run([new_code_cell(
        "import os, keras\n"
        "print(os.getcwd(), keras.config.dtype_policy().name, __spec__, __name__)\n"
        "print(sorted(k for k in dir() if not k.startswith('_')))\n"
        "try:\n    leftover\nexcept NameError as error:\n    print(error)")], tmp_path / "second")
    printed = cells[-1].outputs[0]["text"].splitlines()
    assert printed[0] == f"{tmp_path / 'second'} float32 None __main__"
    names = ast.literal_eval(printed[1])
    assert "keras" in names and "leftover" not in names and "np" not in names
    assert printed[2] == "name 'leftover' is not defined"


def test_a_smoke_time_is_recorded_beside_the_full_size_time(renderer, tmp_path, monkeypatch):
    """`--smoke` records its time under the notebook's "smoke"; a full-size run after it
    replaces the notebook's entry but keeps that, and a smoke run keeps the full-size time."""
    monkeypatch.setattr(renderer, "TIMES", tmp_path / "times.json")
    renderer.record_times({"01_x": 80.4}, "alone")
    renderer.record_times({"01_x": 20.6}, "alone", smoke=True)
    renderer.record_times({"01_x": 90.0}, "shared")
    entry = json.loads((tmp_path / "times.json").read_text())["notebooks"]["01_x"]
    assert (entry["seconds"], entry["note"]) == (90, "shared")
    assert (entry["smoke"]["seconds"], entry["smoke"]["note"]) == (21, "alone")
    assert "cores" in entry["smoke"]["machine"]
