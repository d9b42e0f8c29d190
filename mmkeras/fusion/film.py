import keras
from keras import ops

from mmkeras.fusion._checks import build_projections, check_modality_list


@keras.saving.register_keras_serializable(package="mmkeras")
class FiLMFusion(keras.layers.Layer):
    """FiLM: one modality modulates the features of the others.

    With `c` the conditioning modality's embedding and every other modality
    projected to `u_m = h_m W_m + b_m`:

    `γ = c W_γ + 1`, `β = c W_β`, `F_m = γ ⊙ u_m + β`,
    `F = [F_1; …]` over the modalities other than `c`,
    shape `(batch, (M − 1)·units)` (Perez et al., 2018).

    Args:
        units: Width of the modulated features.
        conditioning: Index of the modality that produces γ and β, default
            the last. `build_model` orders modalities by name and also accepts
            the modality's name here.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> FiLMFusion(units=8)([np.ones((2, 3)), np.ones((2, 5))]).shape
    (2, 8)
    """

    fusion_level = "feature"

    def __init__(self, units=64, conditioning=-1, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.conditioning = conditioning

    def _index(self, count):
        if not isinstance(self.conditioning, int) or not -count <= self.conditioning < count:
            raise ValueError(
                f"`conditioning` must index one of the {count} modalities. "
                f"Received: conditioning={self.conditioning}"
            )
        return self.conditioning % count

    def build(self, input_shape):
        check_modality_list(self, input_shape, rank=2, minimum=2)
        c = self._index(len(input_shape))
        others = [s for i, s in enumerate(input_shape) if i != c]
        self.projections = build_projections(self, others, self.units)
        # Near-identity start (γ ≈ 1, β ≈ 0), but not exactly zero weights:
        # zeros would give the conditioning encoder no gradient at first.
        small = keras.initializers.RandomNormal(stddev=0.02)
        self.to_gamma = keras.layers.Dense(self.units, kernel_initializer=small,
                                           dtype=self.dtype_policy, name="gamma")
        self.to_beta = keras.layers.Dense(self.units, kernel_initializer=small,
                                          dtype=self.dtype_policy, name="beta")
        self.to_gamma.build(input_shape[c])
        self.to_beta.build(input_shape[c])

    def call(self, inputs):
        c = self._index(len(inputs))
        condition = inputs[c]
        gamma = self.to_gamma(condition) + 1.0
        beta = self.to_beta(condition)
        others = [x for i, x in enumerate(inputs) if i != c]
        modulated = [gamma * p(x) + beta for p, x in zip(self.projections, others)]
        return modulated[0] if len(modulated) == 1 else ops.concatenate(modulated, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], (len(input_shape) - 1) * self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "conditioning": self.conditioning})
        return config
