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


# The file whose tests are each the longest (a notebook in its own kernel, about 45 s each: over
# a quarter of the full suite's CPU time), handed to a worker first.
LONGEST_FIRST = ("tests/test_notebooks.py",)


def pytest_collection_modifyitems(config, items):
    """The notebooks' file first, then the other files with slow tests, then the rest; each
    file's tests together and in pytest's order.

    The workers take whole files (`--dist loadfile`, `pyproject.toml`), the next one when
    they have two tests left: with the longest file first and short files last, both workers
    end within a short file of each other, and a file's module fixtures (a trained model, a
    Ray cluster) are made once. With xdist's `load`, which hands each worker runs of
    consecutive tests, the notebooks landed on one worker near the end and the other worker
    finished 94 s earlier (one full run, 2026-12-07).
    """
    root = config.rootpath
    with_slow = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item):
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        return 0 if path in LONGEST_FIRST else 1 if item.path in with_slow else 2

    items.sort(key=rank)
