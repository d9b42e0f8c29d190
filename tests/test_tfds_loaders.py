"""TFDS loaders: tested with tfds' mock data; offline failure is fast and clear."""

import socket
import time

import pytest
import tensorflow_datasets as tfds

from mmkeras.datasets import tfds_loaders


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """No test here may open a connection: the real one would make results depend on the network."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to open a network connection: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.slow
def test_av_mnist_from_mock_data():
    with tfds.testing.mock_data(num_examples=200):  # a stratified test split needs >= 10
        ds = tfds_loaders.load_tfds_av_mnist(data_dir="/nonexistent", max_frames=40)
    assert ds.input_shapes == {"image": (28, 28, 1), "audio": (None, 13)}
    total = sum(len(s) for s in ds.splits.values())
    assert total == 200
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


class _Connections:
    """Stands in for socket.create_connection: records calls, then connects or fails."""

    def __init__(self, outcome):
        self.outcome, self.calls = outcome, []

    def __call__(self, address, timeout=None):
        self.calls.append((address, timeout))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self

    def close(self):
        self.closed = True


@pytest.mark.parametrize("outcome, online", [
    (None, True),
    (socket.timeout("timed out"), False),
    (socket.gaierror(-3, "Temporary failure in name resolution"), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
])
def test_reachability_check(monkeypatch, outcome, online):
    connections = _Connections(outcome)
    monkeypatch.setattr(tfds_loaders.socket, "create_connection", connections)
    assert tfds_loaders._online(timeout=1.5) is online
    assert connections.calls == [(tfds_loaders.TFDS_HOST, 1.5)]  # one try, bounded wait
    assert getattr(connections, "closed", False) is online  # an open socket is closed
