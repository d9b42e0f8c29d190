"""The package's layering: folders are floors, and each imports only the floors below it."""

import json
import subprocess
import sys

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

# `sys.argv[0] == "-m"` is how `python -m mmkeras` imports the package: nothing loads
# eagerly, so what a subpackage pulls in is its own doing.
LOADED = """
import json, sys
sys.argv = ["-m"]
import importlib
importlib.import_module("mmkeras." + sys.argv_package)
print(json.dumps(sorted({n.split(".")[1] for n in sys.modules
                         if n.startswith("mmkeras.") and not n.startswith("mmkeras._")})))
"""


def _loaded_by(package):
    script = LOADED.replace("sys.argv_package", repr(package))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_package_folder_is_on_a_floor():
    from pathlib import Path

    root = Path(mmkeras.__file__).parent
    folders = sorted(p.name for p in root.iterdir() if (p / "__init__.py").exists())
    assert folders == sorted(FLOOR)
    loose = sorted(p.name for p in root.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "_moved.py"]


@pytest.mark.parametrize("package", sorted(FLOOR, key=FLOOR.get))
def test_a_package_imports_only_lower_floors(package):
    higher = [p for p in _loaded_by(package) if p != package and FLOOR[p] >= FLOOR[package]]
    assert not higher, f"mmkeras.{package} imports {higher} (same floor or above)"


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
