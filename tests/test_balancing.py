"""OGM-GE: coefficients and gradient scaling against a hand-computed case."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmkeras import encoders
from mmkeras.tasks.multitask import build_multitask_model, compile_multitask, task_labels
from mmkeras.training.balancing import OGMGE, ogm_coefficients


def test_coefficients_by_hand():
    # Two modalities: rho_a = 30/10 = 3 > 1 -> 1 - tanh(0.5 * 3); rho_v = 1/3 -> 1.
    k = keras.ops.convert_to_numpy(ogm_coefficients(np.array([30.0, 10.0]), 0.5))
    np.testing.assert_allclose(k, [1 - math.tanh(1.5), 1.0], rtol=1e-6)
    # Three: rho_m = s_m / mean(others) = 6/1, 1/3.5, 1/3.5.
    k = keras.ops.convert_to_numpy(ogm_coefficients(np.array([6.0, 1.0, 1.0]), 0.1))
    np.testing.assert_allclose(k, [1 - math.tanh(0.6), 1.0, 1.0], rtol=1e-6)
    # Equal scores: nobody is ahead.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ogm_coefficients([2.0, 2.0], 1.0)),
                               [1.0, 1.0])


def _model(noise):
    keras.utils.set_random_seed(3)
    base = build_multitask_model(
        {"image": encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
         "audio": encoders.sequence_lstm(input_shape=(None, 3), units=4)},
        {"digit": 4}, auxiliary_heads="probe", head_units=(), compile=False)
    model = OGMGE(base.input, base.output, alpha=0.7, generalisation_enhancement=noise, seed=0)
    compile_multitask(model, optimizer=keras.optimizers.SGD(learning_rate=1.0))
    return model


def _batch():
    rng = np.random.default_rng(0)
    x = {"image": rng.random((16, 8, 8, 1), dtype="float32"),
         "audio": rng.random((16, 5, 3), dtype="float32")}
    return x, np.arange(16) % 4


def test_one_step_scales_each_encoder_by_its_coefficient():
    model = _model(noise=False)
    x, digits = _batch()
    y = task_labels(model, {"digit": digits})
    variables = model.trainable_variables
    # By hand: plain gradients, the modalities' scores and OGM's coefficients in NumPy.
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred)
    grads = [g.numpy() for g in tape.gradient(loss, variables)]
    scores = [float(np.sum(y_pred[f"{m}_aux"].numpy()[np.arange(16), digits]))
              for m in ("audio", "image")]
    ratio = [scores[0] / scores[1], scores[1] / scores[0]]
    k = [1 - math.tanh(0.7 * r) if r > 1 else 1.0 for r in ratio]
    assert min(k) < 1.0  # one modality is ahead, so something is modulated
    owner = {}
    for m, coefficient in zip(("audio", "image"), k):
        for v in model.get_layer(f"{m}_encoder").trainable_variables:
            owner[v.path] = coefficient
    before = [v.numpy().copy() for v in variables]
    model.train_on_batch(x, y)
    for v, w0, g in zip(variables, before, grads):
        # SGD with rate 1: the step is exactly the (modulated) gradient.
        np.testing.assert_allclose(w0 - v.numpy(), owner.get(v.path, 1.0) * g, atol=1e-5,
                                   err_msg=v.path)


def test_generalisation_enhancement_adds_noise_of_the_gradients_scale():
    model = _model(noise=True)
    x, digits = _batch()
    y = task_labels(model, {"digit": digits})
    kernel = model.get_layer("image_encoder").trainable_variables[0]
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    g = tape.gradient(loss, kernel).numpy()
    before = kernel.numpy().copy()
    model.train_on_batch(x, y)
    step = before - kernel.numpy()  # = k g + eps with SGD at rate 1
    k = float(np.sum(step * g) / np.sum(g * g))  # least squares; eps is independent of g
    eps = step - k * g
    # eps ~ N(0, std(g)^2): its spread is the gradient's.
    assert 0.7 < float(np.std(eps) / np.std(g)) < 1.4
    assert 0.0 < k <= 1.2


@pytest.mark.slow
def test_needs_probe_heads_and_round_trips(tmp_path):
    plain = build_multitask_model(
        {"image": encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
         "audio": encoders.sequence_lstm(input_shape=(None, 3), units=4)}, {"digit": 4})
    with pytest.raises(ValueError, match="audio_aux"):
        OGMGE(plain.input, plain.output)
    with pytest.raises(ValueError, match="Received: alpha=0"):
        OGMGE(plain.input, plain.output, alpha=0)
    model = _model(noise=True)
    x, digits = _batch()
    model.fit(x, task_labels(model, {"digit": digits}), epochs=1, verbose=0)
    model.save(tmp_path / "ogm.keras")
    loaded = keras.saving.load_model(tmp_path / "ogm.keras", safe_mode=True)
    assert isinstance(loaded, OGMGE) and loaded.alpha == pytest.approx(0.7)
    for name, p in model.predict(x, verbose=0).items():
        np.testing.assert_allclose(p, loaded.predict(x, verbose=0)[name], atol=1e-6)
