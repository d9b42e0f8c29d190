import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion, to_numpy


@keras.saving.register_keras_serializable(package="mmkeras")
class ModalityAttentionFusion(Fusion):
    """Attention over modalities: a per-sample weight for each modality.

    `α = softmax(W_att [h_1; …; h_M] + b)` (one score per modality),
    `F = Σ_m α_m (h_m W_m + b_m)`, shape `(batch, units)`.

    The documents' modality attention. Unlike
    `WeightedSumFusion`, α depends on the sample, so a model can lean on
    audio for one input and on the image for another; `attention_weights()`
    returns α for a batch of embeddings.

    Args:
        units: Common width of the projections and the output.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> fusion = ModalityAttentionFusion(units=8)
    >>> h = [np.ones((2, 3)), np.ones((2, 5))]
    >>> tuple(fusion(h).shape), tuple(fusion.attention_weights(h).shape)
    ((2, 8), (2, 2))
    """

    fusion_level = "feature"

    def __init__(self, units=64, **kwargs):
        super().__init__(units=units, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        self.projections = self.build_projections(input_shape)
        self.scorer = keras.layers.Dense(len(input_shape), dtype=self.dtype_policy, name="scorer")
        self.scorer.build((None, sum(s[-1] for s in input_shape)))

    def attention_weights(self, inputs):
        """α, shape `(batch, modalities)`, rows summing to 1."""
        joined = ops.concatenate(list(inputs), axis=-1) if len(inputs) > 1 else inputs[0]
        return ops.softmax(ops.cast(self.scorer(joined), "float32"), axis=-1)

    def call(self, inputs):
        projected = ops.stack([p(x) for p, x in zip(self.projections, inputs)], 1)
        alpha = ops.cast(self.attention_weights(inputs), projected.dtype)
        return ops.sum(projected * ops.expand_dims(alpha, -1), 1)

    def readout(self, inputs=None, mask=None):
        """`{"attention_weights": α}` (see `attention_weights`) when `inputs` are given."""
        if inputs is None:
            return {}
        return {"attention_weights": to_numpy(self.attention_weights(inputs))}
