"""`mmkeras.evaluation.predict`: length-bucketed prediction in the order of the inputs."""

import pytest
import keras
import numpy as np

import mmkeras
from mmkeras import encoders
from mmkeras.evaluation import bucketed_modalities, predict
from mmkeras.tasks.multitask import build_multitask_model


def _inputs(n=70, steps=40, seed=0):
    """Frames and tokens padded with zeros at the end, lengths in random order."""
    rng = np.random.default_rng(seed)
    frames = rng.normal(size=(n, steps, 3)).astype("float32")
    frames[np.arange(steps)[None, :] >= rng.integers(1, steps + 1, n)[:, None]] = 0.0
    tokens = rng.integers(1, 20, size=(n, 9))
    tokens[np.arange(9)[None, :] >= rng.integers(1, 10, n)[:, None]] = 0
    return {"audio": frames, "text": tokens}


def _encoders():
    return {"audio": encoders.sequence_lstm(input_shape=(None, 3), units=6),
            "text": encoders.text_bigru(sequence_length=None, vocab_size=20, embedding_dim=4, units=4)}


def _record_batch_steps(model):
    """Wraps `model.predict` to record the steps axis of every batch it receives."""
    steps, original = [], model.predict

    def recording(x, **kwargs):
        if not isinstance(x, dict):  # a tf.data pipeline of batches
            steps.extend(int(f["audio"].shape[1]) for f, _ in x)
        return original(x, **kwargs)

    model.predict = recording
    return steps


def test_same_outputs_in_the_same_order_on_shorter_batches():
    keras.utils.set_random_seed(0)
    model = mmkeras.build_model(_encoders(), fusion="cross_attention", num_classes=4)
    x = _inputs()
    expected = model.predict(x, batch_size=70, verbose=0)
    steps = _record_batch_steps(model)
    got = predict(model, x, batch_size=16)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert len(steps) == 5 and max(steps) == 40 and min(steps) < 20, steps


def test_bucketing_off_predicts_the_arrays_as_given():
    model = mmkeras.build_model(_encoders(), num_classes=3)
    steps = _record_batch_steps(model)
    predict(model, _inputs(), batch_size=16, bucketing=False)
    assert steps == []


@pytest.mark.slow
def test_every_output_of_a_multitask_model():
    keras.utils.set_random_seed(1)
    model = build_multitask_model(_encoders(), {"coarse": 3, "fine": 5})
    x = _inputs(n=50)
    expected = model.predict(x, verbose=0)
    got = predict(model, x, batch_size=8)
    assert sorted(got) == ["coarse", "fine"]
    for name in got:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-5)


def test_only_inputs_with_a_free_steps_axis_are_bucketed():
    model = mmkeras.build_model(
        {"audio": encoders.sequence_lstm(input_shape=(40, 3), units=4),
         "text": encoders.text_bigru(sequence_length=None, vocab_size=20, units=4)}, num_classes=2)
    assert bucketed_modalities(model, _inputs()) == ["text"]
