"""mmkeras.layers against NumPy references."""

import json

import keras
import numpy as np
import pytest

from mmkeras.layers import (
    ApplyMask,
    LastStep,
    MaskedGlobalPooling1D,
    PaddingMask,
    PositionEmbedding,
    SubwordEmbedding,
    TiledMaxPooling2D,
    TransformerEncoderBlock,
)
from mmkeras.layers.tiled_max_pooling import tiled_max_pool

RNG = np.random.default_rng(0)
MASK = np.array([[True, True, True, False, False], [True, False, False, False, False]])


def test_padding_mask_tokens_and_frames():
    ids = np.array([[4, 2, 0, 0], [1, 0, 3, 0]])
    np.testing.assert_array_equal(np.asarray(PaddingMask()(ids)), ids != 0)
    frames = RNG.random((2, 4, 3)).astype("float32")
    frames[0, 2:] = 0
    frames[1, 1, 0] = 0  # one zero feature is not padding
    np.testing.assert_array_equal(np.asarray(PaddingMask()(frames)), np.any(frames != 0, -1))
    with pytest.raises(ValueError, match="Received: shape"):
        PaddingMask()(np.zeros((1, 2, 3, 4)))


def test_apply_mask():
    x = RNG.random((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(ApplyMask()(x, mask=MASK)), x * MASK[..., None])


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_masked_global_pooling(mode):
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    out = np.asarray(MaskedGlobalPooling1D(mode)(x, mask=MASK))
    for b in range(2):
        real = x[b][MASK[b]]
        ref = real.mean(0) if mode == "avg" else real.max(0)
        np.testing.assert_allclose(out[b], ref, rtol=1e-6)
    no_mask = np.asarray(MaskedGlobalPooling1D(mode)(x))
    np.testing.assert_allclose(no_mask, x.mean(1) if mode == "avg" else x.max(1), rtol=1e-6)
    with pytest.raises(ValueError, match="Received: mode='sum'"):
        MaskedGlobalPooling1D("sum")


def test_last_step():
    x = RNG.random((2, 5, 3)).astype("float32")
    out = np.asarray(LastStep()(x, mask=MASK))
    np.testing.assert_allclose(out, np.stack([x[0, 2], x[1, 0]]))
    np.testing.assert_allclose(np.asarray(LastStep()(x)), x[:, -1])


def test_position_embedding():
    layer = PositionEmbedding(sequence_length=6)
    x = RNG.random((2, 4, 3)).astype("float32")
    out = np.asarray(layer(x))
    table = keras.ops.convert_to_numpy(layer.position_embeddings)
    np.testing.assert_allclose(out, x + table[None, :4], rtol=1e-6)
    with pytest.raises(ValueError, match="Received: sequence_length=0"):
        PositionEmbedding(0)


def test_transformer_block_ignores_padded_keys():
    block = TransformerEncoderBlock(num_heads=2, key_dim=4, ff_dim=8, dropout=0.0)
    x = RNG.random((1, 5, 8)).astype("float32")
    mask = np.array([[True, True, True, False, False]])
    out = np.asarray(block(x, mask=mask))
    changed = x.copy()
    changed[0, 3:] = RNG.random((2, 8))
    out_changed = np.asarray(block(changed, mask=mask))
    np.testing.assert_allclose(out[0, :3], out_changed[0, :3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "layer",
    [PaddingMask(pad_value=-1), ApplyMask(), MaskedGlobalPooling1D("max"), LastStep(),
     PositionEmbedding(7), TiledMaxPooling2D(3, padding="same"),
     TransformerEncoderBlock(num_heads=3, key_dim=5, ff_dim=9, dropout=0.2)],
)
def test_config_round_trip(layer):
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    clone = keras.saving.deserialize_keras_object(config)
    assert clone.get_config() == layer.get_config()


def test_modality_presence_flags_all_zero_samples():
    from mmkeras.layers import ModalityPresence

    x = np.zeros((3, 4, 5), "float32")
    x[0, 2, 1] = 0.5
    x[2] = 1.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ModalityPresence()(x)), [1, 0, 1])
    ids = np.array([[3, 0], [0, 0]])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ModalityPresence()(ids)), [1, 0])


def test_subword_embedding_against_numpy_and_its_word_mask():
    layer = SubwordEmbedding(buckets=20, output_dim=4, max_words=3, max_ngrams=4)
    ids = np.array([[3, 7, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0],
                    [1, 2, 3, 4, 0, 0, 0, 0, 9, 9, 0, 0]])
    out = np.asarray(layer(ids))
    table = np.asarray(layer.embedding.embeddings)
    assert table.shape == (21, 4) and out.shape == (2, 3, 4)
    np.testing.assert_allclose(out[0, 0], (table[3] + table[7]) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], table[5], rtol=1e-6)
    np.testing.assert_allclose(out[0, 2], 0)
    np.testing.assert_allclose(out[1, 0], table[1:5].mean(0), rtol=1e-5)
    np.testing.assert_allclose(out[1, 2], table[9], rtol=1e-6)  # a repeated piece counts twice
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(ids)),
                                  [[True, True, False], [True, False, True]])
    # The mask reaches the next mask-aware layer: empty words do not dilute the mean.
    inputs = keras.Input((12,), dtype="int32")
    pooled = MaskedGlobalPooling1D()(layer(inputs))
    np.testing.assert_allclose(np.asarray(keras.Model(inputs, pooled)(ids))[0],
                               out[0, :2].mean(0), rtol=1e-5)


def test_subword_embedding_config_and_bad_arguments():
    layer = SubwordEmbedding(buckets=9, output_dim=2, max_words=2, max_ngrams=3, name="sub")
    config = layer.get_config()
    assert {k: config[k] for k in ("buckets", "output_dim", "max_words", "max_ngrams")} == \
        {"buckets": 9, "output_dim": 2, "max_words": 2, "max_ngrams": 3}
    again = SubwordEmbedding.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    with pytest.raises(ValueError, match="Received: buckets=0"):
        SubwordEmbedding(buckets=0, output_dim=2, max_words=2, max_ngrams=3)
    with pytest.raises(ValueError, match=r"Received: shape=\(None, 5\)"):
        layer(keras.Input((5,), dtype="int32"))
def _max_pool_reference(x, pool, padding):
    """NumPy max pooling of non-overlapping `pool` tiles (TensorFlow's "same" offsets)."""
    batch, rows, columns, channels = x.shape
    counts, pads = [], []
    for size, p in zip((rows, columns), pool):
        count = -(-size // p) if padding == "same" else size // p
        extra = max(count * p - size, 0)
        counts.append(count)
        pads.append((extra // 2, extra - extra // 2))
    x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=-np.inf)
    out = np.empty((batch, counts[0], counts[1], channels), x.dtype)
    for i in range(counts[0]):
        for j in range(counts[1]):
            out[:, i, j] = x[:, i * pool[0]:(i + 1) * pool[0],
                             j * pool[1]:(j + 1) * pool[1]].max(axis=(1, 2))
    return out


@pytest.mark.parametrize("shape", [(2, 7, 6, 3), (1, 4, 4, 2), (2, 5, 9, 1)])
@pytest.mark.parametrize("pool", [(2, 2), (3, 2)])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_tiled_max_pooling_equals_max_pooling(shape, pool, padding):
    x = RNG.normal(size=shape).astype("float32")
    expected = _max_pool_reference(x, pool, padding)
    # The reshape itself (on every backend), and the layer (the reshape on JAX).
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(tiled_max_pool(x, pool, padding)), expected)
    layer = TiledMaxPooling2D(pool, padding=padding)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), expected)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(pool, padding=padding)(x)),
        expected)
    first = np.moveaxis(x, -1, 1)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(tiled_max_pool(first, pool, padding, "channels_first")),
        np.moveaxis(expected, -1, 1))
    # Overlapping windows are MaxPooling2D's own.
    overlapping = TiledMaxPooling2D(pool, strides=1, padding=padding)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(overlapping(x)),
        keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(pool, 1, padding)(x)))


def test_tiled_max_pooling_saved_in_a_model(tmp_path):
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, TiledMaxPooling2D(2, padding="same", name="pool")(inputs))
    x = RNG.normal(size=(3, 6, 6, 2)).astype("float32")
    model.save(tmp_path / "pool.keras")
    loaded = keras.saving.load_model(tmp_path / "pool.keras", safe_mode=True)
    assert isinstance(loaded.get_layer("pool"), TiledMaxPooling2D)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
