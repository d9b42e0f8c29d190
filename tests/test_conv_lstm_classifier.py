import keras
import numpy as np
import pytest

from mmkeras import conv_lstm_classifier

EXPECTED_LAYERS = [
    ("image", "InputLayer", (None, 224, 224, 3)),
    ("image_conv", "Conv2D", (None, 222, 222, 32)),
    ("image_pool", "MaxPooling2D", (None, 111, 111, 32)),
    ("image_flatten", "Flatten", (None, 394272)),
    ("text", "InputLayer", (None, 100)),
    ("text_embedding", "Embedding", (None, 100, 128)),
    ("text_lstm", "LSTM", (None, 128)),
    ("fusion", "Concatenate", (None, 394400)),
    ("dense", "Dense", (None, 128)),
    ("output", "Dense", (None, 2)),
]


def _layer_table(model):
    return {layer.name: (type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers}


def test_documents_architecture_exactly():
    model = conv_lstm_classifier()
    assert model.count_params() == 51_896_066
    assert model.get_layer("dense").count_params() == 50_483_328
    table = _layer_table(model)
    assert len(table) == len(EXPECTED_LAYERS)
    for name, kind, shape in EXPECTED_LAYERS:
        assert table[name] == (kind, shape), name
    # Each branch's layers come in the documents' order.
    order = [layer.name for layer in model.layers]
    assert order.index("image_conv") < order.index("image_pool") < order.index("image_flatten")
    assert order.index("text_embedding") < order.index("text_lstm") < order.index("fusion")
    assert model.get_layer("output").activation.__name__ == "softmax"
    assert model.loss == "categorical_crossentropy"
    assert [t.name for t in model.inputs] == ["image", "text"]


def test_binary_variant_of_001():
    model = conv_lstm_classifier(binary=True)
    assert model.get_layer("text_embedding").output.shape[-1] == 64
    assert tuple(model.output.shape) == (None, 1)
    assert model.get_layer("output").activation.__name__ == "sigmoid"
    assert model.loss == "binary_crossentropy"
    # 51,896,066 less the 64 embedding columns and LSTM input weights saved, less one output unit.
    expected = 51_896_066 - 10000 * 64 - 4 * 128 * 64 - 129
    assert model.count_params() == expected


def test_sizes_are_keywords():
    model = conv_lstm_classifier(image_shape=(32, 32, 3), sequence_length=12, vocab_size=50,
                            embedding_dim=8, lstm_units=4, conv_filters=2, dense_units=3,
                            num_classes=5)
    assert tuple(model.output.shape) == (None, 5)
    assert model.get_layer("image_flatten").output.shape[-1] == 15 * 15 * 2


def test_trains_as_the_documents_do_with_list_and_dict_inputs():
    model = conv_lstm_classifier(image_shape=(16, 16, 3), sequence_length=10, vocab_size=30,
                            embedding_dim=8, lstm_units=8, dense_units=8)
    rng = np.random.default_rng(0)
    images = rng.random((20, 16, 16, 3)).astype("float32")
    texts = rng.integers(1, 30, (20, 10))
    labels = keras.utils.to_categorical(rng.integers(0, 2, 20), 2)
    history = model.fit([images, texts], labels, epochs=1, batch_size=32,
                        validation_split=0.2, verbose=0)
    assert "val_loss" in history.history
    by_list = model.predict([images, texts], verbose=0)
    by_dict = model.predict({"text": texts, "image": images}, verbose=0)
    np.testing.assert_allclose(by_list, by_dict, rtol=1e-6)


def test_round_trip(assert_round_trip):
    model = conv_lstm_classifier(image_shape=(16, 16, 3), sequence_length=10, vocab_size=30)
    rng = np.random.default_rng(0)
    x = {"image": rng.random((3, 16, 16, 3)).astype("float32"), "text": rng.integers(0, 30, (3, 10))}
    assert_round_trip(model, x)


@pytest.mark.parametrize("kwargs", [{"num_classes": 1}, {"num_classes": 3, "binary": True}])
def test_bad_class_counts(kwargs):
    with pytest.raises(ValueError, match="Received: num_classes"):
        conv_lstm_classifier(**kwargs)


# The two Keras 3 facts that the docstring and notebook 1 state about the articles' code.

def _tiny_softmax_model():
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))


def test_positional_compile_reads_metrics_as_loss_weights():
    x = np.zeros((2, 3), "float32")
    y = np.eye(2, dtype="float32")
    positional = _tiny_softmax_model()
    # The third positional parameter of Model.compile is loss_weights, not metrics.
    positional.compile("adam", "categorical_crossentropy", ["accuracy"])
    config = positional.get_compile_config()
    assert config["loss_weights"] == ["accuracy"]
    assert config["metrics"] is None
    with pytest.raises(ValueError, match="dtype='string' is not a valid dtype"):
        positional.fit(x, y, epochs=1, verbose=0)
    # The articles pass keywords, which work.
    by_keyword = _tiny_softmax_model()
    by_keyword.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    assert "accuracy" in by_keyword.fit(x, y, epochs=1, verbose=0).history


def test_keras_tensors_have_no_output_but_models_do():
    image_input = keras.Input((8, 8, 3))
    features = keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(image_input))
    # Article 001 calls .output and .input on what its extract_features returns: tensors.
    with pytest.raises(AttributeError, match="'KerasTensor' object has no attribute 'output'"):
        features.output
    with pytest.raises(AttributeError, match="no attribute 'input'"):
        features.input
    branch = keras.Model(image_input, features)
    assert branch.output is features and branch.input is image_input
