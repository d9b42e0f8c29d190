import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class SumFusion(Fusion):
    """Feature addition: project every modality to one width and add.

    `F = Σ_m (h_m W_m + b_m)`, shape `(batch, units)`.

    The documents' "feature addition". Unlike concatenation the fused width
    does not grow with the number of modalities.

    Args:
        units: Common width of the projections and the output.
        activation: Activation of each projection (default linear).
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> tuple(SumFusion(units=8)([np.ones((2, 3)), np.ones((2, 5))]).shape)
    (2, 8)
    """

    fusion_level = "feature"

    def __init__(self, units=64, activation=None, **kwargs):
        super().__init__(units=units, **kwargs)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        super().build(input_shape)
        self.projections = self.build_projections(input_shape, activation=self.activation)

    def call(self, inputs):
        return ops.sum(ops.stack([p(x) for p, x in zip(self.projections, inputs)], 1), 1)

    def get_config(self):
        config = super().get_config()
        config["activation"] = keras.activations.serialize(self.activation)
        return config
