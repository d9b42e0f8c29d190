import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class PaddingMask(keras.layers.Layer):
    """Boolean mask of the real (non-padding) steps of a padded sequence.

    For token ids of shape `(batch, steps)`: `mask = ids != pad_id`.
    For frames of shape `(batch, steps, features)`: a step is padding when
    all its features equal `pad_value`, `mask = any(frame != pad_value)`.
    This is how padded MFCC or log-mel sequences are recognised, so pad
    them with `pad_value` (0 by default) and normalise before padding.

    Args:
        pad_value: The value that marks padding. Defaults to `0`.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> keras.ops.convert_to_numpy(PaddingMask()(np.array([[5, 2, 0, 0]])))
    array([[ True,  True, False, False]])
    """

    def __init__(self, pad_value=0, **kwargs):
        super().__init__(**kwargs)
        self.pad_value = pad_value

    def call(self, inputs):
        if len(inputs.shape) == 2:
            return ops.not_equal(inputs, ops.cast(self.pad_value, inputs.dtype))
        if len(inputs.shape) == 3:
            return ops.any(
                ops.not_equal(inputs, ops.cast(self.pad_value, inputs.dtype)),
                axis=-1,
            )
        raise ValueError(
            "PaddingMask expects token ids (batch, steps) or frames "
            f"(batch, steps, features). Received: shape={inputs.shape}"
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape[:2], dtype="bool")

    def get_config(self):
        config = super().get_config()
        config.update({"pad_value": self.pad_value})
        return config
