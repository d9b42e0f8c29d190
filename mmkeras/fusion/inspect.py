"""Reading what a fusion layer learned: weights, attention, gates."""

import keras
import numpy as np


def fusion_layer(model):
    """The fusion layer of a model built by `build_model`."""
    found = [layer for layer in model.layers if hasattr(type(layer), "fusion_level")]
    if len(found) != 1:
        raise ValueError(
            f"Expected one fusion layer in model {model.name!r}. Received: "
            f"{[layer.name for layer in found]}"
        )
    return found[0]


def fusion_inputs(model, x):
    """What the fusion layer receives for inputs `x`: a list of NumPy arrays
    (embeddings, sequences, tokens or logits, by fusion level)."""
    layer = fusion_layer(model)
    inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    probe = keras.Model(model.inputs, list(inputs))
    out = probe.predict(x, verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


def fusion_readout(model, x=None):
    """Everything interpretable the model's fusion layer has, as NumPy arrays.

    Keys, where the fusion has them: `"modality_weights"` (weighted sum, late
    weighted: one α per modality), `"attention_weights"` (modality attention:
    `(batch, M)`), `"attention_scores"` (self-attention: `(batch, heads, M, M)`),
    `"gates"` (GMU: `(batch, M, units)`), `"attention_maps"` (cross-modal:
    one `(batch, heads, T_m, T_others)` per modality). `"modalities"` gives
    the order (modality names, sorted, as `build_model` orders them).
    """
    layer = fusion_layer(model)
    names = sorted(t.name for t in model.inputs)
    readout = {"fusion": type(layer).__name__, "modalities": names}
    if hasattr(layer, "modality_weights") and getattr(layer, "combine", "weighted") == "weighted":
        readout["modality_weights"] = np.asarray(keras.ops.convert_to_numpy(layer.modality_weights()))
    per_sample = {"attention_weights": "attention_weights", "attention_scores": "attention_scores",
                  "gates": "gates"}
    needs_x = [key for key, method in per_sample.items() if hasattr(layer, method)]
    if hasattr(layer, "attention_maps"):
        needs_x.append("attention_maps")
    if needs_x and x is not None:
        inputs = fusion_inputs(model, x)
        for key in needs_x:
            if key == "attention_maps":
                masks = _sequence_masks(model, x, layer)
                maps = layer.attention_maps(inputs, mask=masks)
                readout[key] = [np.asarray(keras.ops.convert_to_numpy(m)) for m in maps]
            else:
                value = getattr(layer, per_sample[key])(inputs)
                readout[key] = np.asarray(keras.ops.convert_to_numpy(value))
    return readout


def _sequence_masks(model, x, layer):
    """Masks the builder fed the cross-modal fusion, recomputed for `x`."""
    node = layer._inbound_nodes[0]
    mask_tensors = node.arguments.kwargs.get("mask")
    if not mask_tensors:
        return None
    present = [m for m in mask_tensors if m is not None]
    if not present:
        return None
    probe = keras.Model(model.inputs, present)
    values = probe.predict(x, verbose=0)
    values = values if isinstance(values, list) else [values]
    it = iter(values)
    return [None if m is None else next(it) for m in mask_tensors]
