"""TFDS loaders: tested with tfds' mock data; offline failure is fast and clear."""

import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from mmkeras.datasets import tfds_loaders


def test_av_mnist_from_mock_data():
    with tfds.testing.mock_data(num_examples=60):
        ds = tfds_loaders.load_tfds_av_mnist(data_dir="/nonexistent", max_frames=40)
    assert ds.input_shapes == {"image": (28, 28, 1), "audio": (None, 13)}
    total = sum(len(s) for s in ds.splits.values())
    assert total == 60
    assert ds.train.x["image"].shape[1:] == (28, 28, 1)
    assert ds.train.x["audio"].shape[1:] == (40, 13)


def test_imdb_from_mock_data():
    with tfds.testing.mock_data(num_examples=20):
        ds = tfds_loaders.load_tfds_imdb(data_dir="/nonexistent", sequence_length=12)
    assert ds.train.x["text"].shape[1] == 12 and ds.num_classes == 2
    assert len(ds.train) + len(ds.validation) == 20 and len(ds.test) == 20


def test_offline_fails_at_once_with_advice(monkeypatch):
    calls = []

    def not_prepared(name, **kwargs):
        calls.append(kwargs["download"])
        raise AssertionError(f"Dataset {name}: could not find data")

    monkeypatch.setattr(tfds, "load", not_prepared)
    monkeypatch.setattr(tfds_loaders, "_online", lambda timeout=3.0: False)
    start = time.perf_counter()
    with pytest.raises(tfds_loaders.DatasetUnavailableError, match="cannot be reached.*embedded"):
        tfds_loaders.load_tfds_av_mnist()
    assert time.perf_counter() - start < 5 and calls == [False]  # never the retrying download
    with pytest.raises(tfds_loaders.DatasetUnavailableError, match="download=False"):
        tfds_loaders.load_tfds("mnist", "train", download=False)


def test_online_path_downloads(monkeypatch):
    calls = []

    def load(name, **kwargs):
        calls.append(kwargs["download"])
        if not kwargs["download"]:
            raise AssertionError("not prepared")
        return "dataset"

    monkeypatch.setattr(tfds, "load", load)
    monkeypatch.setattr(tfds_loaders, "_online", lambda timeout=3.0: True)
    assert tfds_loaders.load_tfds("mnist", "train") == "dataset" and calls == [False, True]


def test_reachability_check_times_out_quickly():
    start = time.perf_counter()
    assert tfds_loaders._online(timeout=1.0) in (True, False)
    assert time.perf_counter() - start < 5
    assert isinstance(np.zeros(1), np.ndarray)
