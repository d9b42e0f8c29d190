import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion, to_numpy


@keras.saving.register_keras_serializable(package="mmkeras")
class GatedFusion(Fusion):
    """Gated Multimodal Unit: learned, per-feature gates choose between modalities.

    `g_m = tanh(x_m W_m)`, `z = softmax_m(W_z [x_1; …; x_M])` per feature
    (`(batch, M, units)`, summing to 1 over modalities),
    `F = Σ_m z_m ⊙ g_m`, shape `(batch, units)`.

    For two modalities `z_1 = σ(·)`, `z_2 = 1 − z_1`, the GMU of Arevalo et
    al. (2017). `gates()` returns z so one can see, feature by feature and
    sample by sample, which modality the model used.

    Args:
        units: Width of the gated features and the output.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> fusion = GatedFusion(units=8)
    >>> h = [np.ones((2, 3)), np.ones((2, 5))]
    >>> tuple(fusion(h).shape), tuple(fusion.gates(h).shape)
    ((2, 8), (2, 2, 8))
    """

    fusion_level = "feature"

    def __init__(self, units=64, **kwargs):
        super().__init__(units=units, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        self.candidates = self.build_projections(input_shape, activation="tanh",
                                                 prefix="candidate")
        self.gate = keras.layers.Dense(len(input_shape) * self.units, dtype=self.dtype_policy,
                                       name="gate")
        self.gate.build((None, sum(s[-1] for s in input_shape)))

    def gates(self, inputs):
        """z, shape `(batch, modalities, units)`, summing to 1 over modalities."""
        joined = ops.concatenate(list(inputs), axis=-1) if len(inputs) > 1 else inputs[0]
        scores = ops.reshape(self.gate(joined), (-1, len(inputs), self.units))
        return ops.softmax(ops.cast(scores, "float32"), axis=1)

    def call(self, inputs):
        candidates = ops.stack([c(x) for c, x in zip(self.candidates, inputs)], 1)
        return ops.sum(ops.cast(self.gates(inputs), candidates.dtype) * candidates, axis=1)

    def readout(self, inputs=None, mask=None):
        """`{"gates": z}` (see `gates`) when `inputs` are given."""
        if inputs is None:
            return {}
        return {"gates": to_numpy(self.gates(inputs))}
