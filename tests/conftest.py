"""Fixtures of the tests (the environment and the seeding are in ../conftest.py)."""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest


@pytest.fixture
def assert_round_trip(tmp_path):
    """`assert_round_trip(model, x)`: saves `model`, reloads it in safe mode,
    checks identical outputs and returns the reloaded model."""

    def check(model, x, name="model.keras"):
        path = tmp_path / name
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        # Both models are called directly (eagerly) on the few samples given: `predict` would
        # trace a function for each of them, the larger part of this check's time.
        outputs = [keras.tree.flatten(m(x, training=False)) for m in (model, loaded)]
        assert len(outputs[0]) == len(outputs[1])
        for expected, got in zip(*outputs):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(got),
                                       keras.ops.convert_to_numpy(expected), rtol=1e-6, atol=1e-6)
        return loaded

    return check


@pytest.fixture
def train_step_traces():
    """`train_step_traces(model)`: a list that grows by one each time TensorFlow traces the
    model's train step (a Python call of `train_step` is a trace)."""

    def count(model):
        traces, step = [], model.train_step

        def counted(batch):
            traces.append(1)
            return step(batch)

        model.train_step = counted
        return traces

    return count


@pytest.fixture(scope="session")
def small_av_digits():
    """`small_av_digits(train, validation, test)`: av_digits cut down so a study runs in seconds."""

    def cut(train, validation, test):
        from mmkeras import datasets

        ds = datasets.load("av_digits")
        ds.splits = {"train": ds.train.take(train), "validation": ds.validation.take(validation),
                     "test": ds.test.take(test)}
        return ds

    return cut


@pytest.fixture(scope="session")
def repository_script():
    """`repository_script("scripts/execute_notebooks.py")`: one of the repository's scripts
    (not a module of the package) imported from its path."""
    root = Path(__file__).resolve().parents[1]

    def load(path):
        spec = importlib.util.spec_from_file_location(f"repository_{Path(path).stem}",
                                                      root / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
