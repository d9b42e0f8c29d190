"""Reading what a fusion layer learned: weights, attention, gates."""

import keras
import numpy as np

from mmkeras.fusion.base_fusion import Fusion
from mmkeras.utils.layer_names import padding_mask_name


def fusion_layer(model):
    """The fusion layer (the one `Fusion` instance) of a model built by `build_model`."""
    found = [layer for layer in model.layers if isinstance(layer, Fusion)]
    if len(found) != 1:
        raise ValueError(
            f"Expected one fusion layer in model {model.name!r}. Received: "
            f"{[layer.name for layer in found]}"
        )
    return found[0]


def _predict(model, outputs, x):
    """`outputs` (symbolic tensors of `model`) computed for inputs `x`, as NumPy."""
    values = keras.Model(model.inputs, list(outputs)).predict(x, verbose=0)
    return [np.asarray(v) for v in (values if isinstance(values, list) else [values])]


def fusion_inputs(model, x):
    """What the fusion layer receives for inputs `x`: a list of NumPy arrays
    (embeddings, sequences, tokens or logits, by fusion level)."""
    inputs = fusion_layer(model).input
    return _predict(model, inputs if isinstance(inputs, (list, tuple)) else [inputs], x)


def fusion_masks(model, x):
    """The padding masks `build_model` gave the fusion, one per modality (or `None`).

    Found by their layer names (`mmkeras.utils.layer_names.padding_mask_name`);
    returns `None` when the model has none.
    """
    names = {layer.name for layer in model.layers}
    modalities = sorted(t.name for t in model.inputs)
    present = [m for m in modalities if padding_mask_name(m) in names]
    if not present:
        return None
    values = dict(zip(present, _predict(
        model, [model.get_layer(padding_mask_name(m)).output for m in present], x)))
    return [values.get(m) for m in modalities]


def fusion_readout(model, x=None):
    """Everything interpretable the model's fusion layer has, as NumPy arrays.

    The layer's `readout()` for the fusion inputs of `x`. Keys, where the
    fusion has them: `"modality_weights"` (weighted sum, late weighted: one
    α per modality), `"attention_weights"` (modality attention: `(batch, M)`),
    `"attention_scores"` (self-attention: `(batch, heads, M, M)`), `"gates"`
    (GMU: `(batch, M, units)`), `"gamma"` and `"beta"` (FiLM:
    `(batch, units)`), `"attention_maps"` (cross-modal: one
    `(batch, heads, T_m, T_others)` per modality). Per-sample keys need `x`.
    `"modalities"` gives the order (modality names, sorted, as `build_model`
    orders them) and `"fusion"` the layer's class.
    """
    layer = fusion_layer(model)
    readout = {"fusion": type(layer).__name__,
               "modalities": sorted(t.name for t in model.inputs)}
    if x is None:
        readout.update(layer.readout())
    else:
        readout.update(layer.readout(fusion_inputs(model, x), mask=fusion_masks(model, x)))
    return readout
