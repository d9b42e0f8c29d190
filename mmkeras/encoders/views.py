"""Access to an encoder's named inner features (`stem`, `sequence`)."""

import keras

from mmkeras.utils import validation

VIEWS = ("stem", "sequence")


def encoder_view(encoder, view, name=None):
    """A model sharing `encoder`'s layers that outputs one of its inner views.

    Args:
        encoder: A functional encoder from `mmkeras.encoders` (or any
            functional model with layers named `"stem"` and `"sequence"`).
        view: `"stem"` (shallow features, for early fusion) or `"sequence"`
            (per-position features, for attention fusions).
        name: Name of the returned model; default `"<encoder name>_<view>"`.

    Returns:
        A `keras.Model` with the encoder's input and the view as output.
    """
    validation.check_choice("view", view, VIEWS)
    try:
        layer = encoder.get_layer(view)
    except ValueError:
        raise ValueError(
            f"Encoder {encoder.name!r} has no layer named {view!r}, which this "
            f"fusion needs. Encoders from mmkeras.encoders have one; for your own "
            f"encoder, pass its {view} features through "
            f"keras.layers.Identity(name={view!r})."
        ) from None
    return keras.Model(encoder.inputs, layer.output, name=name or f"{encoder.name}_{view}")
