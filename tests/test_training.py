import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmkeras
from mmkeras import datasets, encoders, training


def _small_model():
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8,), embedding_dim=8),
         "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(8,))},
        num_classes=10, head_units=(16,))


@pytest.fixture(scope="module")
def data():
    ds = datasets.load("av_digits")
    return ds.train.take(256), ds.validation.take(64)


def test_device_summary_and_precision():
    summary = training.device_summary()
    assert summary["backend"] == "tensorflow" and summary["cpu_cores"] >= 1
    assert "CPU" in training.format_device_summary(summary) or summary["gpus"]
    try:
        assert training.set_mixed_precision("auto") == ("mixed_float16" if summary["gpus"] else "float32")
        assert training.set_mixed_precision("mixed_bfloat16") == "mixed_bfloat16"
        with pytest.raises(ValueError, match="Received: 'half'"):
            training.set_mixed_precision("half")
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_same_seed_same_numbers(data):
    train, val = data
    losses = []
    for _ in range(2):
        training.seed_everything(7)
        model = _small_model()
        history, _, _ = training.fit_model(model, (train.x, train.y), (val.x, val.y), epochs=2,
                                           patience=None)
        losses.append(history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    training.seed_everything(8)
    other, _, _ = training.fit_model(_small_model(), (train.x, train.y), epochs=2, patience=None)
    assert not np.allclose(other["loss"], losses[0])


@pytest.mark.slow
def test_callbacks_checkpoint_log_and_resume(data, tmp_path):
    train, val = data
    run_dir = tmp_path / "run"
    callbacks = training.standard_callbacks(str(run_dir), tensorboard=True)
    kinds = [type(c).__name__ for c in callbacks]
    assert kinds == ["EarlyStopping", "RunProgress", "BackupAndRestore", "ModelCheckpoint",
                     "CSVLogger", "TensorBoard"]

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    training.seed_everything(0)
    model = _small_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(train.x, train.y, validation_data=(val.x, val.y), epochs=4, verbose=0,
                  callbacks=training.standard_callbacks(str(run_dir)) + [Interrupt()])
    assert (run_dir / "backup").exists() and (run_dir / "best.keras").exists()
    training.seed_everything(0)
    resumed = _small_model()
    history, _, epochs_run = training.fit_model(resumed, (train.x, train.y), (val.x, val.y),
                                                epochs=4, run_dir=str(run_dir), patience=None)
    assert epochs_run == 4  # it resumed after epoch 2, and reports the whole run
    log = (run_dir / "history.csv").read_text().strip().splitlines()
    assert len(log) == 1 + 4 and log[-1].startswith("3,")
    keras.models.load_model(run_dir / "best.keras", safe_mode=True)


class _InterruptAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt  # as if the process were killed after this epoch


def _fixed_length_model():
    # Fixed-length frames: fit_model feeds the arrays to Keras as they are (no length
    # buckets), so an uninterrupted and a resumed run see the same batches in every epoch.
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8,), embedding_dim=8),
         "audio": encoders.sequence_conv1d(input_shape=(92, 13), filters=(8,))},
        num_classes=10, head_units=(16,))


@pytest.mark.slow
@pytest.mark.parametrize("interrupt_after", [0, 2])
def test_resumed_run_reports_the_whole_run(data, tmp_path, monkeypatch, interrupt_after):
    train, val = data
    args = dict(train=(train.x, train.y), validation=(val.x, val.y), epochs=4, patience=None)
    training.seed_everything(0)
    whole, _, whole_epochs = training.fit_model(_fixed_length_model(),
                                                run_dir=str(tmp_path / "a"), **args)

    from mmkeras.training import fit as fit_module

    real = fit_module.standard_callbacks
    monkeypatch.setattr(fit_module, "standard_callbacks",
                        lambda *a, **k: real(*a, **k) + [_InterruptAfter(interrupt_after)])
    training.seed_everything(0)
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        training.fit_model(_fixed_length_model(), run_dir=str(tmp_path / "b"), **args)
    first_session = time.perf_counter() - start
    monkeypatch.setattr(fit_module, "standard_callbacks", real)
    training.seed_everything(0)
    start = time.perf_counter()
    resumed, seconds, epochs_run = training.fit_model(_fixed_length_model(),
                                                      run_dir=str(tmp_path / "b"), **args)
    second_session = time.perf_counter() - start

    assert epochs_run == whole_epochs == 4
    assert sorted(resumed) == sorted(whole)
    for key in whole:
        assert len(resumed[key]) == 4, key
        np.testing.assert_allclose(resumed[key], whole[key], rtol=1e-4, err_msg=key)
    # the time of the epochs before the crash is counted, and nothing twice
    assert second_session < seconds <= first_session + second_session
    assert not (tmp_path / "b" / "backup").exists()  # finished: the backup is gone
    # a fresh run in the same folder starts from nothing
    training.seed_everything(0)
    again, _, again_epochs = training.fit_model(_fixed_length_model(),
                                                run_dir=str(tmp_path / "b"),
                                                **{**args, "epochs": 1})
    assert again_epochs == 1 and len(again["loss"]) == 1


def test_run_progress_survives_an_unreadable_record(data, tmp_path):
    train, _ = data
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "progress.json").write_bytes(b"\xff\x00 not json")
    history, _, epochs_run = training.fit_model(_small_model(), (train.x, train.y), epochs=1,
                                                patience=None, run_dir=str(tmp_path))
    assert epochs_run == 1 and len(history["loss"]) == 1


def test_fit_model_rejects_mismatched_inputs(data):
    train, _ = data
    with pytest.raises(ValueError, match=r"missing: \['audio'\]"):
        training.fit_model(_small_model(), (train.select("image").x, train.y), epochs=1)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus_matches_one_device():
    script = textwrap.dedent("""
        import json, os, sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras, numpy as np, mmkeras
        from mmkeras import datasets, encoders, training
        data = datasets.load("av_digits").train.take(128)
        def model():
            return mmkeras.build_model(
                {"image": encoders.image_flatten_dense(input_shape=(28, 28, 1), embedding_dim=8),
                 "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(8,))},
                num_classes=10, head_units=(), optimizer=keras.optimizers.SGD(0.05))
        losses = {}
        for kind in ("default", "mirrored"):
            training.seed_everything(0)
            devices = ["/cpu:0", "/cpu:1"] if kind == "mirrored" else None
            strategy = training.distribution_strategy(kind, devices=devices)
            with strategy.scope():
                m = model()
            ds = datasets.to_tf_dataset(data, batch_size=32)
            losses[kind] = m.fit(ds, epochs=2, verbose=0).history["loss"]
            losses[kind + "_replicas"] = strategy.num_replicas_in_sync
        print(json.dumps(losses))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert out.returncode == 0, out.stderr[-3000:]
    losses = json.loads(out.stdout.strip().splitlines()[-1])
    assert losses["mirrored_replicas"] == 2 and losses["default_replicas"] == 1
    np.testing.assert_allclose(losses["mirrored"], losses["default"], rtol=1e-3)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_training_on_two_local_processes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent("""
        import json
        import mmkeras
        from mmkeras import datasets, encoders, training
        data = datasets.load("av_digits").train.take(256)
        def build():
            return mmkeras.build_model(
                {"image": encoders.image_flatten_dense(input_shape=(28, 28, 1), embedding_dim=8),
                 "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(8,))},
                num_classes=10, head_units=(), compile=False)
        def dataset(global_batch):
            return datasets.to_tf_dataset(data, batch_size=global_batch, drop_remainder=True)
        training.seed_everything(0)
        _, losses = training.train_multi_worker(build, dataset, epochs=2, global_batch_size=64)
        print(json.dumps(losses))
    """))
    ports = _free_ports(2)
    workers = []
    for index in range(2):
        config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                  "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(config), TF_CPP_MIN_LOG_LEVEL="3")
        workers.append(subprocess.Popen([sys.executable, str(script)], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = []
    try:
        for w in workers:
            stdout, stderr = w.communicate(timeout=300)
            assert w.returncode == 0, stderr[-3000:]
            outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert len(outputs[0]) == 2 and outputs[0][1] < outputs[0][0]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6)  # in sync


def test_multi_worker_needs_tensorflow_backend(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="Received: 'jax'"):
        training.train_multi_worker(None, None)
    with pytest.raises(RuntimeError, match="TensorFlow backend"):
        training.distribution_strategy()
    assert tf.__version__


def _tiny_dual_encoder():
    return mmkeras.tasks.build_dual_encoder(
        {"image": encoders.image_cnn(input_shape=(8, 8, 3), filters=(4,), embedding_dim=4),
         "text": encoders.text_bigru(sequence_length=3, vocab_size=9, units=2)},
        embedding_dim=4)


def test_retrieval_early_stopping_restores_the_best_epoch():
    """Shapes and plumbing on random pairs: stops after `patience` epochs without a better
    validation score, restores that epoch's weights, and logs the recall."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # One name shared by two pictures, as emoji's.
    x = {"image": rng.random((12, 8, 8, 3)).astype("float32"),
         "text": np.repeat(rng.integers(1, 9, (6, 3)), 2, axis=0)}
    groups = np.repeat(np.arange(6), 2)
    model = _tiny_dual_encoder()
    stop = training.RetrievalEarlyStopping(x, groups, patience=2)
    history = training.fit_dual_encoder(model, x, groups, epochs=30, batch_size=6,
                                        callbacks=[stop])
    assert 1 <= stop.best_epoch <= stop.epochs_run <= 30
    assert stop.epochs_run == 30 or stop.epochs_run - stop.best_epoch == 2
    assert len(history["val_retrieval_score"]) == stop.epochs_run == len(stop.history)
    assert history["val_retrieval_score"][stop.best_epoch - 1] == max(
        history["val_retrieval_score"])
    for a, b in zip(model.get_weights(), stop.best_weights):
        np.testing.assert_array_equal(a, b)
    # Names are queried once per group: 6 text queries, 12 image queries.
    assert [len(q[2][1]) for q in stop.queries] == [12, 6]


def test_retrieval_early_stopping_bad_arguments():
    x = {"image": np.zeros((4, 8, 8, 3)), "text": np.ones((4, 3))}
    with pytest.raises(ValueError, match="Received: patience=0"):
        training.RetrievalEarlyStopping(x, np.arange(4), patience=0)
    with pytest.raises(ValueError, match="Received: mrr_weight=-1"):
        training.RetrievalEarlyStopping(x, np.arange(4), mrr_weight=-1)
    with pytest.raises(ValueError, match="Received: {'image': 4, 'text': 4} items and 3"):
        training.RetrievalEarlyStopping(x, np.arange(3))
    with pytest.raises(ValueError, match=r"Received: \['image'\]"):
        training.RetrievalEarlyStopping({"image": x["image"]}, np.arange(4))
