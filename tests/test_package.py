"""The package's layering: folders are floors, and each imports only the floors below it."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mmkeras

# The floors, from the ground up (docs/contributing.md, "The package's floors"). A package may import, at
# module level, the packages of lower floors only.
FLOORS = [
    ["utils"],
    ["preprocessing", "layers", "plots"],
    ["fusion", "encoders", "datasets"],
    ["models"],
    ["tasks", "evaluation"],
    ["training"],
    ["deploy", "experiments"],
    ["cli"],
]
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}

ROOT = Path(mmkeras.__file__).parent


def _package_of(module):
    """`"datasets"` for `mmkeras.datasets.pipeline`, `None` outside mmkeras' folders."""
    parts = module.split(".")
    if parts[0] != "mmkeras" or len(parts) < 2 or parts[1] not in FLOOR:
        return None
    return parts[1]


def _imports(path):
    """The mmkeras modules a file imports, at module level or inside its functions."""
    tree = ast.parse(path.read_text())
    found = set()
    # Inside functions too: a lazy import of a higher floor is the same upward dependence,
    # only paid later (a training callback that reached up into experiments was one).
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.startswith("mmkeras.")}


def test_every_package_folder_is_on_a_floor():
    folders = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(FLOOR)
    loose = sorted(p.name for p in ROOT.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "moved_modules.py"]


def test_each_package_imports_only_lower_floors():
    """Read from the code's imports, at module level and inside functions."""
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        module = ".".join(("mmkeras", *path.relative_to(ROOT).with_suffix("").parts))
        here = _package_of(module)
        if here is None:
            continue
        for imported in sorted(_imports(path)):
            there = _package_of(imported)
            if there is not None and there != here and FLOOR[there] >= FLOOR[here]:
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not upward, upward


@pytest.mark.slow
def test_importing_a_package_loads_no_higher_floor():
    """The same, measured for a few packages: nothing loads eagerly when `python -m mmkeras`
    imports the package (`sys.argv[0] == "-m"`). One fresh interpreter imports them from the
    lowest floor up: before each import only lower floors are loaded (checked at the step
    before), so a package of its floor or higher loaded after it was loaded by it."""
    packages = ["preprocessing", "datasets", "models", "experiments"]
    assert [FLOOR[p] for p in packages] == sorted({FLOOR[p] for p in packages})
    script = ("import json, sys; sys.argv = ['-m']; import mmkeras\n"
              f"for package in {packages!r}:\n"
              "    __import__('mmkeras.' + package)\n"
              "    print(json.dumps([package, sorted({n.split('.')[1] for n in sys.modules "
              "if n.startswith('mmkeras.') and not n.startswith('mmkeras._') "
              "and n != 'mmkeras.moved_modules'})]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()[-len(packages):]]
    assert [package for package, _ in lines] == packages
    higher = {package: [p for p in loaded if p != package and FLOOR[p] >= FLOOR[package]]
              for package, loaded in lines}
    assert higher == {package: [] for package in packages}


LAYERING_CHECK = """
import sys
sys.modules["pandas"] = None
sys.modules["matplotlib"] = None
import mmkeras.fusion, mmkeras
model = mmkeras.build_model(
    {"audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)}, num_classes=2)
higher = ["mmkeras.datasets", "mmkeras.experiments", "mmkeras.evaluation", "mmkeras.training",
          "mmkeras.plots", "mmkeras.deploy", "mmkeras.cli"]
loaded = [name for name in higher if name in sys.modules]
assert not loaded, loaded
"""


@pytest.mark.slow
def test_importing_mmkeras_loads_only_the_models():
    # Keras itself imports pandas and matplotlib when they are installed, so their presence
    # in sys.modules says nothing; blocking them makes any import of them by mmkeras fail.
    result = subprocess.run([sys.executable, "-c", LAYERING_CHECK], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_command_line_help_does_not_load_tensorflow(tmp_path):
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "mmkeras", "--help"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0 and "compare" in result.stdout
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines()]
    assert "mmkeras.cli" in imported
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras", "jax")]


def test_submodules_load_on_first_use():
    assert mmkeras.datasets.load is not None
    assert "datasets" in dir(mmkeras) and "experiments" in dir(mmkeras)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mmkeras.nope


def test_no_module_imports_the_cli():
    from pathlib import Path

    root = Path(mmkeras.__file__).parent
    importers = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "cli" not in p.parts and p.name != "__main__.py"
                 and ("mmkeras.cli" in p.read_text() or "mmkeras.__main__" in p.read_text())]
    assert not importers
