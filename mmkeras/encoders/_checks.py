"""Argument checks shared by the encoder factories (see `mmkeras.utils.validation`)."""

from mmkeras.utils import validation


def check_input_shape(input_shape, rank, meaning, encoder):
    """Returns `input_shape` as a tuple of ints (or None), or raises if it is malformed."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != rank:
        raise ValueError(
            f"`{encoder}` expects input_shape={meaning} (without the batch "
            f"axis, {rank} values). Received: input_shape={input_shape!r}"
        )
    for dim in shape:
        if dim is not None and (not validation.is_int(dim) or dim < 1):
            raise ValueError(
                f"`{encoder}` needs positive integer (or None) dimensions. "
                f"Received: input_shape={input_shape!r}"
            )
    return tuple(None if dim is None else int(dim) for dim in shape)


def check_positive(name, value, encoder):
    """A positive integer (NumPy integers too, bools not); returns an `int`."""
    return validation.check_positive_int(name, value, owner=encoder)


def _positive_or_none(name, value, encoder):
    return validation.check_positive_int(name, value, owner=encoder, allow_none=True)


def _filters(name, value, encoder):
    if validation.is_int(value):
        return check_positive(name, value, encoder)
    return validation.check_positive_ints(name, value, owner=encoder)


def _rate(name, value, encoder):
    return validation.check_rate(name, value, owner=encoder)


def _bool(name, value, encoder):
    return validation.check_bool(name, value, owner=encoder)


def _name(name, value, encoder):
    if not isinstance(value, str) or not value:
        raise ValueError(f"`{encoder}`: `{name}` must be a non-empty string. "
                         f"Received: {name}={value!r}")
    return value


# What each constructor argument of the encoders must be.
_ARGUMENTS = {
    "filters": _filters,
    "units": check_positive,
    "embedding_dim": _positive_or_none,
    "kernel_size": _filters,  # an int or one per axis
    "pool_size": _filters,
    "num_heads": check_positive,
    "ff_dim": check_positive,
    "num_layers": check_positive,
    "vocab_size": check_positive,
    "sequence_length": _positive_or_none,
    "dropout": _rate,
    "trainable": _bool,
    "name": _name,
}


def check_arguments(encoder, **arguments):
    """Checks each keyword argument by its name (see `_ARGUMENTS`); raises on the first bad one.

    Returns the values in the order given, as plain Python numbers (Keras
    layers refuse some NumPy integers), a list of filters as a tuple.
    `embedding_dim` and `sequence_length` may be `None` (no projection,
    variable length); an encoder that needs them set checks that itself.
    """
    return tuple(_ARGUMENTS[name](name, value, encoder) for name, value in arguments.items())


def as_layers(filters):
    """`filters` as a tuple of per-layer widths (one int means one layer)."""
    return (filters,) if validation.is_int(filters) else tuple(filters)
