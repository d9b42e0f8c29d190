"""Fusions train on real data: in every fusion the loss's gradient reaches each weight of each
encoder; one fusion of each level (early, sequence, feature, decision) learns, its training
loss falling and its test accuracy beating chance."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmkeras
from mmkeras import datasets, encoders


@pytest.fixture(scope="module")
def data():
    ds = datasets.load("av_digits")
    return ds.train.take(1200, seed=1), ds.test


def _model(fusion):
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(16, 32), embedding_dim=32),
         "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(32, 32))},
        fusion=fusion, num_classes=10, head_units=(64,), learning_rate=2e-3)


def _encoder_weights(model, fusion):
    """`{modality: the trainable weights of its encoder}`."""
    layers = {m: [layer for layer in model.layers if layer.name in (f"{m}_encoder", f"{m}_stem")]
              for m in ("image", "audio")}
    if fusion == "early":
        # audio's stem is the raw frames (no weights): its first trained weights
        # are its projection inside the joint network (modalities in sorted order)
        layers["audio"] = [mmkeras.fusion.fusion_layer(model).projections[0]]
    return {m: [w for layer in ls for w in layer.trainable_weights] for m, ls in layers.items()}


@pytest.mark.parametrize("fusion", sorted(mmkeras.fusion.FUSIONS))
def test_the_loss_gradient_reaches_every_encoder_weight(fusion, data):
    """One batch of real samples, one tape: no weight of either encoder is cut off from the
    loss by the fusion (a gradient of None or all zeros)."""
    batch = data[0].take(64, seed=0)
    keras.utils.set_random_seed(0)
    model = _model(fusion)
    weights = _encoder_weights(model, fusion)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=batch.x, y=batch.y, y_pred=model(batch.x, training=True))
    gradients = tape.gradient(loss, weights)
    for modality, variables in weights.items():
        assert variables, f"no {modality} encoder found in {fusion}"
        cut = [v.path for v, g in zip(variables, gradients[modality])
               if g is None or not np.any(keras.ops.convert_to_numpy(g))]
        assert not cut, f"{fusion}: no gradient reaches {modality} weights {cut}"


# One fusion of each level: what a fusion of a level is fed and how its output reaches the
# loss is shared by the level; each fusion's own path to the encoders is checked above.
LEVEL_STANDS_IN = ["early", "cross_attention", "concat", "late"]


def test_the_fusions_that_learn_cover_every_level():
    levels = [mmkeras.fusion.FUSIONS[f][0].fusion_level for f in LEVEL_STANDS_IN]
    assert sorted(levels) == sorted(mmkeras.fusion.FUSION_LEVELS), levels


@pytest.mark.slow
@pytest.mark.parametrize("fusion", LEVEL_STANDS_IN)
def test_a_fusion_of_each_level_learns_and_beats_chance(fusion, data):
    train, test = data
    keras.utils.set_random_seed(0)
    model = _model(fusion)
    losses = model.fit(train.x, train.y, epochs=3, batch_size=64, verbose=0).history["loss"]
    assert losses[-1] < 0.8 * losses[0], f"{fusion}: training loss {losses}"
    accuracy = model.evaluate(test.x, test.y, verbose=0)[1]
    assert accuracy > 0.3, f"{fusion}: test accuracy {accuracy:.3f} (chance 0.1)"


@pytest.mark.slow
def test_modality_dropout_model_survives_a_missing_modality(data):
    train, test = data
    keras.utils.set_random_seed(0)
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(16, 32), embedding_dim=32),
         "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(32, 32))},
        fusion="concat", num_classes=10, modality_dropout=0.3, missing="learned")
    model.fit(train.x, train.y, epochs=4, batch_size=64, verbose=0)
    drop = model.get_layer("modality_dropout")
    drop.set_missing(["audio"])
    image_only = model.evaluate(test.x, test.y, verbose=0)[1]
    drop.set_missing()
    both = model.evaluate(test.x, test.y, verbose=0)[1]
    assert both > image_only > 0.25, (both, image_only)
