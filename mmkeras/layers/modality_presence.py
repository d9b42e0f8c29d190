import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmkeras")
class ModalityPresence(keras.layers.Layer):
    """Per-sample flag: 1 where a modality's input holds anything, 0 where it is all zeros.

    A missing modality reaches an mmkeras model as an all-zero input (a blank
    caption is only padding, an absent image is a black image, absent audio
    has no frames), so `present = any(x != 0)` over every axis but the batch.
    `ModalityDropout` takes these flags to treat such samples as it treats a
    dropped modality, so a model trained with modality dropout knows, sample
    by sample, that a modality is missing from the data. The layer takes the
    standard layer keyword arguments only.

    Example:

    >>> keras.ops.convert_to_numpy(ModalityPresence()(np.array([[5, 2, 0], [0, 0, 0]])))
    array([1., 0.], dtype=float32)
    """

    def call(self, inputs):
        flat = ops.reshape(inputs, (ops.shape(inputs)[0], -1))
        present = ops.any(ops.not_equal(flat, ops.cast(0, flat.dtype)), axis=-1)
        return ops.cast(present, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)
