"""Task: the network's own graph, its preprocessor in Keras' config, inputs checked in fit."""

import keras
import numpy as np
import pytest

import mmkeras
from mmkeras import encoders
from mmkeras.models import MultimodalClassifier, Task
from mmkeras.preprocessing import ImageConverter, Preprocessor, TextTokenizer

VOCABULARY = ["<pad>", "<oov>", "red", "heart", "face"]


def _network(binary=False):
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,), embedding_dim=4),
         "text": encoders.text_conv1d(sequence_length=4, vocab_size=len(VOCABULARY),
                                      embedding_dim=4, filters=4)},
        "concat", num_classes=2 if binary else 3, binary=binary, head_units=(4,))


def _classifier(binary=False):
    network = _network(binary)
    preprocessor = Preprocessor({"image": ImageConverter((8, 8), "grayscale"),
                                 "text": TextTokenizer(VOCABULARY, 4)},
                                class_names=["a", "b"] if binary else ["a", "b", "c"])
    return MultimodalClassifier(network, preprocessor)


def _data(n=6):
    rng = np.random.default_rng(0)
    return ({"image": rng.random((n, 8, 8, 1)).astype("float32"),
             "text": rng.integers(0, len(VOCABULARY), (n, 4)).astype("int32")},
            rng.integers(0, 3, n))


def test_the_task_is_the_networks_graph_and_round_trips_in_safe_mode(tmp_path):
    model = _classifier()
    x, y = _data()
    assert [layer.name for layer in model.layers] == [
        layer.name for layer in model.network.layers]
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded, MultimodalClassifier) and loaded.compiled
    assert loaded.preprocessor.columns == model.preprocessor.columns
    assert loaded.class_names == ["a", "b", "c"]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)  # trains on after loading
    import zipfile

    assert sorted(zipfile.ZipFile(tmp_path / "m.keras").namelist()) == [
        "config.json", "metadata.json", "model.weights.h5"]  # nothing pushed into the zip


def test_fusion_readout_and_layers_are_reachable_through_the_task():
    model = _classifier()
    x, _ = _data()
    assert model.get_layer("concat_fusion") is model.network.get_layer("concat_fusion")
    assert "fusion" in mmkeras.fusion.fusion_readout(model, x)


# One case per kind of bad input: each refused before Keras sees it, naming input and value.
def _float_ids(x, y):
    return {**x, "text": x["text"].astype("float32")}, y


def _nan_pixels(x, y):
    image = x["image"].copy()
    image[2, 1, 1, 0] = np.nan
    return {**x, "image": image}, y


def _inf_pixels(x, y):
    image = x["image"].copy()
    image[0, 0, 0, 0] = np.inf
    return {**x, "image": image}, y


def _id_out_of_range(x, y):
    text = x["text"].copy()
    text[1, 0] = len(VOCABULARY) + 3
    return {**x, "text": text}, y


def _label_out_of_range(x, y):
    return x, np.where(np.arange(len(y)) == 4, 7, y)


def _fractional_labels(x, y):
    return x, y + 0.5


BAD_INPUTS = {
    "float token ids": (_float_ids, r"Input 'text' takes integer token ids .*dtype=float32"),
    "NaN": (_nan_pixels, r"Input 'image' holds 1 NaN .*sample 2.*image\[2, 1, 1, 0\]=nan"),
    "inf": (_inf_pixels, r"Input 'image' holds 1 NaN or infinite .*=inf"),
    "token id out of range": (_id_out_of_range, r"Input 'text' holds token ids outside the "
                              r"vocabulary \[0, 5\).*text\[1, 0\]=8"),
    "label out of range": (_label_out_of_range, r"has 3 classes: labels must be in \[0, 3\)\. "
                           r"Received: y\[4\]=7"),
    "fractional label": (_fractional_labels, r"integer class ids\. Received: y\[0\]="),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_fit_refuses_bad_inputs_with_the_input_and_value_named(case):
    model = _classifier()
    make, message = BAD_INPUTS[case]
    x, y = make(*_data())
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, epochs=1, verbose=0)


def test_fit_refuses_labels_a_binary_head_cannot_take():
    model = _classifier(binary=True)
    x, _ = _data()
    with pytest.raises(ValueError, match=r"binary \(one sigmoid unit\): labels must be 0 or 1. "
                                         r"Received: y\[2\]=2"):
        model.fit(x, np.array([0, 1, 2, 0, 1, 1]), epochs=1, verbose=0)


def test_validation_data_evaluate_and_predict_are_checked_too():
    model = _classifier()
    x, y = _data()
    bad_x, _ = _nan_pixels(x, y)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(x, y, validation_data=(bad_x, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        model.evaluate(bad_x, y, verbose=0)
    with pytest.raises(ValueError, match=r"missing: \['text'\]"):
        model.predict({"image": x["image"]}, verbose=0)


def test_raw_inputs_and_class_names_train_and_predict():
    model = _classifier()
    images = [np.full((16, 16), v, "uint8") for v in (0, 255, 128)]
    raw = {"image": images, "text": ["red heart", "face", ""]}
    model.fit(raw, ["a", "b", "c"], epochs=1, verbose=0)
    assert model.predict(raw, verbose=0).shape == (3, 3)
    with pytest.raises(ValueError, match=r"not classes of this model. Received: \['z'\]"):
        model.fit(raw, ["a", "b", "z"], epochs=1, verbose=0)


def test_a_task_without_preprocessor_takes_arrays_only():
    task = Task(_network())
    x, y = _data()
    task.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="has no preprocessor, so it takes arrays only"):
        task.predict({"image": ["a.png"], "text": ["red"]})
    with pytest.raises(TypeError, match="must be a functional keras.Model"):
        Task("not a model")
