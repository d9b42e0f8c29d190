import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion, to_numpy


@keras.saving.register_keras_serializable(package="mmkeras")
class FiLMFusion(Fusion):
    """FiLM: one modality modulates the features of the others.

    With `c` the conditioning modality's embedding and every other modality
    projected to `u_m = h_m W_m + b_m`:

    `γ = c W_γ + 1`, `β = c W_β`, `F_m = γ ⊙ u_m + β`,
    `F = [F_1; …]` over the modalities other than `c`,
    shape `(batch, (M − 1)·units)` (Perez et al., 2018).

    Args:
        units: Width of the modulated features.
        conditioning: Index of the modality that produces γ and β, default
            the last; or, in `build_model`, the modality's name (the model
            then holds a copy of the layer with the name turned into its
            index in the sorted modality order).
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> fusion = FiLMFusion(units=8)
    >>> h = [np.ones((2, 3)), np.ones((2, 5))]
    >>> tuple(fusion(h).shape), fusion.readout(h)["gamma"].shape
    ((2, 8), (2, 8))
    """

    fusion_level = "feature"
    min_modalities = 2

    def __init__(self, units=64, conditioning=-1, **kwargs):
        super().__init__(units=units, **kwargs)
        if isinstance(conditioning, bool) or not isinstance(conditioning, (int, str)):
            raise ValueError(
                "`FiLMFusion`: `conditioning` must be a modality index or name. "
                f"Received: conditioning={conditioning!r}")
        self.conditioning = conditioning

    def _index(self, count):
        if not isinstance(self.conditioning, int) or not -count <= self.conditioning < count:
            raise ValueError(
                f"`conditioning` must index one of the {count} modalities. "
                f"Received: conditioning={self.conditioning!r}"
            )
        return self.conditioning % count

    def for_modalities(self, modalities):
        """A copy with `conditioning` as an index when it names a modality."""
        if not isinstance(self.conditioning, str):
            return self
        modalities = list(modalities)
        if self.conditioning not in modalities:
            raise ValueError(
                f"Unknown conditioning modality. Received: conditioning={self.conditioning!r}; "
                f"modalities: {modalities}")
        config = {**self.get_config(), "conditioning": modalities.index(self.conditioning)}
        return type(self).from_config(config)

    def build(self, input_shape):
        super().build(input_shape)
        c = self._index(len(input_shape))
        others = [s for i, s in enumerate(input_shape) if i != c]
        self.projections = self.build_projections(others)
        # Near-identity start (γ ≈ 1, β ≈ 0), but not exactly zero weights:
        # zeros would give the conditioning encoder no gradient at first.
        small = keras.initializers.RandomNormal(stddev=0.02)
        self.to_gamma = keras.layers.Dense(self.units, kernel_initializer=small,
                                           dtype=self.dtype_policy, name="gamma")
        self.to_beta = keras.layers.Dense(self.units, kernel_initializer=small,
                                          dtype=self.dtype_policy, name="beta")
        self.to_gamma.build(input_shape[c])
        self.to_beta.build(input_shape[c])

    def modulation(self, inputs):
        """γ and β, each `(batch, units)`, computed from the conditioning modality."""
        condition = inputs[self._index(len(inputs))]
        return self.to_gamma(condition) + 1.0, self.to_beta(condition)

    def call(self, inputs):
        c = self._index(len(inputs))
        gamma, beta = self.modulation(inputs)
        others = [x for i, x in enumerate(inputs) if i != c]
        modulated = [gamma * p(x) + beta for p, x in zip(self.projections, others)]
        return modulated[0] if len(modulated) == 1 else ops.concatenate(modulated, axis=-1)

    def readout(self, inputs=None, mask=None):
        """`{"gamma": γ, "beta": β}` per sample when `inputs` are given."""
        if inputs is None:
            return {}
        gamma, beta = self.modulation(inputs)
        return {"gamma": to_numpy(gamma), "beta": to_numpy(beta)}

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], (len(input_shape) - 1) * self.units)

    def get_config(self):
        config = super().get_config()
        config["conditioning"] = self.conditioning
        return config
