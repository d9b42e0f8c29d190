"""Video encoder: `(frames, height, width, channels)` → embedding."""

import keras
from keras import layers

from mmkeras.encoders._checks import as_layers, check_arguments, check_input_shape
from mmkeras.layers import LastStep, TiledMaxPooling2D


def video_cnn_lstm(input_shape=(8, 32, 32, 3), filters=(16, 32), units=64,
                   name="video_encoder"):
    """A per-frame CNN (TimeDistributed) followed by an LSTM over frames.

    Each frame becomes a vector (conv blocks, global pooling); the LSTM reads
    the frame vectors in order and its final state is the embedding.

    Args:
        input_shape: `(frames, height, width, channels)`; frames may be None.
        filters: Filters of each per-frame conv block.
        units: LSTM units (the embedding width).
        name: Model name.

    Example:

    >>> video_cnn_lstm(input_shape=(4, 16, 16, 3), units=8).output.shape
    (None, 8)
    """
    shape = check_input_shape(
        input_shape, 4, "(frames, height, width, channels)", "video_cnn_lstm"
    )
    filters, units, name = check_arguments("video_cnn_lstm", filters=filters, units=units,
                                           name=name)
    filters = as_layers(filters)
    frame = keras.Sequential(name="frame_cnn")
    frame.add(keras.Input(shape=shape[1:]))
    for i, f in enumerate(filters):
        frame.add(layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv_{i + 1}"))
        frame.add(TiledMaxPooling2D(2, padding="same", name=f"pool_{i + 1}"))
    frame.add(layers.GlobalAveragePooling2D(name="global_pool"))
    inputs = keras.Input(shape=shape, name="video")
    x = layers.TimeDistributed(frame, name="frames")(inputs)
    x = layers.Identity(name="stem")(x)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(x)
    x = layers.Identity(name="sequence")(x)
    outputs = LastStep(name="last_state")(x)
    return keras.Model(inputs, outputs, name=name)
