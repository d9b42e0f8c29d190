"""Shared by the tests and the docstring examples (`--doctest-modules mmkeras`)."""

import os
import tempfile

# Keep Keras' config file and TensorFlow's log lines out of the user's home/terminal.
os.environ.setdefault("KERAS_HOME", os.path.join(tempfile.gettempdir(), "mmkeras-test-keras-home"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mmkeras  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    """Docstring examples use `np`, `keras` and `mmkeras` without importing them."""
    doctest_namespace.update(np=np, keras=keras, mmkeras=mmkeras)
