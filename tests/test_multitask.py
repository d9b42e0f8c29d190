"""Multi-task heads, auxiliary unimodal heads, extra label columns, per-task evaluation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmkeras import datasets, encoders
from mmkeras.datasets import Split
from mmkeras.encoders import standard_encoders
from mmkeras.evaluation import missing_modality_accuracy
from mmkeras.evaluation.multitask import evaluate_tasks
from mmkeras.tasks import build_multitask_model, single_output, task_labels


def _encoders():
    return {"image": encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
            "audio": encoders.sequence_lstm(input_shape=(None, 3), units=4)}


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = {"image": rng.random((n, 8, 8, 1), dtype="float32"),
         "audio": rng.random((n, 5, 3), dtype="float32")}
    return x, {"digit": np.arange(n) % 10, "parity": np.arange(n) % 2}


def test_per_task_outputs_losses_and_metrics():
    model = build_multitask_model(_encoders(), {"digit": 10, "parity": 2},
                                  loss_weights={"parity": 0.5}, head_units=(8,))
    x, y = _data()
    out = model.predict(x, verbose=0)
    assert sorted(out) == ["digit", "parity"]
    assert out["digit"].shape == (24, 10) and out["parity"].shape == (24, 2)
    np.testing.assert_allclose(out["parity"].sum(-1), 1.0, rtol=1e-5)
    history = model.fit(x, y, epochs=1, verbose=0).history
    for key in ("loss", "digit_loss", "parity_loss", "digit_accuracy", "parity_accuracy"):
        assert key in history
    # The total is the weighted sum of the task losses.
    losses = model.evaluate(x, y, verbose=0, return_dict=True)
    assert losses["loss"] == pytest.approx(losses["digit_loss"] + 0.5 * losses["parity_loss"],
                                           rel=1e-4)
    report = evaluate_tasks(model, x, y)
    predicted = model.predict(x, verbose=0)["parity"].argmax(-1)
    assert set(report) == {"digit", "parity"}
    assert report["parity"]["accuracy"] == pytest.approx(np.mean(predicted == y["parity"]))


def test_round_trip_and_single_output(tmp_path):
    model = build_multitask_model(_encoders(), {"digit": 10, "parity": 2},
                                  auxiliary_heads=True, modality_dropout=0.3)
    x, y = _data()
    path = tmp_path / "multitask.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    before, after = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for name in before:
        np.testing.assert_allclose(before[name], after[name], atol=1e-6)
    fused = single_output(model, "digit")
    np.testing.assert_allclose(fused.predict(x, verbose=0), before["digit"], atol=1e-6)
    # Robustness finds the modality dropout layer in the single-output model.
    assert 0.0 <= missing_modality_accuracy(fused, x, y["digit"], "audio") <= 1.0
    with pytest.raises(ValueError, match="Received: output='nope'"):
        single_output(model, "nope")


def _encoder_gradients(model, x, labels, output):
    """Total |gradient| of one output's loss w.r.t. the image and the audio encoder."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    image = model.get_layer("image_encoder").trainable_variables
    audio = model.get_layer("audio_encoder").trainable_variables
    with tf.GradientTape() as tape:
        loss = loss_fn(labels, model(x, training=True)[output])
    grads = tape.gradient(loss, image + audio)
    total = [float(sum(tf.reduce_sum(tf.abs(g)) for g in part if g is not None))
             for part in (grads[:len(image)], grads[len(image):])]
    return tuple(total)


@pytest.mark.slow
def test_auxiliary_losses_reach_every_encoder():
    x, y = _data()
    model = build_multitask_model(_encoders(), {"digit": 10}, auxiliary_heads=True)
    image_grad, audio_grad = _encoder_gradients(model, x, y["digit"], "image_aux")
    assert image_grad > 0 and audio_grad == 0
    image_grad, audio_grad = _encoder_gradients(model, x, y["digit"], "audio_aux")
    assert audio_grad > 0 and image_grad == 0
    # Probe heads read the embeddings without training the encoders.
    probe = build_multitask_model(_encoders(), {"digit": 10}, auxiliary_heads="probe")
    assert _encoder_gradients(probe, x, y["digit"], "image_aux") == (0, 0)
    assert _encoder_gradients(probe, x, y["digit"], "digit")[0] > 0
    labels = task_labels(model, {"digit": y["digit"]})
    assert sorted(labels) == ["audio_aux", "digit", "image_aux"]
    history = model.fit(x, labels, epochs=1, verbose=0).history
    assert {"image_aux_loss", "audio_aux_loss", "digit_loss"} <= set(history)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: 'image'"):
        build_multitask_model(_encoders(), {"image": 3})
    with pytest.raises(ValueError, match="Received: fusion='cross_attention'"):
        build_multitask_model(_encoders(), {"digit": 10}, fusion="cross_attention",
                              auxiliary_heads=True)
    with pytest.raises(ValueError, match="Received: fusion='late'"):
        build_multitask_model(_encoders(), {"digit": 10}, fusion="late")
    with pytest.raises(ValueError, match="auxiliary_heads='both'"):
        build_multitask_model(_encoders(), {"digit": 10}, auxiliary_heads="both")
    with pytest.raises(ValueError, match=r"\['color'\]"):
        build_multitask_model(_encoders(), {"digit": 10}, loss_weights={"color": 1.0})
    model = build_multitask_model(_encoders(), {"digit": 10, "parity": 2})
    with pytest.raises(ValueError, match="expected"):
        task_labels(model, {"digit": np.zeros(3)})


def test_split_carries_extra_targets():
    split = Split({"a": np.zeros((4, 2))}, np.arange(4), targets={"fine": np.arange(4) * 10})
    assert split.subset([1, 3]).targets["fine"].tolist() == [10, 30]
    assert split.select(["a"]).targets["fine"].tolist() == [0, 10, 20, 30]
    joined = Split.concatenate([split, split.subset([0])])
    assert joined.targets["fine"].tolist() == [0, 10, 20, 30, 0]
    assert list(split.labels("coarse")) == ["coarse", "fine"]
    with pytest.raises(ValueError, match="targets"):
        Split({"a": np.zeros((4, 2))}, np.arange(4), targets={"fine": np.arange(3)})


@pytest.mark.slow
def test_emoji_category_and_subcategory_train_together():
    data = datasets.load("emoji", extra_labels=("subcategory",))
    assert data.tasks == {"category": 9, "subcategory": 98}
    assert data.train.y.max() < 9 and data.train.targets["subcategory"].max() < 98
    assert len(data.target_names["subcategory"]) == 98
    with pytest.raises(ValueError, match="extra_labels"):
        datasets.load("emoji", extra_labels=("category",))
    train, test = data.train.take(96), data.test.take(64)
    model = build_multitask_model(standard_encoders(data), data.tasks, head_units=(16,))
    model.fit(train.x, train.labels("category"), epochs=1, batch_size=32, verbose=0)
    report = evaluate_tasks(model, test.x, test.labels("category"))
    assert set(report) == {"category", "subcategory"}
    assert all(0 <= r["accuracy"] <= 1 for r in report.values())
