import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class LastStep(keras.layers.Layer):
    """The features of the last real (unmasked) step of each sequence.

    `y[b] = x[b, t_b]` with `t_b = max{t : m[b, t] = 1}`, or the last step
    when there is no mask. After a masked RNN with `return_sequences=True`,
    this equals the RNN's final state, so an encoder can expose its whole
    sequence and still give the documents' "last hidden state" embedding.

    Args:
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> x = np.arange(6.0).reshape(1, 3, 2)
    >>> keras.ops.convert_to_numpy(LastStep()(x, mask=np.array([[True, True, False]])))
    array([[2., 3.]]...)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs[:, -1]
        steps = ops.shape(inputs)[1]
        positions = ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
        last = ops.max(ops.where(ops.cast(mask, "bool"), positions, 0), axis=1)
        index = ops.reshape(last, (-1, 1, 1))
        return ops.squeeze(ops.take_along_axis(inputs, index, axis=1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
