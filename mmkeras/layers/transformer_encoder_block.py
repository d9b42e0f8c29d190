import keras
from keras import ops

from mmkeras.layers.composite_layer import CompositeLayer


@keras.saving.register_keras_serializable(package="mmkeras")
class TransformerEncoderBlock(CompositeLayer):
    """One pre-norm Transformer encoder block with a padding mask.

    `h = x + Dropout(MHA(LN(x), LN(x), mask))`,
    `y = h + Dropout(W_2 relu(W_1 LN(h)))`, where `MHA` is multi-head scaled
    dot-product attention `softmax(Q Kᵀ / √d_k) V` and padded keys get zero
    attention.

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head's queries and keys.
        ff_dim: Width of the feed-forward hidden layer.
        dropout: Dropout rate after attention and feed-forward.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> block = TransformerEncoderBlock(num_heads=2, key_dim=8, ff_dim=32)
    >>> tuple(block(np.zeros((4, 10, 16), "float32")).shape)
    (4, 10, 16)
    """

    def __init__(self, num_heads=2, key_dim=32, ff_dim=128, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.ff_dim = ff_dim
        self.dropout = dropout
        self.supports_masking = True

    def build(self, input_shape):
        dim = input_shape[-1]
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, dtype=self.dtype_policy, name="attention_norm"
        )
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            dropout=self.dropout,
            dtype=self.dtype_policy,
            name="attention",
        )
        self.ff_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, dtype=self.dtype_policy, name="ff_norm"
        )
        self.ff_in = keras.layers.Dense(
            self.ff_dim, activation="relu", dtype=self.dtype_policy, name="ff_in"
        )
        self.ff_out = keras.layers.Dense(dim, dtype=self.dtype_policy, name="ff_out")
        self.drop = keras.layers.Dropout(self.dropout)
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.ff_norm.build(input_shape)
        self.ff_in.build(input_shape)
        self.ff_out.build(tuple(input_shape[:-1]) + (self.ff_dim,))

    def call(self, inputs, mask=None, training=None):
        attention_mask = None
        if mask is not None:
            m = ops.cast(mask, "bool")
            # (batch, query, key): every query may attend to every real key.
            attention_mask = ops.logical_and(
                ops.expand_dims(ops.ones_like(m), 2), ops.expand_dims(m, 1)
            )
        x = self.attention_norm(inputs)
        x = self.attention(x, x, attention_mask=attention_mask, training=training)
        h = inputs + self.drop(x, training=training)
        x = self.ff_out(self.ff_in(self.ff_norm(h)))
        return h + self.drop(x, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "ff_dim": self.ff_dim,
                "dropout": self.dropout,
            }
        )
        return config
