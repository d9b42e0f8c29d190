"""Shared input checks and per-modality projections for fusion layers."""

import keras


def check_modality_list(layer, input_shape, rank, minimum=2, maximum=None):
    """Raises unless `input_shape` is a list of `rank`-D shapes of the right length."""
    name = type(layer).__name__
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(
        input_shape[0], (list, tuple)
    ):
        raise ValueError(
            f"{name} expects a list of per-modality tensors. Received: input_shape={input_shape}"
        )
    count = len(input_shape)
    if count < minimum or (maximum is not None and count > maximum):
        wanted = f"{minimum}" if maximum == minimum else (
            f"{minimum} to {maximum}" if maximum else f"at least {minimum}")
        raise ValueError(
            f"{name} fuses {wanted} modalities. Received: {count} "
            f"(input_shape={input_shape})"
        )
    for shape in input_shape:
        if len(shape) != rank:
            layout = "(batch, features)" if rank == 2 else "(batch, steps, features)"
            raise ValueError(
                f"{name} expects {layout} per modality. Received: input_shape={input_shape}"
            )
        if shape[-1] is None:
            raise ValueError(
                f"{name} needs a known feature width. Received: input_shape={input_shape}"
            )


def build_projections(layer, input_shape, units, activation=None, prefix="projection"):
    """One `Dense(units)` per modality, built for its input shape."""
    projections = []
    for i, shape in enumerate(input_shape):
        dense = keras.layers.Dense(units, activation=activation, dtype=layer.dtype_policy,
                                   name=f"{prefix}_{i}")
        dense.build(tuple(shape))
        projections.append(dense)
    return projections
