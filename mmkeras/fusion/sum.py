import keras
from keras import ops

from mmkeras.fusion._checks import build_projections, check_modality_list


@keras.saving.register_keras_serializable(package="mmkeras")
class SumFusion(keras.layers.Layer):
    """Feature addition: project every modality to one width and add.

    `F = Σ_m (h_m W_m + b_m)`, shape `(batch, units)`.

    The documents' "feature addition" (003 §2.1.2). Unlike concatenation the
    fused width does not grow with the number of modalities.

    Args:
        units: Common width of the projections and the output.
        activation: Activation of each projection (default linear).
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> SumFusion(units=8)([np.ones((2, 3)), np.ones((2, 5))]).shape
    (2, 8)
    """

    fusion_level = "feature"

    def __init__(self, units=64, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        check_modality_list(self, input_shape, rank=2, minimum=1)
        self.projections = build_projections(self, input_shape, self.units, self.activation)

    def call(self, inputs):
        return ops.sum(ops.stack([p(x) for p, x in zip(self.projections, inputs)], 1), 1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units,
                       "activation": keras.activations.serialize(self.activation)})
        return config
