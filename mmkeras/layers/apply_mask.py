import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class ApplyMask(keras.layers.Layer):
    """Sets the features of masked-out steps to zero.

    `outputs[b, t] = inputs[b, t] * mask[b, t]`

    The output carries no Keras mask: pass the mask explicitly to later
    layers that need it. A convolution with `padding="same"` pads with zeros, so zeroing padded
    steps first makes a Conv1D encoder give the same features for the real
    steps whether or not extra padding follows them.

    Args:
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> x = np.ones((1, 3, 2)); mask = np.array([[True, True, False]])
    >>> keras.ops.convert_to_numpy(ApplyMask()(x, mask=mask))[0, :, 0]
    array([1., 1., 0.]...)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs
        return inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)

    def compute_mask(self, inputs, mask=None):
        # The zeros now carry the mask; layers after this one (e.g. Conv1D)
        # do not support masks and would warn about receiving one.
        return None

    def compute_output_shape(self, input_shape):
        return input_shape
