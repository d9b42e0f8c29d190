import math

import keras
from keras import ops

from mmkeras.layers.masked_global_pooling import MaskedGlobalPooling1D
from mmkeras.layers.transformer_encoder_block import TransformerEncoderBlock


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
class EarlyFusion(keras.layers.Layer):
    """Early fusion: one joint network over all modalities' shallow features.

    Each modality `m` arrives as a token sequence `x_m` of shape
    `(batch, T_m, d_m)` (image feature-map positions, word embeddings,
    audio frames). Tokens are projected to a common width, tagged with a
    sinusoidal position and a learned modality embedding, joined along the
    token axis, and read by Transformer blocks before masked average pooling:

    `z_m = x_m W_m + pos + e_m`,
    `h = Pool(Blocks([z_1; …; z_M]))`, shape `(batch, width)`.

    Nothing modality-specific happens after the projection: this is the
    "join first, then one network" meaning of early fusion.

    Args:
        width: Common token width.
        num_heads: Attention heads of each block.
        ff_dim: Feed-forward width of each block.
        num_layers: Number of joint Transformer blocks.
        dropout: Dropout inside the blocks.
        **kwargs: Standard layer keyword arguments.

    Call arguments:
        inputs: List of `(batch, T_m, d_m)` tensors.
        mask: Optional list of `(batch, T_m)` booleans (or `None` entries).

    Example:

    >>> fusion = EarlyFusion(width=16)
    >>> fusion([np.ones((2, 49, 8)), np.ones((2, 20, 4))]).shape
    (2, 16)
    """

    fusion_level = "early"

    def __init__(self, width=64, num_heads=2, ff_dim=128, num_layers=1, dropout=0.1,
                 **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.num_heads = num_heads
        self.ff_dim = ff_dim
        self.num_layers = num_layers
        self.dropout = dropout

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(
            input_shape[0], (list, tuple)
        ):
            raise ValueError(
                "EarlyFusion expects a list of (batch, tokens, features) inputs. "
                f"Received: input_shape={input_shape}"
            )
        for shape in input_shape:
            if len(shape) != 3:
                raise ValueError(
                    "EarlyFusion expects (batch, tokens, features) per modality. "
                    f"Received: input_shape={input_shape}"
                )
        self.projections = []
        for i, shape in enumerate(input_shape):
            projection = keras.layers.Dense(
                self.width, dtype=self.dtype_policy, name=f"projection_{i}"
            )
            projection.build(shape)
            self.projections.append(projection)
        self.modality_embeddings = self.add_weight(
            name="modality_embeddings",
            shape=(len(input_shape), self.width),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )
        joint_shape = (None, None, self.width)
        self.blocks = []
        for i in range(self.num_layers):
            block = TransformerEncoderBlock(
                num_heads=self.num_heads,
                key_dim=max(self.width // self.num_heads, 1),
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
            z = z + ops.expand_dims(_sinusoids(length, self.width, z.dtype), 0)
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

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.width)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "width": self.width,
                "num_heads": self.num_heads,
                "ff_dim": self.ff_dim,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
            }
        )
        return config
