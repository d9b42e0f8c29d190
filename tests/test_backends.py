"""The layer tests and examples again under JAX: `keras.ops` only means every backend."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.parametrize("backend", ["jax"])
def test_layer_and_fusion_tests_pass_on_another_backend(backend, tmp_path):
    __import__(backend)  # a test extra: pip install -e ".[test]"; missing means failing
    env = dict(os.environ, KERAS_BACKEND=backend, KERAS_HOME=str(tmp_path),
               JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         str(HERE / "test_fusion_layers.py"), str(HERE / "test_layers.py"),
         str(HERE.parent / "mmkeras" / "fusion"), str(HERE.parent / "mmkeras" / "layers")],
        env=env, capture_output=True, text=True, cwd=HERE.parent, timeout=900,
    )
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "failed" not in result.stdout.splitlines()[-1], tail
