"""Shared by the tests and the docstring examples (`--doctest-modules mmkeras`)."""

import gc
import os
import tempfile

# Keep Keras' config file and TensorFlow's log lines out of the user's home/terminal.
os.environ.setdefault("KERAS_HOME", os.path.join(tempfile.gettempdir(), "mmkeras-test-keras-home"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mmkeras  # noqa: E402

gc.freeze()  # TensorFlow, Keras and mmkeras, imported: see _collect_then_freeze


@pytest.fixture(autouse=True, scope="module")
def _collect_then_freeze():
    """After each test file, collects its garbage and moves what outlives it out of the
    collector's sight (`gc.freeze()`).

    `keras.backend.clear_session()` after each test runs a full garbage collection, which walks
    every object alive, TensorFlow's and every imported library's included: 0.3 to 4 s a test
    once a worker has imported and traced much (806 s of the two workers' 2,602 s in one full
    run). Frozen, those are skipped, and each test's collection walks only what was made
    since its file began. Reference cycles frozen and dropped later (a session fixture's) are
    not collected: only what outlives its file is frozen, so that is little.
    """
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    """Docstring examples use `np`, `keras` and `mmkeras` without importing them."""
    doctest_namespace.update(np=np, keras=keras, mmkeras=mmkeras)


def pytest_collection_modifyitems(items):
    """Files with slow tests first, each file's tests still together and in order.

    xdist hands each worker a run of consecutive tests and smaller runs towards the end; in
    file order the last runs held minutes of worker-pool and Ray tests, and one worker
    finished 107 s before the other (one full run). With the files of short tests last, the
    last runs are short ones. Stable: the order within each group is pytest's.
    """
    with_slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in with_slow)
