import keras
import numpy as np
import pytest
import tensorflow as tf

from mmkeras.utils.training_state import build_training_state


def sequence_model(outputs=("label",)):
    inputs = keras.Input((None, 3), name="frames")
    h = keras.layers.LSTM(4)(keras.layers.Masking()(inputs))
    heads = {name: keras.layers.Dense(3, activation="softmax", name=name)(h) for name in outputs}
    model = keras.Model({"frames": inputs}, heads if len(heads) > 1 else heads[outputs[0]])
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics={name: ["accuracy"] for name in outputs} if len(heads) > 1
                  else ["accuracy"])
    return model


def data(n=12, steps=5):
    rng = np.random.default_rng(0)
    return {"frames": rng.normal(size=(n, steps, 3)).astype("float32")}, rng.integers(0, 3, n)


def train(count_traces, build, fit_args, prepare):
    """`(train-step traces, history)` of a fresh model's `fit(**fit_args)`."""
    keras.utils.set_random_seed(0)
    model = build()
    traces = count_traces(model)
    if prepare:
        build_training_state(model, fit_args["x"], fit_args.get("y"))
    history = model.fit(**fit_args, epochs=2, batch_size=4 if "y" in fit_args else None,
                        verbose=0, shuffle=False)
    return len(traces), history.history


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tracing")
def test_the_train_step_is_traced_once_and_trains_as_before(train_step_traces):
    x, y = data()
    before, plain = train(train_step_traces, sequence_model, {"x": x, "y": y}, prepare=False)
    after, prepared = train(train_step_traces, sequence_model, {"x": x, "y": y}, prepare=True)
    assert before == 2, "Keras now builds this state itself: build_training_state is not needed"
    assert after == 1
    assert prepared.keys() == plain.keys() == {"loss", "accuracy"}
    for key in plain:
        np.testing.assert_allclose(prepared[key], plain[key], rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's tracing")
def test_a_dataset_of_any_length_and_several_outputs(train_step_traces):
    x, y = data()
    targets = {"label": y, "other": (y + 1) % 3}
    dataset = tf.data.Dataset.from_tensor_slices((x, targets)).padded_batch(
        4, padded_shapes=({"frames": [None, 3]}, {"label": [], "other": []}))
    assert dataset.element_spec[0]["frames"].shape.as_list() == [None, None, 3]

    def build():
        return sequence_model(outputs=("label", "other"))

    _, plain = train(train_step_traces, build, {"x": dataset}, prepare=False)
    after, prepared = train(train_step_traces, build, {"x": dataset}, prepare=True)
    assert after == 1
    assert prepared.keys() == plain.keys() and "other_accuracy" in plain
    for key in plain:
        np.testing.assert_allclose(prepared[key], plain[key], rtol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_a_model_of_a_distribution_strategy_is_left_to_keras():
    x, y = data()
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model = sequence_model()
    build_training_state(model, x, y)
    assert not model.optimizer.built
    assert len(model.fit(x, y, epochs=1, batch_size=4, verbose=0).history["loss"]) == 1


def test_nothing_is_done_without_targets_or_once_built():
    x, y = data()
    model = sequence_model()
    build_training_state(model, x)
    build_training_state(model, tf.data.Dataset.from_tensor_slices(x).batch(4))
    assert not model.optimizer.built
    build_training_state(model, x, y)
    assert model.optimizer.built == (keras.backend.backend() == "tensorflow")
    # Metric states start from zero, as fit would start them.
    assert all(float(keras.ops.convert_to_numpy(v)) == 0 for m in model.metrics
               for v in m.variables if not v.shape)
