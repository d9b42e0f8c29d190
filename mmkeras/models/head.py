"""The classification head shared by every fused and unimodal model."""

import keras
from keras import layers

from mmkeras.utils import validation


def classification_head(num_classes, *, binary=False, units=(128,), dropout=0.0,
                        activation="relu", output="probabilities", name="head"):
    """A Dense stack with dropout, ending in class logits or probabilities.

    `units` hidden Dense layers (each followed by dropout), then
    `Dense(num_classes)` (or `Dense(1)` when `binary`), then softmax (or
    sigmoid). The last Dense and the activation run in float32 so that
    mixed precision keeps numerically safe probabilities.

    Args:
        num_classes: Number of classes, at least 2.
        binary: One sigmoid unit instead of `num_classes` softmax units
            (requires `num_classes == 2`).
        units: Widths of the hidden Dense layers (may be empty).
        dropout: Dropout rate after each hidden layer.
        activation: Activation of the hidden layers.
        output: `"probabilities"` or `"logits"` (no final activation; late
            fusion combines logits itself).
        name: Name of the returned `keras.Sequential`.

    Example:

    >>> head = classification_head(10, units=(64,))
    >>> tuple(head(np.zeros((2, 32))).shape)
    (2, 10)
    """
    num_classes = check_num_classes(num_classes, binary)
    units, dropout = check_head_arguments(units, dropout)
    validation.check_choice("output", output, ("probabilities", "logits"))
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError) as err:
        raise ValueError(f"Unknown `activation`. Received: activation={activation!r}") from err
    head = keras.Sequential(name=name)
    for i, width in enumerate(units):
        head.add(layers.Dense(width, activation=activation, name=f"{name}_dense_{i + 1}"))
        if dropout:
            head.add(layers.Dropout(dropout, name=f"{name}_dropout_{i + 1}"))
    head.add(layers.Dense(1 if binary else num_classes, dtype="float32", name=f"{name}_logits"))
    if output == "probabilities":
        head.add(
            layers.Activation(
                "sigmoid" if binary else "softmax", dtype="float32", name=f"{name}_probabilities"
            )
        )
    return head


def check_num_classes(num_classes, binary=False):
    """`num_classes` as an `int` >= 2 (NumPy integers too); 2 when `binary`."""
    num_classes = validation.check_int("num_classes", num_classes, minimum=2)
    validation.check_bool("binary", binary)
    if binary and num_classes != 2:
        raise ValueError(
            "`binary=True` means two classes with one sigmoid unit. "
            f"Received: num_classes={num_classes!r}"
        )
    return num_classes


def check_head_arguments(units, dropout, units_name="units"):
    """`(units, dropout)` checked: hidden widths (one int, several, or none) and a
    rate in [0, 1); errors name the widths `units_name` (`head_units` in the builders)."""
    if validation.is_int(units):
        units = (units,)
    units = validation.check_positive_ints(units_name, units, allow_empty=True)
    return units, validation.check_rate("dropout", dropout)
