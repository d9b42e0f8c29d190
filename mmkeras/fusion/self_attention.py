import keras
from keras import ops

from mmkeras.fusion.base_fusion import AttentionFusion, to_numpy


@keras.saving.register_keras_serializable(package="mmkeras")
class SelfAttentionFusion(AttentionFusion):
    """Self-attention over modality tokens.

    Each embedding becomes one token `t_m = h_m W_m + b_m + e_m` (`e_m` a
    learned modality embedding); the M tokens attend to each other with
    multi-head scaled dot-product attention `softmax(Q Kᵀ / √d_k) V`, then a
    residual, LayerNorm, and the mean over tokens:

    `T' = LN(T + MHA(T, T))`, `F = (1/M) Σ_m T'_m`, shape `(batch, units)`.

    The documents' self-attention applied across modalities.
    `attention_scores()` returns the `(batch, heads, M, M)` attention.

    Args:
        units: Token width and output width (divisible by `num_heads`).
        num_heads: Attention heads.
        dropout: Attention dropout.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> tuple(SelfAttentionFusion(units=8)([np.ones((2, 3)), np.ones((2, 5))]).shape)
    (2, 8)
    """

    fusion_level = "feature"

    def build(self, input_shape):
        super().build(input_shape)
        count = len(input_shape)
        self.projections = self.build_projections(input_shape)
        self.modality_embeddings = self.add_weight(
            name="modality_embeddings", shape=(count, self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.02))
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, self.key_dim, dropout=self.dropout,
            dtype=self.dtype_policy, name="attention")
        token_shape = (None, count, self.units)
        self.attention.build(token_shape, token_shape)
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, dtype=self.dtype_policy,
                                                    name="norm")
        self.norm.build(token_shape)

    def _tokens(self, inputs):
        tokens = ops.stack([p(x) for p, x in zip(self.projections, inputs)], 1)
        return tokens + ops.cast(ops.expand_dims(self.modality_embeddings, 0), tokens.dtype)

    def call(self, inputs, training=None):
        tokens = self._tokens(inputs)
        attended = self.attention(tokens, tokens, training=training)
        return ops.mean(self.norm(tokens + attended), axis=1)

    def attention_scores(self, inputs):
        """Attention of each modality token over the others, `(batch, heads, M, M)`."""
        tokens = self._tokens(inputs)
        _, scores = self.attention(tokens, tokens, return_attention_scores=True)
        return scores

    def readout(self, inputs=None, mask=None):
        """`{"attention_scores": (batch, heads, M, M)}` when `inputs` are given."""
        if inputs is None:
            return {}
        return {"attention_scores": to_numpy(self.attention_scores(inputs))}
