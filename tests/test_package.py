"""The package's layering: importing the model parts loads no data, analysis or CLI code."""

import subprocess
import sys

import pytest

import mmkeras

# Keras itself imports pandas and matplotlib when they are installed (it
# tries them for data adapters and plotting utilities), so their presence in
# sys.modules says nothing about mmkeras. Blocking them instead makes any
# import of them by mmkeras fail.
LAYERING_CHECK = """
import sys
sys.modules["pandas"] = None
sys.modules["matplotlib"] = None
import mmkeras.fusion, mmkeras
model = mmkeras.build_model(
    {"audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)}, num_classes=2)
higher = ["mmkeras.datasets", "mmkeras.experiments", "mmkeras.evaluation", "mmkeras.training",
          "mmkeras.plots", "mmkeras.export", "mmkeras.compression", "mmkeras.__main__"]
loaded = [name for name in higher if name in sys.modules]
assert not loaded, loaded
"""


def test_importing_mmkeras_loads_only_the_models():
    result = subprocess.run([sys.executable, "-c", LAYERING_CHECK], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_submodules_load_on_first_use():
    assert mmkeras.datasets.load is not None
    assert "datasets" in dir(mmkeras) and "experiments" in dir(mmkeras)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mmkeras.nope


def test_no_module_imports_the_cli():
    from pathlib import Path

    root = Path(mmkeras.__file__).parent
    importers = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "__main__.py" and "mmkeras.__main__" in p.read_text()]
    assert not importers
    assert not (root / "demo.py").exists()
