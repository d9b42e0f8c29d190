"""`CompositeLayer`: a frozen layer made of sublayers is still frozen after loading."""

import warnings

import keras
import numpy as np
import pytest

from mmkeras import encoders
from mmkeras.layers import CompositeLayer, SubwordEmbedding, TransformerEncoderBlock


def test_mmkeras_layers_with_sublayers_are_composite():
    assert issubclass(SubwordEmbedding, CompositeLayer)
    assert issubclass(TransformerEncoderBlock, CompositeLayer)


@pytest.mark.parametrize("make", [
    lambda: encoders.text_subword_bag(max_words=3, max_ngrams=4, buckets=50, embedding_dim=8),
    lambda: encoders.text_transformer(sequence_length=6, vocab_size=20, embedding_dim=8),
], ids=["subword_bag", "transformer"])
def test_a_frozen_encoder_does_not_train_after_loading(make, tmp_path):
    """The pretrain-then-freeze workflow: save, load, go on training the head alone."""
    encoder = make()
    inputs = keras.Input(encoder.input_shape[1:], dtype=encoder.inputs[0].dtype)
    model = keras.Model(inputs, keras.layers.Dense(2)(encoder(inputs)))
    encoder.trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(1, 20, (8, *encoder.input_shape[1:]))
    model.fit(x, np.arange(8) % 2, epochs=1, verbose=0)  # the optimizer has its variables
    model.save(tmp_path / "frozen.keras")
    with warnings.catch_warnings():
        # It warned "Skipping variable loading for optimizer": one built for more weights.
        warnings.simplefilter("error")
        loaded = keras.models.load_model(tmp_path / "frozen.keras")
    assert len(loaded.trainable_weights) == len(model.trainable_weights) == 2  # the Dense
    frozen = [w.numpy().copy() for w in loaded.layers[1].weights]
    loaded.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    for before, after in zip(frozen, loaded.layers[1].weights):
        np.testing.assert_array_equal(before, after.numpy())
