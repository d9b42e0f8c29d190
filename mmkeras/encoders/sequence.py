"""Sequence encoders for audio features (MFCC or log-mel frames) and other
variable-length float sequences: `(steps, features)` → embedding.

Pad sequences with zero frames (after normalising each utterance): a frame
whose features are all 0 is padding and is masked out.
"""

import keras
from keras import layers

from mmkeras.encoders._checks import as_layers, check_arguments, check_input_shape
from mmkeras.layers import ApplyMask, LastStep, MaskedGlobalPooling1D, PaddingMask

_SHAPE = "(steps, features), steps may be None"


def sequence_lstm(input_shape=(None, 13), units=64, name="sequence_encoder"):
    """Masking → LSTM → last real state.

    Args:
        input_shape: `(steps, features)`; `steps=None` for variable length.
        units: LSTM units (the embedding width).
        name: Model name.

    Example:

    >>> sequence_lstm(input_shape=(None, 13), units=32).output.shape
    (None, 32)
    """
    shape = check_input_shape(input_shape, 2, _SHAPE, "sequence_lstm")
    units, name = check_arguments("sequence_lstm", units=units, name=name)
    inputs = keras.Input(shape=shape, name="frames")
    x = layers.Masking(0.0, name="masking")(inputs)
    x = layers.Identity(name="stem")(x)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(x)
    x = layers.Identity(name="sequence")(x)
    outputs = LastStep(name="last_state")(x)
    return keras.Model(inputs, outputs, name=name)


def sequence_conv1d(input_shape=(None, 13), filters=(64, 64), kernel_size=5,
                    name="sequence_encoder"):
    """Stacked Conv1D (same padding) → masked global average pooling.

    Padded frames are zeroed after each convolution, so the features of the
    real frames do not depend on how much padding follows them.

    Args:
        input_shape: `(steps, features)`; `steps=None` for variable length.
        filters: Filters of each Conv1D layer; the last is the embedding width.
        kernel_size: Conv1D window in frames.
        name: Model name.

    Example:

    >>> sequence_conv1d(input_shape=(None, 13), filters=(32,)).output.shape
    (None, 32)
    """
    shape = check_input_shape(input_shape, 2, _SHAPE, "sequence_conv1d")
    filters, kernel_size, name = check_arguments(
        "sequence_conv1d", filters=filters, kernel_size=kernel_size, name=name)
    filters = as_layers(filters)
    inputs = keras.Input(shape=shape, name="frames")
    mask = PaddingMask(name="padding_mask")(inputs)
    x = layers.Identity(name="stem")(inputs)
    for i, f in enumerate(filters):
        x = layers.Conv1D(f, kernel_size, padding="same", activation="relu",
                          name=f"conv_{i + 1}")(x)
        x = ApplyMask(name="sequence" if i == len(filters) - 1 else f"mask_{i + 1}")(
            x, mask=mask
        )
    outputs = MaskedGlobalPooling1D("avg", name="pool")(x, mask=mask)
    return keras.Model(inputs, outputs, name=name)
