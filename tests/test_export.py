import warnings

import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, deploy, encoders

# Probabilities of a converted float32 model agree with Keras within this.
FLOAT_ATOL = 1e-4
# A full-integer (int8) model must pick the same class as Keras on at least this share.
INT8_ARGMAX_AGREEMENT = 0.85


def _inputs(shapes, n=6, seed=0):
    """Random inputs for shape/agreement checks: tokens right-padded with 0,
    frames zero-padded after a few real ones."""
    rng = np.random.default_rng(seed)
    x = {}
    for name, shape in shapes.items():
        if name == "text":
            tokens = rng.integers(1, 40, size=(n, *shape)).astype("int32")
            tokens[:, shape[0] // 2:] = 0
            x[name] = tokens
        else:
            x[name] = rng.normal(size=(n, *shape)).astype("float32")
    if "audio" in x:
        x["audio"][:, 6:] = 0.0
    return x


def _text(kind):
    return {"lstm": lambda: encoders.text_lstm(sequence_length=10, vocab_size=40,
                                               embedding_dim=8, units=8),
            "bigru": lambda: encoders.text_bigru(sequence_length=10, vocab_size=40,
                                                 embedding_dim=8, units=4),
            "conv1d": lambda: encoders.text_conv1d(sequence_length=10, vocab_size=40,
                                                   embedding_dim=8, filters=8),
            "transformer": lambda: encoders.text_transformer(
                sequence_length=10, vocab_size=40, embedding_dim=8, num_heads=2)}[kind]()


# Every encoder type inside a built model, and each fusion level once.
CASES = {
    "image_cnn+text_lstm/concat": (
        lambda: {"image": encoders.image_cnn(input_shape=(12, 12, 3), filters=(4,),
                                             embedding_dim=8), "text": _text("lstm")},
        "concat", {"image": (12, 12, 3), "text": (10,)}, "unrolled"),
    "image_conv_flatten+text_bigru/late": (
        lambda: {"image": encoders.image_conv_flatten(input_shape=(12, 12, 3), filters=4),
                 "text": _text("bigru")},
        "late", {"image": (12, 12, 3), "text": (10,)}, "unrolled"),
    "sequence_lstm+text_transformer/cross_attention": (
        lambda: {"audio": encoders.sequence_lstm(input_shape=(None, 13), units=8),
                 "text": _text("transformer")},
        "cross_attention", {"audio": (9, 13), "text": (10,)}, "unrolled"),
    # Early fusion joins the encoders' stems (before any recurrent layer).
    "sequence_conv1d+text_conv1d/early": (
        lambda: {"audio": encoders.sequence_conv1d(input_shape=(9, 13), filters=(8,)),
                 "text": _text("conv1d")},
        "early", {"audio": (9, 13), "text": (10,)}, "builtin"),
    "video_cnn_lstm+sequence_conv1d/gated": (
        lambda: {"video": encoders.video_cnn_lstm(input_shape=(3, 12, 12, 3), filters=(4,),
                                                  units=8),
                 "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(8,))},
        "gated", {"video": (3, 12, 12, 3), "audio": (9, 13)}, "unrolled"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_every_encoder_converts_and_agrees_with_keras(case):
    build, fusion, shapes, path = CASES[case]
    mmkeras.training.seed_everything(0)
    model = mmkeras.build_model(build(), fusion=fusion, num_classes=3)
    x = _inputs(shapes)
    assert deploy.deployment_path(model) == path
    runner = deploy.TFLiteClassifier(deploy.convert(model, input_shapes=shapes))
    expected = model.predict(x, verbose=0)
    got = runner.predict(x)
    np.testing.assert_allclose(got, expected, atol=FLOAT_ATOL)
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))


@pytest.mark.slow
def test_articles_classifier_converts_at_a_reduced_size():
    mmkeras.training.seed_everything(0)
    model = mmkeras.conv_lstm_classifier(image_shape=(16, 16, 3), sequence_length=12,
                                         vocab_size=40, embedding_dim=8, lstm_units=8,
                                         dense_units=8, num_classes=3)
    x = _inputs({"image": (16, 16, 3), "text": (12,)})
    assert deploy.recurrent_layers(model) == ["text_lstm"]
    runner = deploy.TFLiteClassifier(deploy.convert(model))
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(runner.predict(x), expected, atol=FLOAT_ATOL)


def test_unrolled_bidirectional_keeps_masked_backward_outputs():
    # Keras' unrolled backward RNN zeroes real steps when zero_output_for_mask is on.
    model = mmkeras.build_model({"text": _text("bigru")}, fusion="concat", num_classes=3)
    x = _inputs({"text": (10,)})
    unrolled, path = deploy.deployable_model(model)
    assert path == "unrolled"
    np.testing.assert_allclose(unrolled.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


class _Data:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def take(self, n):
        return _Data({k: v[:n] for k, v in self.x.items()}, self.y[:n])


class _Digits:
    """av_digits with the audio cut to its first 24 frames, so that the
    unrolled LSTM converts in seconds."""

    def __init__(self):
        ds = datasets.load("av_digits")
        self.num_classes = ds.num_classes
        self.train, self.test = (_Data({"image": s.x["image"], "audio": s.x["audio"][:, :24]}, s.y)
                                 for s in (ds.train.take(600), ds.test.take(60)))


@pytest.fixture(scope="module")
def trained():
    ds = _Digits()
    mmkeras.training.seed_everything(0)
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8, 16), embedding_dim=16),
         "audio": encoders.sequence_lstm(input_shape=(None, 13), units=16)},
        fusion="concat", num_classes=ds.num_classes)
    model.fit(ds.train.x, ds.train.y, epochs=2, batch_size=64, verbose=0)
    return model, ds


@pytest.fixture(scope="module")
def converted(trained):
    model, ds = trained
    return {mode: deploy.convert(model, mode, representative_data=ds.train.take(50).x)
            for mode in deploy.QUANTIZATIONS}


@pytest.mark.slow
def test_quantisations_run_and_agree_on_trained_model(trained, converted):
    model, ds = trained
    test = ds.test
    expected = model.predict(test.x, verbose=0)
    for mode, content in converted.items():
        got = deploy.TFLiteClassifier(content).predict(test.x)
        agreement = np.mean(got.argmax(-1) == expected.argmax(-1))
        if mode == "float32":
            np.testing.assert_allclose(got, expected, atol=FLOAT_ATOL)
        assert agreement >= INT8_ARGMAX_AGREEMENT, (mode, agreement)
    sizes = {mode: len(content) for mode, content in converted.items()}
    # This tiny model's file is mostly the unrolled graph, not weights, so the gains are small;
    # int8 even grows it (a quantisation parameter per step's tensors): see docs/guide/deployment.md.
    assert max(sizes["dynamic"], sizes["float16"]) < sizes["float32"], sizes


@pytest.mark.slow
def test_saved_model_path_and_runner(trained, converted, tmp_path):
    model, ds = trained
    test = ds.test.take(5)
    unrolled, _ = deploy.deployable_model(model, {"audio": test.x["audio"].shape[1:]})
    folder = deploy.export_saved_model(unrolled, tmp_path / "saved")
    content = deploy.to_tflite(folder)
    assert abs(len(content) - len(converted["float32"])) < 0.05 * len(content)
    runner = deploy.TFLiteClassifier(content)
    np.testing.assert_allclose(runner.predict(test.x), model.predict(test.x, verbose=0),
                               atol=FLOAT_ATOL)
    assert runner.latency(test.x, repeats=2) > 0
    with pytest.raises(ValueError, match="Missing inputs"):
        runner.predict({"image": test.x["image"]})


@pytest.mark.slow
def test_runner_uses_litert_and_falls_back_with_a_warning(trained, converted, monkeypatch):
    pytest.importorskip("ai_edge_litert")
    _, ds = trained
    content = converted["dynamic"]
    assert type(deploy.TFLiteClassifier(content).interpreter).__module__.startswith("ai_edge_litert")
    int8 = deploy.TFLiteClassifier(converted["int8"])
    assert deploy.has_int8_activations(int8.interpreter)
    assert not deploy.has_int8_activations(deploy.TFLiteClassifier(content).interpreter)
    from mmkeras.deploy import tflite_runner

    monkeypatch.setattr(tflite_runner, "_litert", lambda: None)
    with pytest.warns(UserWarning, match="ai-edge-litert is not installed"):
        runner = deploy.TFLiteClassifier(content)
    assert runner.predict(ds.test.take(2).x).shape == (2, ds.num_classes)


@pytest.mark.slow
def test_the_runner_takes_bytes_or_the_path_of_a_tflite_file(trained, converted, tmp_path):
    _, ds = trained
    path = tmp_path / "m.tflite"
    path.write_bytes(converted["float32"])
    x = ds.test.take(3).x
    np.testing.assert_allclose(deploy.TFLiteClassifier(str(path)).predict(x),
                               deploy.TFLiteClassifier(converted["float32"]).predict(x), atol=1e-6)
    assert deploy.TFLiteClassifier(path).size_bytes == len(converted["float32"])
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        deploy.TFLiteClassifier(tmp_path / "nope.tflite")
    with pytest.raises(TypeError, match="must be bytes .* or the path of a .tflite file. "
                                        "Received: int"):
        deploy.TFLiteClassifier(3)


@pytest.mark.slow
def test_bad_inputs_are_named(trained, tmp_path):
    model, ds = trained
    x = ds.train.take(4).x
    with pytest.raises(ValueError, match=r"one of 'float32', 'dynamic', 'float16', 'int8'\. Received: quantization='int4'"):
        deploy.convert(model, "int4", representative_data=x)
    with pytest.raises(ValueError, match="Received: list"):
        deploy.convert(model, "int8", representative_data=[x["image"], x["audio"]])
    with pytest.raises(ValueError, match=r"Received keys: \['image'\]"):
        deploy.convert(model, "int8", representative_data={"image": x["image"]})
    with pytest.raises(ValueError, match=r"representative_data\['image'\] has shape \(4, 28, 28\)"):
        deploy.convert(model, "int8", representative_data={"image": x["image"][..., 0],
                                                          "audio": x["audio"]})
    with pytest.raises(ValueError, match="Input 'audio'.*fixed shape"):
        deploy.convert(model)
    with pytest.raises(ValueError, match=r"Unknown inputs in input_shapes. Received: \['sound'\]"):
        deploy.deployable_model(model, {"sound": (24, 13)})
    with pytest.raises(ValueError, match="xnnpack"):
        deploy.load_interpreter(b"", xnnpack="yes")
    with pytest.raises(FileNotFoundError, match="Received"):
        deploy.to_tflite(tmp_path / "nothing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="quantization='int8' needs representative_data"):
            unrolled, _ = deploy.deployable_model(model, {"audio": (24, 13)})
            deploy.to_tflite(deploy.export_saved_model(unrolled, tmp_path / "s"), "int8")
