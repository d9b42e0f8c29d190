"""`build_training_state`: a model's optimizer and metrics built before `fit`, so that
TensorFlow traces the train step once."""

import keras
import numpy as np


def build_training_state(model, x, y=None):
    """Creates the optimizer's and the compiled metrics' variables of a model about to train.

    Keras' TensorFlow trainer (without a distribution strategy) creates them while it traces
    the first train step, and a `tf.function` that created variables is traced a second time:
    the whole step (forward pass, gradient, update) is built twice. For a small model on the
    CPU, tracing is most of a short `fit`. Built here first, on one sample, the step is
    traced once. The metric states are reset afterwards, so training starts as before.
    Does nothing once the optimizer is built (a model that has trained since `compile`), on
    data without targets, for a model made in a `tf.distribute` strategy's scope, or on the
    other backends: Keras builds this state itself before tracing in those two cases.

    The first sample (of a dataset: zeros of its element spec, one step long) goes through
    the model, the loss and the metrics, so that the metrics Keras chooses by the targets'
    shape (e.g. for `"accuracy"`) are those `fit` would choose.

    Args:
        model: A compiled model.
        x: What `fit` will get: input arrays (a dict, a list or one array), or a
            `tf.data.Dataset` of `(x, y)` batches.
        y: The targets that go with input arrays.

    Example:

    >>> inputs = keras.Input((3,), name="x")
    >>> model = keras.Model({"x": inputs},
    ...                     keras.layers.Dense(2, activation="softmax")(inputs))
    >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> x, y = {"x": np.ones((4, 3), "float32")}, np.array([0, 1, 0, 1])
    >>> build_training_state(model, x, y)
    >>> model.optimizer.built
    True
    """
    if keras.backend.backend() != "tensorflow" or model.optimizer is None \
            or model.optimizer.built:
        return
    import tensorflow as tf

    if model.distribute_strategy is not tf.distribute.get_strategy():
        return  # made in a strategy's scope: Keras builds it there, before tracing
    sample = _first_sample(x, y)
    if sample is None:
        return
    x, y = sample
    model.optimizer.build(model.trainable_variables)
    y_pred = model(x, training=False)
    model.compute_loss(x, y, y_pred, training=False)
    model.compute_metrics(x, y, y_pred)
    model.reset_metrics()


def _first_sample(x, y):
    """`(x, y)` of one sample, or `None` when there are no targets."""
    if y is not None:
        return keras.tree.map_structure(lambda a: np.asarray(a)[:1], (x, y))
    spec = getattr(x, "element_spec", None)
    if not isinstance(spec, tuple) or len(spec) < 2 or any(
            not (s.dtype.is_floating or s.dtype.is_integer or s.dtype.is_bool)
            for s in keras.tree.flatten(spec[:2])):
        return None  # no targets, or strings: nothing to make a sample of
    # A dataset's batches are not read: its first one may cost a shuffle buffer's filling.
    return keras.tree.map_structure(
        lambda s: np.zeros([1 if d is None else d for d in s.shape], s.dtype.as_numpy_dtype),
        spec[:2])
