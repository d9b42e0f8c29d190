"""Pretrain, then fuse: freezing, pretrained encoders from files or online sources
(mocked: no test touches the network), and word vectors in a text encoder."""

import sys
import time
import types

import keras
import numpy as np
import pytest

from mmkeras import build_model, encoders
from mmkeras.datasets import Split
from mmkeras.encoders.pretrained import load_encoder, read_word_vectors, set_word_vectors
from mmkeras.training.pretraining import (
    fit_frozen_then_fine_tune,
    pretrain_encoders,
    set_encoders_trainable,
)


def _encoders():
    return {"image": encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
            "audio": encoders.sequence_lstm(input_shape=(None, 3), units=4)}


def _split(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return Split({"image": rng.random((n, 8, 8, 1), dtype="float32"),
                  "audio": rng.random((n, 5, 3), dtype="float32")}, np.arange(n) % 3)


def _weights(layer):
    return [w.copy() for w in layer.get_weights()]


@pytest.mark.slow
def test_pretrain_then_freeze_then_fine_tune():
    enc = _encoders()
    initial = {m: _weights(e) for m, e in enc.items()}
    unimodal = pretrain_encoders(enc, _split(), _split(16, 1), num_classes=3, epochs=1)
    assert sorted(unimodal) == ["audio", "image"]
    for m, e in enc.items():  # trained in place
        assert any(not np.allclose(a, b) for a, b in zip(initial[m], e.get_weights()))
    model = build_model(enc, "concat", num_classes=3)
    pretrained = {m: _weights(model.get_layer(f"{m}_encoder")) for m in enc}
    head = _weights(model.get_layer("head"))
    fit_frozen_then_fine_tune(model, _split(), _split(16, 1), epochs=2)
    for m in enc:  # frozen: unchanged
        for a, b in zip(pretrained[m], model.get_layer(f"{m}_encoder").get_weights()):
            np.testing.assert_array_equal(a, b)
    assert any(not np.allclose(a, b) for a, b in zip(head, model.get_layer("head").get_weights()))
    fit_frozen_then_fine_tune(model, _split(), _split(16, 1), epochs=1, fine_tune_epochs=1)
    assert any(not np.allclose(a, b) for a, b in
               zip(pretrained["image"], model.get_layer("image_encoder").get_weights()))
    with pytest.raises(ValueError, match="text_encoder"):
        set_encoders_trainable(model, False, modalities=["text"])


def test_load_encoder_from_keras_files(tmp_path):
    enc = _encoders()
    fused = build_model(enc, "concat", num_classes=3)
    fused.save(tmp_path / "fused.keras")
    audio = load_encoder(str(tmp_path / "fused.keras"), modality="audio", trainable=False)
    x = _split().x
    np.testing.assert_allclose(audio.predict(x["audio"], verbose=0),
                               enc["audio"].predict(x["audio"], verbose=0), atol=1e-6)
    assert not audio.trainable
    with pytest.raises(ValueError, match="Received: modality='text'"):
        load_encoder(str(tmp_path / "fused.keras"), modality="text")
    build_model({"image": enc["image"]}, num_classes=3).save(tmp_path / "image_only.keras")
    assert load_encoder(str(tmp_path / "image_only.keras")).output.shape == (None, 4)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        load_encoder(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="encoder.h5"):
        load_encoder("encoder.h5")


def test_keras_applications_offline_fails_fast_and_clearly(monkeypatch):
    def offline(**kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/x.h5: None -- "
                        "[Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="image_backbone.*save\\('encoder.keras'\\)"):
        load_encoder("keras.applications:MobileNetV2", input_shape=(96, 96, 3))
    assert time.perf_counter() - start < 5
    with pytest.raises(ValueError, match="'NoSuchNet'"):
        load_encoder("keras.applications:NoSuchNet")


def test_keras_hub_presets_mocked(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ImportError, match="pip install keras-hub"):
        load_encoder("keras_hub:bert_tiny_en_uncased")

    def from_preset(preset):
        raise OSError(f"Temporary failure in name resolution: {preset}")

    hub = types.SimpleNamespace(models=types.SimpleNamespace(
        Backbone=types.SimpleNamespace(from_preset=from_preset)))
    monkeypatch.setitem(sys.modules, "keras_hub", hub)
    with pytest.raises(ConnectionError, match="bert_tiny_en_uncased"):
        load_encoder("keras_hub:bert_tiny_en_uncased")


def test_word_vectors_land_at_the_vocabulary_ids(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("3 3\n"  # word2vec header, skipped
                    "dog 1 2 3\ncat 4 5 6\nbird 7 8 9\n", encoding="utf-8")
    vocabulary = ["<pad>", "<oov>", "cat", "zebra", "dog"]
    vectors, found = read_word_vectors(str(path), vocabulary)
    assert found.tolist() == [False, False, True, False, True]
    np.testing.assert_array_equal(vectors[2], [4, 5, 6])
    encoder = encoders.text_bigru(sequence_length=None, vocab_size=5, embedding_dim=3, units=2)
    table = encoder.get_layer("embedding").get_weights()[0].copy()
    report = set_word_vectors(encoder, str(path), vocabulary, trainable=False)
    assert report == {"found": 2, "unknown": ["zebra"]}
    after = encoder.get_layer("embedding").get_weights()[0]
    np.testing.assert_array_equal(after[4], [1, 2, 3])
    np.testing.assert_array_equal(after[2], [4, 5, 6])
    np.testing.assert_array_equal(after[[0, 1, 3]], table[[0, 1, 3]])  # untouched rows
    assert not encoder.get_layer("embedding").trainable
    wide = encoders.text_bigru(sequence_length=None, vocab_size=5, embedding_dim=4, units=2)
    with pytest.raises(ValueError, match="3-d vectors"):
        set_word_vectors(wide, str(path), vocabulary)
    (tmp_path / "bad.txt").write_text("dog 1 2 3\ncat 4 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        read_word_vectors(str(tmp_path / "bad.txt"), vocabulary)
