import keras
import numpy as np
import pytest

import mmkeras
from mmkeras import encoders

RNG = np.random.default_rng(0)
FUSIONS = sorted(mmkeras.fusion.FUSIONS)


def _encoders(modalities):
    make = {
        "image": lambda: encoders.image_cnn(input_shape=(12, 12, 1), filters=(8, 16),
                                            embedding_dim=16),
        "audio": lambda: encoders.sequence_lstm(input_shape=(None, 13), units=16),
        "text": lambda: encoders.text_bigru(sequence_length=10, vocab_size=50, units=8),
    }
    return {m: make[m]() for m in modalities}


def _data(modalities, n=6):
    data = {
        "image": RNG.random((n, 12, 12, 1)).astype("float32"),
        "audio": RNG.normal(size=(n, 9, 13)).astype("float32"),
        "text": RNG.integers(1, 50, (n, 10)),
    }
    data["text"][:, 6:] = 0
    return {m: data[m] for m in modalities}


@pytest.mark.slow
@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("modalities", [("image",), ("image", "audio"), ("image", "audio", "text")])
def test_every_fusion_every_modality_count(fusion, modalities, assert_round_trip):
    if len(modalities) == 1 and fusion in ("cross_attention", "film"):
        # defined between modalities: a clear error instead of a silent identity
        with pytest.raises(ValueError, match="at least 2 modalities. Received: 1"):
            mmkeras.build_model(_encoders(modalities), fusion=fusion, num_classes=4)
        return
    model = mmkeras.build_model(_encoders(modalities), fusion=fusion, num_classes=4)
    assert sorted(t.name for t in model.inputs) == sorted(modalities)
    x = _data(modalities)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (6, 4)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    names = {layer.name for layer in model.layers}
    assert {f"{m}_encoder" for m in modalities} <= names or fusion == "early"
    assert mmkeras.fusion.fusion_layer(model).name
    assert_round_trip(model, x)


def test_four_modalities_binary():
    encs = _encoders(("image", "audio", "text"))
    encs["video"] = encoders.video_cnn_lstm(input_shape=(3, 8, 8, 3), filters=(4,), units=4)
    x = _data(("image", "audio", "text"))
    x["video"] = RNG.random((6, 3, 8, 8, 3)).astype("float32")
    for fusion in ("concat", "late", "early"):
        model = mmkeras.build_model(dict(encs), fusion=fusion, num_classes=2, binary=True)
        out = model.predict(x, verbose=0)
        assert out.shape == (6, 1) and np.all((out >= 0) & (out <= 1))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tracing")
@pytest.mark.parametrize("binary", [False, True])
def test_a_built_model_traces_its_train_step_once(binary, train_step_traces):
    """The optimizer and the accuracy metric are made when the model is compiled, not in
    the first trace of the train step (which TensorFlow would then trace again)."""
    model = mmkeras.build_model(_encoders(["image", "audio"]), num_classes=2, binary=binary)
    traces = train_step_traces(model)
    x, y = _data(["image", "audio"]), np.array([0, 1, 1, 0, 1, 0])
    history = model.fit(x, y if not binary else y[:, None], batch_size=4, epochs=2, verbose=0)
    assert len(traces) == 1
    assert set(history.history) == {"loss", "accuracy"}
    # the accuracy Keras would choose for "accuracy" and these labels
    p = model.predict(x, verbose=0)
    expected = np.mean((p[:, 0] > 0.5) == y) if binary else np.mean(p.argmax(-1) == y)
    assert model.evaluate(x, y if not binary else y[:, None], verbose=0)[1] == pytest.approx(
        expected)


def test_readable_layer_names():
    model = mmkeras.build_model(_encoders(("image", "text")), fusion="concat", num_classes=3)
    names = [layer.name for layer in model.layers]
    for expected in ("image", "text", "image_encoder", "text_encoder", "head"):
        assert expected in names
    assert any(isinstance(l, mmkeras.fusion.ConcatFusion) for l in model.layers)
    assert model.name == "concat_fusion"
    late = mmkeras.build_model(_encoders(("image", "text")), fusion="late", num_classes=3)
    assert {"image_head", "text_head"} <= {l.name for l in late.layers}
    single = mmkeras.build_model(_encoders(("audio",)), num_classes=3)
    assert single.name == "audio_only"


def test_fusion_instance_and_custom_registration():
    late = mmkeras.fusion.LateFusion(combine="weighted", name="my_late")
    model = mmkeras.build_model(_encoders(("image", "audio")), fusion=late, num_classes=3)
    assert model.get_layer("my_late") is late
    weights = keras.ops.convert_to_numpy(late.modality_weights())
    np.testing.assert_allclose(weights, [0.5, 0.5])


def test_a_user_fusion_registered_in_a_few_lines_trains():
    @keras.saving.register_keras_serializable(package="mmkeras_test")
    class MaxFusion(mmkeras.fusion.Fusion):
        """F = max_m (h_m W_m + b_m), feature by feature."""

        fusion_level = "feature"

        def build(self, input_shape):
            super().build(input_shape)
            self.projections = self.build_projections(input_shape)

        def call(self, inputs):
            projected = [p(x) for p, x in zip(self.projections, inputs)]
            return keras.ops.max(keras.ops.stack(projected, axis=1), axis=1)

    mmkeras.fusion.register_fusion("test_max", MaxFusion, units=8)
    try:
        model = mmkeras.build_model(_encoders(("image", "audio")), fusion="test_max",
                                    num_classes=3)
        x, y = _data(("image", "audio")), np.array([0, 1, 2, 0, 1, 2])
        history = model.fit(x, y, epochs=1, batch_size=3, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert model.name == "test_max_fusion"
        assert mmkeras.fusion.fusion_layer(model).units == 8
    finally:
        del mmkeras.fusion.FUSIONS["test_max"]
    with pytest.raises(TypeError, match="subclass mmkeras.fusion.Fusion"):
        mmkeras.fusion.register_fusion("plain", keras.layers.Add)
    with pytest.raises(TypeError, match="not a fusion"):
        mmkeras.build_model(_encoders(("image", "audio")), fusion=keras.layers.Add())


def test_build_model_leaves_encoders_and_fusion_layers_unchanged():
    encs = _encoders(("image", "audio"))
    names = {m: e.name for m, e in encs.items()}
    film = mmkeras.fusion.FiLMFusion(units=4, conditioning="audio")
    model = mmkeras.build_model(encs, fusion=film, num_classes=3)
    assert {m: e.name for m, e in encs.items()} == names
    assert film.conditioning == "audio" and not film.built
    assert mmkeras.fusion.fusion_layer(model).conditioning == 0  # "audio", sorted first
    late = mmkeras.fusion.LateFusion("mean")
    mmkeras.build_model(_encoders(("image", "audio")), fusion=late, num_classes=2, binary=True)
    assert late.binary is None
    with pytest.raises(ValueError, match="binary=False.*Received: input_shape"):
        mmkeras.build_model(_encoders(("image", "audio")),
                            fusion=mmkeras.fusion.LateFusion(binary=False), num_classes=2,
                            binary=True)


def test_backbone_is_the_trunk_of_the_classifier():
    encs = _encoders(("image", "audio"))
    backbone = mmkeras.build_backbone(encs, fusion="sum")
    assert backbone.name == "sum_backbone" and tuple(backbone.output.shape) == (None, 64)
    x = _data(("image", "audio"))
    assert backbone.predict(x, verbose=0).shape == (6, 64)
    model = mmkeras.build_model(encs, fusion=mmkeras.fusion.fusion_layer(backbone),
                                num_classes=3)
    shared = {w.path for w in backbone.weights}
    assert shared < {w.path for w in model.weights}  # same layers, plus the head
    with pytest.raises(ValueError, match="no fused representation.*Received: fusion='late'"):
        mmkeras.build_backbone(_encoders(("image", "audio")), fusion="late")


@pytest.mark.parametrize("fusion, key, shape", [
    ("weighted", "modality_weights", (2,)),
    ("late_weighted", "modality_weights", (2,)),
    ("attention", "attention_weights", (6, 2)),
    ("self_attention", "attention_scores", (6, 2, 2, 2)),
    ("gated", "gates", (6, 2, 64)),
    ("film", "gamma", (6, 64)),
])
def test_fusion_readout(fusion, key, shape):
    model = mmkeras.build_model(_encoders(("image", "audio")), fusion=fusion, num_classes=3)
    readout = mmkeras.fusion.fusion_readout(model, _data(("image", "audio")))
    assert readout["modalities"] == ["audio", "image"]
    assert np.asarray(readout[key]).shape == shape


def test_cross_attention_readout_uses_the_padding_masks():
    model = mmkeras.build_model(_encoders(("image", "text")), fusion="cross_attention",
                                num_classes=3)
    x = _data(("image", "text"), n=2)
    masks = mmkeras.fusion.fusion_masks(model, x)
    assert masks[0] is None and masks[1].shape == (2, 10) and not masks[1][:, 6:].any()
    image_to_text = mmkeras.fusion.fusion_readout(model, x)["attention_maps"][0]
    assert image_to_text.shape[-1] == 10
    np.testing.assert_allclose(image_to_text[..., 6:], 0, atol=1e-6)  # padded words: no weight
    assert mmkeras.utils.layer_names.padding_mask_name("text") in {l.name for l in model.layers}


def test_early_fusion_masks_padding():
    model = mmkeras.build_model(_encoders(("image", "text")), fusion="early", num_classes=3,
                                dropout=0.0)
    x = _data(("image", "text"), n=2)
    changed = {k: v.copy() for k, v in x.items()}
    # Token id 0 is padding: a different padding layout with the same real tokens.
    short = x["text"].copy()
    short[:, 6:] = 0
    np.testing.assert_allclose(model.predict({"image": x["image"], "text": short}, verbose=0),
                               model.predict(x, verbose=0))
    changed["text"][:, 3] = 7  # a real token does change the output
    assert not np.allclose(model.predict(changed, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"fusion": "avg"}, ValueError, "Received: fusion='avg'.*'concat'"),
        ({"fusion": 3}, TypeError, "Received: fusion=3"),
        ({"fusion": keras.layers.Dense(3)}, TypeError, "not a fusion.*Received: fusion=<Dense"),
        ({"num_classes": 1}, ValueError, "Received: num_classes=1"),
        ({"num_classes": 3, "binary": True}, ValueError, "Received: num_classes=3"),
        ({"encoders": {}}, ValueError, "Received: encoders=\\{\\}"),
        ({"encoders": [1]}, TypeError, "Received: encoders of type list"),
        ({"encoders": {"my image": None}}, ValueError, "Received: 'my image'"),
        ({"encoders": {"image": "cnn"}}, TypeError, "Received: str"),
        ({"fusion": mmkeras.fusion.LateFusion(binary=True)}, ValueError, "binary=True"),
    ],
)
def test_bad_specs_name_what_was_received(kwargs, error, message):
    args = {"encoders": _encoders(("image",)), "fusion": "concat", "num_classes": 3}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        mmkeras.build_model(**args)


def test_data_that_does_not_match_the_inputs():
    model = mmkeras.build_model(_encoders(("image", "audio")), num_classes=3)
    x = _data(("image", "audio"))
    mmkeras.check_inputs(model, x)
    with pytest.raises(ValueError, match=r"missing: \['audio'\], unexpected: \['sound'\]"):
        mmkeras.check_inputs(model, {"image": x["image"], "sound": x["audio"]})
    with pytest.raises(ValueError, match=r"'image' must have rank 4.*Received: shape=\(6, 12, 12\)"):
        mmkeras.check_inputs(model, {"image": x["image"][..., 0], "audio": x["audio"]})
    with pytest.raises(ValueError, match=r"'image' must have shape.*Received: shape=\(6, 12, 11, 1\)"):
        mmkeras.check_inputs(model, {"image": x["image"][:, :, :11], "audio": x["audio"]})
    with pytest.raises(ValueError, match="same number of samples"):
        mmkeras.check_inputs(model, {"image": x["image"][:3], "audio": x["audio"]})
    with pytest.raises(TypeError, match="Received: list"):
        mmkeras.check_inputs(model, [x["image"], x["audio"]])


def test_mixed_precision_keeps_float32_probabilities():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for fusion in ("concat", "late", "early"):
            model = mmkeras.build_model(_encoders(("image", "text")), fusion=fusion,
                                        num_classes=3)
            assert model.output.dtype == "float32"
            out = model.predict(_data(("image", "text")), verbose=0)
            assert np.all(np.isfinite(out))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_a_modality_missing_from_the_data_is_replaced_like_a_dropped_one():
    """A blank caption (all padding) gets the learned 'missing' vector, sample by sample."""
    from mmkeras import encoders as enc

    model = mmkeras.build_model(
        {"image": enc.image_cnn(input_shape=(8, 8, 3), filters=(4,)),
         "text": enc.text_conv1d(sequence_length=5, vocab_size=20, filters=4)},
        fusion="concat", num_classes=3, modality_dropout=0.3, missing="learned")
    drop = model.get_layer("modality_dropout")
    drop.missing_vectors[1].assign(np.linspace(-1, 1, drop.missing_vectors[1].shape[0]))
    rng = np.random.default_rng(0)
    x = {"image": rng.random((4, 8, 8, 3)).astype("float32"),
         "text": rng.integers(1, 20, (4, 5)).astype("int32")}
    x["text"][[1, 3]] = 0  # captions missing for samples 1 and 3
    mixed = model.predict(x, verbose=0)
    drop.set_missing(["text"])
    all_missing = model.predict(x, verbose=0)
    drop.set_missing()
    np.testing.assert_allclose(mixed[[1, 3]], all_missing[[1, 3]], rtol=1e-5, atol=1e-6)
    assert not np.allclose(mixed[[0, 2]], all_missing[[0, 2]])


def test_missing_is_checked_and_needs_modality_dropout():
    def build(**kwargs):
        return mmkeras.build_model(
            {"image": encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,), embedding_dim=4),
             "audio": encoders.sequence_lstm(input_shape=(None, 3), units=4)},
            "concat", num_classes=2, **kwargs)

    with pytest.raises(ValueError, match=r"`missing` must be one of 'zeros', 'learned'. "
                                         r"Received: missing='mean'"):
        build(missing="mean", modality_dropout=0.3)
    with pytest.raises(ValueError, match=r"modality_dropout is 0: nothing would be dropped. "
                                         r"Received: missing='learned', modality_dropout=0.0"):
        build(missing="learned")
    build(missing="learned", modality_dropout=0.3)
