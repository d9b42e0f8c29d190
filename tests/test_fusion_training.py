"""Every fusion trains on real data: gradients reach each encoder, the training loss falls and
accuracy beats chance."""

import keras
import numpy as np
import pytest

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


@pytest.mark.slow
@pytest.mark.parametrize("fusion", sorted(mmkeras.fusion.FUSIONS))
def test_gradients_reach_every_encoder_and_fit_beats_chance(fusion, data):
    train, test = data
    keras.utils.set_random_seed(0)
    model = _model(fusion)
    encoder_layers = {m: [l for l in model.layers if l.name == f"{m}_encoder"
                          or l.name == f"{m}_stem"] for m in ("image", "audio")}
    if fusion == "early":
        # audio's stem is the raw frames (no weights): its first trained weights
        # are its projection inside the joint network (modalities in sorted order)
        early = mmkeras.fusion.fusion_layer(model)
        encoder_layers["audio"] = [early.projections[0]]
    before = {m: [w.copy() for l in ls for w in l.get_weights()] for m, ls in encoder_layers.items()}
    # Weights move only by their gradients (Adam, no weight decay), so an encoder whose weights
    # changed in `fit` received gradients through the fusion. (A `train_on_batch` first would
    # trace a second train function: Keras traces one for it and one for `fit`.)
    losses = model.fit(train.x, train.y, epochs=3, batch_size=64, verbose=0).history["loss"]
    for modality, weights in before.items():
        after = [w for l in encoder_layers[modality] for w in l.get_weights()]
        assert weights, f"no {modality} encoder found in {fusion}"
        changed = [not np.allclose(a, b) for a, b in zip(weights, after)]
        assert sum(changed) >= len(changed) // 2, f"{fusion}: {modality} encoder did not learn"
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
