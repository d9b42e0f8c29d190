"""`CompositeLayer`: a layer made of Keras sublayers that stays frozen when it is loaded."""

import keras


class CompositeLayer(keras.layers.Layer):
    """Base class of the layers that hold Keras sublayers; frozen stays frozen after loading.

    Setting `layer.trainable = False` freezes the layer, its sublayers and
    their weights. A saved model keeps only the layer's own flag, and Keras
    (3.15, its `MultiHeadAttention` too) rebuilds the sublayers trainable
    when it loads the model: a frozen encoder or fusion would train again
    after `keras.models.load_model`, and a compiled model warns that it
    skipped the saved optimizer's variables. When it is built from a saved
    config, this class freezes the weights of a frozen layer's sublayers again.

    Subclass it instead of `keras.layers.Layer` where `__init__` or
    `build()` creates sublayers (every `mmkeras.fusion.Fusion` does).

    Example:

    >>> import os, tempfile
    >>> @keras.saving.register_keras_serializable(package="doctest")
    ... class DenseBlock(CompositeLayer):
    ...     def build(self, input_shape):
    ...         self.inner = keras.layers.Dense(3)
    ...         self.inner.build(input_shape)
    ...     def call(self, x):
    ...         return self.inner(x)
    >>> inputs = keras.Input((4,))
    >>> block = DenseBlock(name="block")
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(block(inputs)))
    >>> block.trainable = False
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> model.save(path)
    >>> loaded = keras.models.load_model(path)
    >>> len(model.trainable_weights), len(loaded.trainable_weights)  # the last Dense's
    (2, 2)
    """

    def build_from_config(self, config):
        # Loading builds each layer from its saved config, before the optimizer of a
        # compiled model is built from the trainable weights.
        super().build_from_config(config)
        if not self.trainable:
            # `self.trainable = False` would not do it: Keras skips setting the flag it
            # already has. A weight that is not trainable is left out of every
            # `trainable_weights`, the enclosing model's included.
            for weight in self.weights:
                weight.trainable = False
