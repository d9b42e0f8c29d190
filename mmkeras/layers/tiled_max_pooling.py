import keras
from keras import ops

# Backends on which `TiledMaxPooling2D` reshapes instead of calling `ops.max_pool`.
# XLA on CPU differentiates a pooling window with select-and-scatter: 22 ms of a
# 52 ms training step of `image_cnn` (batch 64, 28×28) on a 2-core CPU, against
# 1.5 ms for the reshape (a JAX profile of one step, not re-measured nor held in a
# committed file). TensorFlow's and torch's own kernels are as fast or faster, so
# they keep them.
TILED_BACKENDS = ("jax",)


@keras.saving.register_keras_serializable(package="mmkeras")
class TiledMaxPooling2D(keras.layers.MaxPooling2D):
    """`MaxPooling2D` that pools non-overlapping tiles with a reshape on JAX.

    When the windows do not overlap (`strides == pool_size`, the default),
    max pooling is a reshape into `(rows, pool_rows, columns, pool_columns)`
    tiles and a max over the tile axes. The outputs are those of
    `keras.layers.MaxPooling2D`; only the gradient's path differs, and on
    JAX (XLA on CPU) it is about 10× cheaper. The gradient of a tile whose
    maximum is tied goes in equal parts to the tied positions (pooling
    kernels give it to one); after a ReLU, ties are zeros, whose gradient the
    ReLU stops anyway. Other backends, and overlapping windows, call
    `MaxPooling2D` itself. Same arguments as `keras.layers.MaxPooling2D`.

    Example:

    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> keras.ops.convert_to_numpy(TiledMaxPooling2D(2)(x))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]]...)
    """

    def call(self, inputs):
        if keras.backend.backend() not in TILED_BACKENDS or self.pool_size != self.strides:
            return super().call(inputs)
        return tiled_max_pool(inputs, self.pool_size, self.padding, self.data_format)


def tiled_max_pool(inputs, pool_size, padding="valid", data_format="channels_last"):
    """Max over non-overlapping `pool_size` tiles of `(batch, rows, columns, channels)`.

    `padding="same"` pads the bottom and right (and the top and left by
    half of any excess over one step, as `ops.max_pool` does) with the
    lowest value of the dtype; `"valid"` drops rows and columns past the
    last whole tile.
    """
    if data_format == "channels_first":
        inputs = ops.transpose(inputs, (0, 2, 3, 1))
    rows, columns, channels = inputs.shape[1:]
    tiles = []
    pads = [(0, 0)]
    for size, pool in zip((rows, columns), pool_size):
        count = -(-size // pool) if padding == "same" else size // pool
        extra = count * pool - size  # > 0: pad ("same"); < 0: crop ("valid")
        pads.append((max(extra, 0) // 2, max(extra, 0) - max(extra, 0) // 2))
        tiles.append(count)
    if any(p != (0, 0) for p in pads):
        half = keras.backend.standardize_dtype(inputs.dtype) == "float16"
        inputs = ops.pad(inputs, pads + [(0, 0)], constant_values=-6.0e4 if half else -3.0e38)
    inputs = inputs[:, :tiles[0] * pool_size[0], :tiles[1] * pool_size[1]]
    outputs = ops.max(ops.reshape(inputs, (-1, tiles[0], pool_size[0], tiles[1], pool_size[1],
                                           channels)), axis=(2, 4))
    if data_format == "channels_first":
        outputs = ops.transpose(outputs, (0, 3, 1, 2))
    return outputs
