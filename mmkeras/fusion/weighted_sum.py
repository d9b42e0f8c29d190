import keras
from keras import ops

from mmkeras.fusion._checks import build_projections, check_modality_list


@keras.saving.register_keras_serializable(package="mmkeras")
class WeightedSumFusion(keras.layers.Layer):
    """Weighted sum with one learned weight per modality.

    `α = softmax(w)`, `F = Σ_m α_m (h_m W_m + b_m)`, shape `(batch, units)`.

    The documents' `F = α1·image + α2·text + α3·audio` with α learned (001
    §4.2, 004 §4.2.4). The same α applies to every sample; read it with
    `modality_weights()` after training. To fix α instead (e.g. chosen by
    cross-validation), pass `alpha=[...]` and `learn_alpha=False`.

    Args:
        units: Common width of the projections and the output.
        alpha: Optional initial α (positive, any scale); default uniform.
        learn_alpha: Learn α (default) or keep it fixed.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> fusion = WeightedSumFusion(units=8)
    >>> fusion([np.ones((2, 3)), np.ones((2, 5))]).shape
    (2, 8)
    >>> fusion.modality_weights()
    array([0.5, 0.5])
    """

    fusion_level = "feature"

    def __init__(self, units=64, alpha=None, learn_alpha=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.alpha = None if alpha is None else [float(a) for a in alpha]
        if self.alpha is not None and min(self.alpha) <= 0:
            raise ValueError(f"`alpha` must be positive. Received: alpha={alpha!r}")
        self.learn_alpha = learn_alpha

    def build(self, input_shape):
        check_modality_list(self, input_shape, rank=2, minimum=1)
        count = len(input_shape)
        if self.alpha is not None and len(self.alpha) != count:
            raise ValueError(
                f"`alpha` needs one value per modality ({count}). Received: alpha={self.alpha}"
            )
        self.projections = build_projections(self, input_shape, self.units)
        initial = [0.0] * count
        if self.alpha is not None:
            import math

            initial = [math.log(a) for a in self.alpha]
        self.modality_logits = self.add_weight(
            name="modality_logits", shape=(count,),
            initializer=keras.initializers.Constant(initial),
            trainable=self.learn_alpha,
        )

    def call(self, inputs):
        projected = ops.stack([p(x) for p, x in zip(self.projections, inputs)], 1)
        alpha = ops.cast(ops.softmax(self.modality_logits), projected.dtype)
        return ops.sum(projected * ops.reshape(alpha, (1, -1, 1)), 1)

    def modality_weights(self):
        """α as a NumPy array (one weight per modality, summing to 1)."""
        return ops.convert_to_numpy(ops.softmax(self.modality_logits))

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "alpha": self.alpha,
                       "learn_alpha": self.learn_alpha})
        return config
