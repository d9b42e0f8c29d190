import math

import keras
import numpy as np
from keras import ops

from mmkeras.fusion.base_fusion import Fusion, to_numpy
from mmkeras.utils.validation import check_bool, check_float


@keras.saving.register_keras_serializable(package="mmkeras")
class WeightedSumFusion(Fusion):
    """Weighted sum with one learned weight per modality.

    `α = softmax(w)`, `F = Σ_m α_m (h_m W_m + b_m)`, shape `(batch, units)`.

    The documents' `F = α1·image + α2·text + α3·audio` with α learned.
    The same α applies to every sample; read it with
    `modality_weights()` after training. To fix α instead (e.g. chosen by
    cross-validation), pass `alpha=[...]` and `learn_alpha=False`.

    Args:
        units: Common width of the projections and the output.
        alpha: Optional initial α (positive, any scale); default uniform.
        learn_alpha: Learn α (default) or keep it fixed.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> fusion = WeightedSumFusion(units=8)
    >>> tuple(fusion([np.ones((2, 3)), np.ones((2, 5))]).shape)
    (2, 8)
    >>> fusion.modality_weights()
    array([0.5, 0.5]...)
    """

    fusion_level = "feature"

    def __init__(self, units=64, alpha=None, learn_alpha=True, **kwargs):
        super().__init__(units=units, **kwargs)
        owner = type(self).__name__
        if alpha is not None and (not isinstance(alpha, (list, tuple, np.ndarray))
                                  or not len(alpha)):
            raise ValueError(f"`{owner}`: `alpha` must be a list of positive numbers. "
                             f"Received: alpha={alpha!r}")
        self.alpha = None if alpha is None else [
            check_float("alpha", a, minimum=0, min_inclusive=False, owner=owner) for a in alpha]
        self.learn_alpha = check_bool("learn_alpha", learn_alpha, owner=owner)

    def build(self, input_shape):
        super().build(input_shape)
        count = len(input_shape)
        if self.alpha is not None and len(self.alpha) != count:
            raise ValueError(
                f"`alpha` needs one value per modality ({count}). Received: alpha={self.alpha}"
            )
        self.projections = self.build_projections(input_shape)
        initial = [0.0] * count
        if self.alpha is not None:
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
        return to_numpy(ops.softmax(self.modality_logits))

    def readout(self, inputs=None, mask=None):
        """`{"modality_weights": α}`, one weight per modality."""
        return {"modality_weights": self.modality_weights()}

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "learn_alpha": self.learn_alpha})
        return config
