"""Argument checks shared by the encoder factories."""


def check_input_shape(input_shape, rank, meaning, encoder):
    """Returns `input_shape` as a tuple, or raises if it has the wrong rank."""
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
        if dim is not None and (not isinstance(dim, int) or dim < 1):
            raise ValueError(
                f"`{encoder}` needs positive integer (or None) dimensions. "
                f"Received: input_shape={input_shape!r}"
            )
    return shape


def check_positive(name, value, encoder):
    if not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{encoder}` needs `{name}` to be a positive integer. "
            f"Received: {name}={value!r}"
        )
    return value
