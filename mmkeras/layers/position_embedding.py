import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each step's position to a sequence.

    `y[b, t] = x[b, t] + P[t]`, with `P` a trainable `(sequence_length, dim)`
    matrix. Sequences shorter than `sequence_length` use its first rows.

    Args:
        sequence_length: The longest sequence the layer accepts.
        initializer: Initializer of `P`. Defaults to `"glorot_uniform"`.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> x = np.zeros((2, 5, 8), "float32")
    >>> tuple(PositionEmbedding(sequence_length=10)(x).shape)
    (2, 5, 8)
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(sequence_length, int) or sequence_length < 1:
            raise ValueError(
                "`sequence_length` must be a positive integer. "
                f"Received: sequence_length={sequence_length!r}"
            )
        self.sequence_length = sequence_length
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, input_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs):
        length = ops.shape(inputs)[1]
        positions = ops.cast(self.position_embeddings[:length], inputs.dtype)
        return inputs + ops.expand_dims(positions, 0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
