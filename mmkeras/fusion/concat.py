import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion


@keras.saving.register_keras_serializable(package="mmkeras")
class ConcatFusion(Fusion):
    """Feature-level fusion by concatenation (the documents' fusion).

    `h = [h_1; h_2; …; h_M]`, shape `(batch, Σ_m d_m)`; with `units`, each
    modality is first projected, `h = [h_1 W_1 + b_1; …]`, shape
    `(batch, M·units)`.

    With one modality and no `units` it returns the embedding unchanged, so a
    unimodal baseline is the same model minus the other branches.

    Args:
        units: Optional width each modality is projected to before the
            concatenation; `None` (default) concatenates the embeddings as
            they are.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> tuple(ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape)
    (2, 7)
    >>> tuple(ConcatFusion(units=5)([np.ones((2, 3)), np.zeros((2, 4))]).shape)
    (2, 10)
    """

    fusion_level = "feature"
    units_optional = True

    def __init__(self, units=None, **kwargs):
        super().__init__(units=units, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        self.projections = self.build_projections(input_shape) if self.units else None

    def call(self, inputs):
        if self.projections is not None:
            inputs = [p(x) for p, x in zip(self.projections, inputs)]
        if len(inputs) == 1:
            return inputs[0]
        return ops.concatenate(list(inputs), axis=-1)

    def compute_output_shape(self, input_shape):
        if self.units:
            return (input_shape[0][0], len(input_shape) * self.units)
        return (input_shape[0][0], sum(shape[-1] for shape in input_shape))
