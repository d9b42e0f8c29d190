import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class ConcatFusion(keras.layers.Layer):
    """Feature-level fusion by concatenation (the documents' fusion).

    `h = [h_1; h_2; …; h_M]`, shape `(batch, Σ_m d_m)`.

    With one modality it returns the embedding unchanged, so a unimodal
    baseline is the same model minus the other branches.

    Args:
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> ConcatFusion()([np.ones((2, 3)), np.zeros((2, 4))]).shape
    (2, 7)
    """

    fusion_level = "feature"

    def call(self, inputs):
        if len(inputs) == 1:
            return inputs[0]
        return ops.concatenate(list(inputs), axis=-1)

    def compute_output_shape(self, input_shape):
        width = 0
        for shape in input_shape:
            if shape[-1] is None:
                return (input_shape[0][0], None)
            width += shape[-1]
        return (input_shape[0][0], width)
