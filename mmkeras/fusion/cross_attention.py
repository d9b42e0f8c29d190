import keras
from keras import ops

from mmkeras.fusion.base_fusion import AttentionFusion, to_numpy
from mmkeras.layers.masked_global_pooling import MaskedGlobalPooling1D


@keras.saving.register_keras_serializable(package="mmkeras")
class CrossModalAttentionFusion(AttentionFusion):
    """Cross-modal attention between modalities' sequences, in every direction.

    Each modality m arrives as a sequence `X_m` (image feature-map positions,
    text token states, audio frames) with an optional padding mask. After
    projecting all sequences to `units`, the positions of each target
    modality query the positions of all other modalities, as in the
    Multimodal Transformer (MulT):

    `Q = X_m W_Q`, `K = X_{¬m} W_K`, `V = X_{¬m} W_V`,
    `Y_m = LN(X_m + softmax(Q Kᵀ / √d) V)`, padded keys get zero weight;
    `F = [Pool(Y_1); …; Pool(Y_M)]` (masked mean), shape `(batch, M·units)`.

    With two modalities this is the documents' cross-modal attention network
    (image regions attend to text tokens, α_ij = softmax_j(score)), done in
    both directions. `attention_maps()` returns, for each target modality,
    the `(batch, heads, T_m, Σ_{n≠m} T_n)` attention.

    Args:
        units: Width of the projected sequences (divisible by `num_heads`).
        num_heads: Attention heads.
        dropout: Attention dropout.
        **kwargs: Standard layer keyword arguments.

    Call arguments:
        inputs: List of `(batch, T_m, d_m)` sequences, at least two.
        mask: Optional list of `(batch, T_m)` booleans (`None` = all real).

    Example:

    >>> fusion = CrossModalAttentionFusion(units=8)
    >>> image = np.ones((2, 49, 16)); text = np.ones((2, 12, 32))
    >>> tuple(fusion([image, text]).shape)
    (2, 16)
    """

    fusion_level = "sequence"
    min_modalities = 2

    def build(self, input_shape):
        super().build(input_shape)
        self.projections = self.build_projections(input_shape)
        shape = (None, None, self.units)
        self.attentions, self.norms = [], []
        for i in range(len(input_shape)):
            attention = keras.layers.MultiHeadAttention(
                self.num_heads, self.key_dim, dropout=self.dropout,
                dtype=self.dtype_policy, name=f"attention_{i}")
            attention.build(shape, shape)
            norm = keras.layers.LayerNormalization(epsilon=1e-6, dtype=self.dtype_policy,
                                                   name=f"norm_{i}")
            norm.build(shape)
            self.attentions.append(attention)
            self.norms.append(norm)
        self.pool = MaskedGlobalPooling1D("avg", dtype=self.dtype_policy)

    def _prepare(self, inputs, mask):
        sequences = [p(x) for p, x in zip(self.projections, inputs)]
        masks = list(mask) if mask is not None else [None] * len(inputs)
        masks = [ops.ones(ops.shape(s)[:2], dtype="bool") if m is None else ops.cast(m, "bool")
                 for s, m in zip(sequences, masks)]
        return sequences, masks

    def _attend(self, i, sequences, masks, training=None, scores=False):
        others = [j for j in range(len(sequences)) if j != i]
        keys = ops.concatenate([sequences[j] for j in others], axis=1)
        key_mask = ops.concatenate([masks[j] for j in others], axis=1)
        attention_mask = ops.logical_and(ops.expand_dims(masks[i], 2),
                                         ops.expand_dims(key_mask, 1))
        return self.attentions[i](sequences[i], keys, attention_mask=attention_mask,
                                  training=training, return_attention_scores=scores)

    def call(self, inputs, mask=None, training=None):
        sequences, masks = self._prepare(inputs, mask)
        pooled = []
        for i in range(len(sequences)):
            attended = self._attend(i, sequences, masks, training)
            fused = self.norms[i](sequences[i] + attended)
            pooled.append(self.pool(fused, mask=masks[i]))
        return ops.concatenate(pooled, axis=-1)

    def attention_maps(self, inputs, mask=None):
        """`[(batch, heads, T_m, Σ_{n≠m} T_n)]`, one per target modality."""
        sequences, masks = self._prepare(inputs, mask)
        return [self._attend(i, sequences, masks, scores=True)[1] for i in range(len(sequences))]

    def readout(self, inputs=None, mask=None):
        """`{"attention_maps": [...]}` (see `attention_maps`) when `inputs` are given."""
        if inputs is None:
            return {}
        return {"attention_maps": to_numpy(self.attention_maps(inputs, mask=mask))}

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], len(input_shape) * self.units)

