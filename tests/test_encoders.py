import keras
import numpy as np
import pytest

from mmkeras import encoders

RNG = np.random.default_rng(0)

CASES = [
    (lambda: encoders.image_conv_flatten(input_shape=(12, 12, 1), filters=4), (12, 12, 1), 5 * 5 * 4),
    (lambda: encoders.image_cnn(input_shape=(12, 12, 1), embedding_dim=16), (12, 12, 1), 16),
    (lambda: encoders.image_cnn(input_shape=(12, 12, 1), embedding_dim=None), (12, 12, 1), 64),
    (lambda: encoders.image_flatten_dense(input_shape=(12, 12, 1), embedding_dim=8), (12, 12, 1), 8),
    (lambda: encoders.text_lstm(sequence_length=10, vocab_size=50, embedding_dim=8, units=6), (10,), 6),
    (lambda: encoders.text_bigru(sequence_length=10, vocab_size=50, units=5), (10,), 10),
    (lambda: encoders.text_conv1d(sequence_length=10, vocab_size=50, filters=7), (10,), 7),
    (lambda: encoders.text_transformer(sequence_length=10, vocab_size=50, embedding_dim=8), (10,), 8),
    (lambda: encoders.text_subword_bag(max_words=2, max_ngrams=5, buckets=50, output_dim=7), (10,), 7),
    (lambda: encoders.sequence_lstm(input_shape=(None, 5), units=6), (9, 5), 6),
    (lambda: encoders.sequence_conv1d(input_shape=(None, 5), filters=(4, 6)), (9, 5), 6),
    (lambda: encoders.video_cnn_lstm(input_shape=(3, 8, 8, 3), filters=(4,), units=5), (3, 8, 8, 3), 5),
]


def _sample(shape, batch=3):
    if len(shape) == 1:  # token ids, right-padded
        ids = RNG.integers(1, 50, (batch,) + shape)
        ids[:, shape[0] // 2:] = 0
        return ids
    return RNG.random((batch,) + shape).astype("float32")


@pytest.mark.parametrize("make, shape, width", CASES)
def test_embedding_shape_views_and_round_trip(make, shape, width, assert_round_trip):
    encoder = make()
    x = _sample(shape)
    assert encoder.predict(x, verbose=0).shape == (3, width)
    for view in ("stem", "sequence"):
        out = encoders.encoder_view(encoder, view).predict(x, verbose=0)
        assert out.shape[0] == 3
    sequence = encoders.encoder_view(encoder, "sequence").predict(x, verbose=0)
    assert sequence.ndim == 3
    assert_round_trip(encoder, x)


TEXT = [encoders.text_lstm, encoders.text_bigru, encoders.text_conv1d, encoders.text_transformer]


@pytest.mark.parametrize("factory", TEXT)
def test_text_padding_does_not_change_embedding(factory):
    short = factory(sequence_length=8, vocab_size=40)
    long = factory(sequence_length=14, vocab_size=40)
    if factory is encoders.text_transformer:
        # Positions 8..13 of `long` never see real tokens; share the rest.
        long.set_weights([s if s.shape == w.shape else np.concatenate([s, w[8:]])
                          for w, s in zip(long.get_weights(), short.get_weights())])
    else:
        long.set_weights(short.get_weights())
    ids = RNG.integers(1, 40, (4, 8))
    ids[:, 5:] = 0
    padded = np.concatenate([ids, np.zeros((4, 6), dtype=ids.dtype)], axis=1)
    np.testing.assert_allclose(short.predict(ids, verbose=0), long.predict(padded, verbose=0),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("factory", [encoders.sequence_lstm, encoders.sequence_conv1d])
def test_frame_padding_does_not_change_embedding(factory):
    encoder = factory(input_shape=(None, 13))
    frames = RNG.normal(size=(2, 10, 13)).astype("float32")
    padded = np.concatenate([frames, np.zeros((2, 7, 13), "float32")], axis=1)
    np.testing.assert_allclose(encoder.predict(frames, verbose=0),
                               encoder.predict(padded, verbose=0), rtol=1e-5, atol=1e-5)


def test_lstm_padding_matters_without_mask():
    # The check above can fail: without masking, padding changes an LSTM's state.
    inputs = keras.Input((None, 13))
    plain = keras.Model(inputs, keras.layers.LSTM(8)(inputs))
    frames = RNG.normal(size=(2, 10, 13)).astype("float32")
    padded = np.concatenate([frames, np.zeros((2, 7, 13), "float32")], axis=1)
    assert not np.allclose(plain.predict(frames, verbose=0), plain.predict(padded, verbose=0))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: encoders.image_cnn(input_shape=(28, 28)), r"input_shape=\(28, 28\)"),
        (lambda: encoders.image_conv_flatten(input_shape=(28, 28, 1, 1)), "Received: input_shape"),
        (lambda: encoders.sequence_lstm(input_shape=(13,)), r"input_shape=\(13,\)"),
        (lambda: encoders.video_cnn_lstm(input_shape=(8, 8, 3)), "Received: input_shape"),
        (lambda: encoders.text_lstm(vocab_size=0), "Received: vocab_size=0"),
        (lambda: encoders.text_transformer(sequence_length=None), "sequence_length=None"),
        (lambda: encoders.image_backbone("VGG99"), "Received: architecture='VGG99'"),
        (lambda: encoders.image_backbone(weights="/nope.h5"), "Received: weights='/nope.h5'"),
        (lambda: encoders.image_backbone(input_shape=(64, 64, 1)), "3 channels"),
    ],
)
def test_bad_arguments_name_the_value(call, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        call()


def test_backbone_random_and_local_weights(tmp_path):
    encoder = encoders.image_backbone("MobileNetV2", input_shape=(32, 32, 3), embedding_dim=8)
    x = RNG.random((2, 32, 32, 3)).astype("float32")
    assert encoder.predict(x, verbose=0).shape == (2, 8)
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None,
                                              input_shape=(32, 32, 3))
    path = tmp_path / "mobilenet.weights.h5"
    backbone.save_weights(path)
    frozen = encoders.image_backbone("MobileNetV2", input_shape=(32, 32, 3),
                                     weights=str(path), trainable=False)
    inner = [l for l in frozen.layers if isinstance(l, keras.Model)][0]
    assert not inner.trainable
    for a, b in zip(inner.get_weights(), backbone.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_backbone_imagenet_download_fails_clearly(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("name resolution failed")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(RuntimeError, match="weights=None or the path"):
        encoders.image_backbone("MobileNetV2", weights="imagenet")


def test_view_missing_layer_is_explained():
    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="mine")
    with pytest.raises(ValueError, match="Identity\\(name='stem'\\)"):
        encoders.encoder_view(plain, "stem")
    with pytest.raises(ValueError, match="Received: view='top'"):
        encoders.encoder_view(plain, "top")


def test_subword_bag_ignores_empty_words_and_checks_arguments():
    from mmkeras.preprocessing.text import subword_ids

    model = encoders.text_subword_bag(max_words=4, max_ngrams=24, buckets=1000)
    ids = np.stack([subword_ids(t, 1000, 4, 24) for t in ("red heart", "heart red", "red")])
    out = np.asarray(model(ids))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5)  # a bag: order does not count
    assert not np.allclose(out[0], out[2])
    assert {"stem", "sequence"} <= {layer.name for layer in model.layers}
    with pytest.raises(ValueError, match="Received: buckets=0"):
        encoders.text_subword_bag(buckets=0)
    with pytest.raises(ValueError, match="Received: output_dim=-1"):
        encoders.text_subword_bag(output_dim=-1)


def test_image_cnn_augmentation_is_training_only():
    from mmkeras.preprocessing.image import augmentation

    model = encoders.image_cnn(input_shape=(12, 12, 3), embedding_dim=8,
                               augmentation=augmentation(zoom=0.2, translation=0.2, seed=1))
    x = RNG.random((2, 12, 12, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(x, training=False)),
                                  np.asarray(model(x, training=False)))
    assert model.layers[1].name == "image_augmentation"
    with pytest.raises(TypeError, match="Received: augmentation='flip'"):
        encoders.image_cnn(augmentation="flip")
