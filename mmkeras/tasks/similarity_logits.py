"""`SimilarityLogits`: scaled cosine similarities with a learnable temperature."""

import math

import keras
from keras import ops

from mmkeras.utils.validation import check_positive_float


@keras.saving.register_keras_serializable(package="mmkeras")
class SimilarityLogits(keras.layers.Layer):
    """Every `a_i` against every `b_j`: `L = s · A Bᵀ`, `s = exp(clip(t, 0, log s_max))`.

    For L2-normalised embeddings `A Bᵀ` holds cosine similarities; `s = 1/τ`
    is CLIP's learnable inverse temperature, stored as its logarithm `t`
    (so it stays positive) and clipped to at most `max_scale` (CLIP: 100)
    so that training cannot make the logits explode.

    Args:
        temperature: Initial temperature `τ` (CLIP: 0.07).
        max_scale: Largest inverse temperature `1/τ`.
        trainable_temperature: Learn `τ` (else keep it fixed).
        **kwargs: Standard layer keyword arguments.

    Call arguments:
        inputs: `[a, b]`, embeddings `(n_a, d)` and `(n_b, d)`.

    Returns:
        `(n_a, n_b)` logits.

    Example:

    >>> layer = SimilarityLogits(temperature=0.5)
    >>> a = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> keras.ops.convert_to_numpy(layer([a, a])).round(3)
    array([[2., 0.],
           [0., 2.]], dtype=float32)
    """

    def __init__(self, temperature=0.07, max_scale=100.0, trainable_temperature=True, **kwargs):
        super().__init__(**kwargs)
        self.temperature = check_positive_float("temperature", temperature)
        self.max_scale = check_positive_float("max_scale", max_scale)
        if self.max_scale < 1:
            raise ValueError(f"`max_scale` must be >= 1. Received: max_scale={max_scale!r}")
        if not isinstance(trainable_temperature, bool):
            raise TypeError("`trainable_temperature` must be True or False. "
                            f"Received: trainable_temperature={trainable_temperature!r}")
        self.trainable_temperature = trainable_temperature

    def build(self, input_shape):
        if (not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2
                or any(len(s) != 2 for s in input_shape) or input_shape[0][-1] != input_shape[1][-1]):
            raise ValueError("SimilarityLogits takes [a, b] of shapes (n_a, d) and (n_b, d). "
                             f"Received: input_shape={input_shape}")
        self.log_scale = self.add_weight(
            name="log_scale", shape=(),
            initializer=keras.initializers.Constant(math.log(1.0 / self.temperature)),
            trainable=self.trainable_temperature)

    @property
    def scale(self):
        """The current inverse temperature `s = 1/τ` (a float)."""
        return float(ops.convert_to_numpy(self._scale()))

    def _scale(self):
        return ops.exp(ops.clip(self.log_scale, 0.0, math.log(self.max_scale)))

    def call(self, inputs):
        a, b = inputs
        return ops.cast(self._scale(), a.dtype) * ops.matmul(a, ops.transpose(b))

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][0])

    def get_config(self):
        config = super().get_config()
        config.update({"temperature": self.temperature, "max_scale": self.max_scale,
                       "trainable_temperature": self.trainable_temperature})
        return config
