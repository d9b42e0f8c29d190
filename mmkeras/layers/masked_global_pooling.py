import keras
from keras import ops

from mmkeras.utils import validation

_MODES = ("avg", "max")


@keras.saving.register_keras_serializable(package="mmkeras")
class MaskedGlobalPooling1D(keras.layers.Layer):
    """Average or max over the real steps of a sequence, ignoring padding.

    avg: `y = Σ_t m_t x_t / max(Σ_t m_t, 1)`;
    max: `y = max_{t: m_t = 1} x_t` (0 for an all-padding sequence).

    The mask may come from the previous layer (Keras mask propagation) or be
    passed explicitly with `mask=`; without one every step counts.

    Args:
        mode: `"avg"` or `"max"`.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> x = np.array([[[1.0], [3.0], [100.0]]])
    >>> keras.ops.convert_to_numpy(MaskedGlobalPooling1D()(x, mask=np.array([[True, True, False]])))
    array([[2.]]...)
    """

    def __init__(self, mode="avg", **kwargs):
        super().__init__(**kwargs)
        self.mode = validation.check_choice("mode", mode, _MODES)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            if self.mode == "avg":
                return ops.mean(inputs, axis=1)
            return ops.max(inputs, axis=1)
        m = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        if self.mode == "avg":
            total = ops.sum(inputs * m, axis=1)
            count = ops.maximum(ops.sum(m, axis=1), 1.0)
            return total / count
        low = -1e4 if keras.backend.standardize_dtype(inputs.dtype) == "float16" else -1e9
        very_negative = ops.cast(low, inputs.dtype)
        masked = ops.where(m > 0, inputs, very_negative)
        pooled = ops.max(masked, axis=1)
        any_real = ops.max(m, axis=1) > 0
        return ops.where(any_real, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
