import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion
from mmkeras.utils.validation import check_positive_int


@keras.saving.register_keras_serializable(package="mmkeras")
class LowRankFusion(Fusion):
    """Low-rank multimodal fusion (LMF): tensor fusion without the tensor.

    With `z_m = [h_m; 1]` and rank-`r` modality factors `W_m^(i)`
    (`(d_m + 1) × units` each),

    `F = Σ_{i=1}^{r} ⊙_{m=1}^{M} (z_m W_m^(i)) + b`, shape `(batch, units)`,

    which equals a linear layer on the full outer product `⊗_m z_m` whose
    weight tensor has rank `r` (Liu et al., 2018). Parameters grow linearly
    with the number of modalities instead of multiplying.

    Args:
        units: Output width.
        rank: Number of rank-one terms.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> tuple(LowRankFusion(units=8, rank=4)([np.ones((2, 3)), np.ones((2, 5))]).shape)
    (2, 8)
    """

    fusion_level = "feature"

    def __init__(self, units=64, rank=4, **kwargs):
        super().__init__(units=units, **kwargs)
        self.rank = check_positive_int("rank", rank, owner=type(self).__name__)

    def build(self, input_shape):
        super().build(input_shape)
        self.factors = [
            self.add_weight(name=f"factor_{m}", shape=(self.rank, shape[-1] + 1, self.units),
                            initializer="glorot_uniform")
            for m, shape in enumerate(input_shape)
        ]
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        fused = None
        for x, factor in zip(inputs, self.factors):
            z = ops.concatenate([x, ops.ones_like(x[:, :1])], axis=-1)
            # (batch, rank, units): this modality's projection under each factor
            projected = ops.einsum("bd,rdu->bru", z, ops.cast(factor, z.dtype))
            fused = projected if fused is None else fused * projected
        return ops.sum(fused, axis=1) + ops.cast(self.bias, fused.dtype)

    def get_config(self):
        config = super().get_config()
        config["rank"] = self.rank
        return config
