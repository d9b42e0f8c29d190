import warnings

import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion
from mmkeras.utils.validation import check_positive_int


@keras.saving.register_keras_serializable(package="mmkeras")
class TensorFusion(Fusion):
    """Tensor Fusion Network: the outer product of all modalities.

    `z_m = [h_m W_m + b_m; 1]` (or `[h_m; 1]` with `units=None`),
    `F = vec(z_1 ⊗ z_2 ⊗ … ⊗ z_M)`, shape `(batch, Π_m (d_m + 1))`.

    The appended 1 keeps every unimodal and every lower-order interaction
    term in the product (Zadeh et al., 2017). The width multiplies with each
    modality: 3 modalities of width 64 give 274,625 features, and the Dense
    layer after them 35 M weights. The layer projects each modality to
    `units` first (16 by default), warns above `warn_size` features and
    refuses above `max_size`.

    Args:
        units: Width each modality is projected to before the product;
            `None` uses the embeddings as they are.
        warn_size: Warn when the product has more features than this.
        max_size: Raise when it has more features than this.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> tuple(TensorFusion(units=4)([np.ones((2, 3)), np.ones((2, 5))]).shape)
    (2, 25)
    """

    fusion_level = "feature"
    units_optional = True

    def __init__(self, units=16, warn_size=100_000, max_size=2_000_000, **kwargs):
        super().__init__(units=units, **kwargs)
        owner = type(self).__name__
        self.warn_size = check_positive_int("warn_size", warn_size, owner=owner)
        self.max_size = check_positive_int("max_size", max_size, owner=owner)

    @staticmethod
    def product_size(widths):
        size = 1
        for w in widths:
            size *= w + 1
        return size

    def _widths(self, input_shape):
        return [self.units if self.units else s[-1] for s in input_shape]

    def build(self, input_shape):
        super().build(input_shape)
        widths = self._widths(input_shape)
        size = self.product_size(widths)
        if size > self.max_size:
            raise ValueError(
                f"Tensor fusion of widths {widths} gives Π(d+1) = {size:,} features, over "
                f"max_size={self.max_size:,}. Use a smaller `units` (now {self.units}), fewer "
                f"modalities, or LowRankFusion, whose size is linear in the modalities."
            )
        if size > self.warn_size:
            warnings.warn(
                f"Tensor fusion of widths {widths} gives {size:,} features; the next Dense "
                "layer will be large. Consider a smaller `units` or LowRankFusion.",
                stacklevel=2,
            )
        self.projections = self.build_projections(input_shape) if self.units else None

    def call(self, inputs):
        if self.projections is not None:
            inputs = [p(x) for p, x in zip(self.projections, inputs)]
        product = None
        for x in inputs:
            z = ops.concatenate([x, ops.ones_like(x[:, :1])], axis=-1)
            if product is None:
                product = z
            else:
                outer = ops.expand_dims(product, 2) * ops.expand_dims(z, 1)
                product = ops.reshape(outer, (-1, outer.shape[1] * outer.shape[2]))
        return product

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.product_size(self._widths(input_shape)))

    def get_config(self):
        config = super().get_config()
        config.update({"warn_size": self.warn_size, "max_size": self.max_size})
        return config
