import math

import keras
from keras import ops

from mmkeras.fusion.base_fusion import AttentionFusion
from mmkeras.layers.masked_global_pooling import MaskedGlobalPooling1D
from mmkeras.layers.transformer_encoder_block import TransformerEncoderBlock
from mmkeras.utils.validation import check_positive_int


def _sinusoids(length, width, dtype):
    positions = ops.cast(ops.expand_dims(ops.arange(length), 1), "float32")
    rates = ops.exp(
        ops.cast(ops.arange(0, width, 2), "float32") * (-math.log(10000.0) / width)
    )
    angles = positions * ops.expand_dims(rates, 0)
    table = ops.reshape(
        ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (length, -1)
    )
    return ops.cast(table[:, :width], dtype)


@keras.saving.register_keras_serializable(package="mmkeras")
class EarlyFusion(AttentionFusion):
    """Early fusion: one joint network over all modalities' shallow features.

    Each modality `m` arrives as a token sequence `x_m` of shape
    `(batch, T_m, d_m)` (image feature-map positions, word embeddings,
    audio frames). Tokens are projected to a common width, tagged with a
    sinusoidal position and a learned modality embedding, joined along the
    token axis, and read by Transformer blocks before masked average pooling:

    `z_m = x_m W_m + pos + e_m`,
    `h = Pool(Blocks([z_1; …; z_M]))`, shape `(batch, units)`.

    Nothing modality-specific happens after the projection: this is the
    "join first, then one network" meaning of early fusion.

    Args:
        units: Common token width (divisible by `num_heads`).
        num_heads: Attention heads of each block.
        ff_dim: Feed-forward width of each block.
        num_layers: Number of joint Transformer blocks.
        dropout: Dropout inside the blocks.
        **kwargs: Standard layer keyword arguments.

    Call arguments:
        inputs: List of `(batch, T_m, d_m)` tensors.
        mask: Optional list of `(batch, T_m)` booleans (or `None` entries).

    Example:

    >>> fusion = EarlyFusion(units=16)
    >>> tuple(fusion([np.ones((2, 49, 8)), np.ones((2, 20, 4))]).shape)
    (2, 16)
    """

    fusion_level = "early"

    def __init__(self, units=64, num_heads=2, ff_dim=128, num_layers=1, dropout=0.1,
                 **kwargs):
        super().__init__(units=units, num_heads=num_heads, dropout=dropout, **kwargs)
        owner = type(self).__name__
        self.ff_dim = check_positive_int("ff_dim", ff_dim, owner=owner)
        self.num_layers = check_positive_int("num_layers", num_layers, owner=owner)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "width" in config:  # saved before `width` was renamed `units`
            config["units"] = config.pop("width")
        return super().from_config(config)

    def build(self, input_shape):
        super().build(input_shape)
        self.projections = self.build_projections(input_shape)
        self.modality_embeddings = self.add_weight(
            name="modality_embeddings",
            shape=(len(input_shape), self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )
        joint_shape = (None, None, self.units)
        self.blocks = []
        for i in range(self.num_layers):
            block = TransformerEncoderBlock(
                num_heads=self.num_heads,
                key_dim=self.key_dim,
                ff_dim=self.ff_dim,
                dropout=self.dropout,
                dtype=self.dtype_policy,
                name=f"joint_block_{i}",
            )
            block.build(joint_shape)
            self.blocks.append(block)
        self.pool = MaskedGlobalPooling1D("avg", dtype=self.dtype_policy)

    def call(self, inputs, mask=None, training=None):
        masks = list(mask) if mask is not None else [None] * len(inputs)
        tokens, token_masks = [], []
        for i, (x, m) in enumerate(zip(inputs, masks)):
            z = self.projections[i](x)
            length = ops.shape(z)[1]
            z = z + ops.expand_dims(_sinusoids(length, self.units, z.dtype), 0)
            z = z + ops.cast(self.modality_embeddings[i], z.dtype)
            tokens.append(z)
            if m is None:
                m = ops.ones(ops.shape(z)[:2], dtype="bool")
            token_masks.append(ops.cast(m, "bool"))
        x = ops.concatenate(tokens, axis=1)
        joint_mask = ops.concatenate(token_masks, axis=1)
        for block in self.blocks:
            x = block(x, mask=joint_mask, training=training)
        return self.pool(x, mask=joint_mask)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config.update({"ff_dim": self.ff_dim, "num_layers": self.num_layers})
        return config
