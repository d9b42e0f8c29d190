"""The layer and fusion tests again under JAX: `keras.ops` only means every backend.

The formula (NumPy reference) and masking tests run; the argument checks, which never
reach a backend, the config and `.keras` round trips (backend-free JSON and weights) and
mixed precision are left to the TensorFlow run of the same files.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


# Argument checks raise before any backend op and round trips are backend-free JSON and
# weights; they are not run again under JAX.
NOT_BACKEND = ("not mixed_precision and not rejects and not heads_must and not registry_lists "
               "and not binary_must and not bad_argument and not round_trip "
               "and not loads_configs and not still_frozen_when_loaded and not warns_and_refuses")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax"])
def test_layer_and_fusion_tests_pass_on_another_backend(backend, tmp_path):
    __import__(backend)  # a test extra: pip install -e ".[test]"; missing means failing
    # Eager JAX compiles each op for each new shape: most of this run is XLA compiling tiny
    # programs, which its lowest optimisation level does a fifth faster (30 s against 37 s for
    # the attention tests); the numbers are compared with NumPy at the tests' tolerance.
    env = dict(os.environ, KERAS_BACKEND=backend, KERAS_HOME=str(tmp_path),
               JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
               XLA_FLAGS=(os.environ.get("XLA_FLAGS", "")
                          + " --xla_backend_optimization_level=0").strip())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "--override-ini", "addopts=", "-k", NOT_BACKEND,
         str(HERE / "test_fusion_layers.py"), str(HERE / "test_layers.py")],
        env=env, capture_output=True, text=True, cwd=HERE.parent, timeout=900,
    )
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    assert " passed" in result.stdout and "failed" not in result.stdout.splitlines()[-1], tail
