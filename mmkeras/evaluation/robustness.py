"""Robustness of a trained model to a missing or degraded modality."""

import numpy as np

from mmkeras.evaluation.metrics import labelled_inputs
from mmkeras.evaluation.metrics import unchecked_accuracy as accuracy
from mmkeras.utils.layer_names import MODALITY_DROPOUT

# Perturbations by modality kind, with their default levels (0 = clean).
# Image values are in [0, 1]; audio features are standardised, so the noise
# is in units of one feature standard deviation.
PERTURBATIONS = {
    "image": {"gaussian_noise": (0.0, 0.1, 0.2, 0.4, 0.8),
              "occlusion": (0.0, 0.1, 0.25, 0.5, 0.75)},
    "audio": {"white_noise": (0.0, 0.5, 1.0, 2.0, 4.0)},
    "text": {"token_dropout": (0.0, 0.2, 0.4, 0.6, 0.8)},
}


def modality_kind(array):
    """`"image"` (rank-4 floats), `"audio"` (rank-3 floats: frames) or `"text"` (ints)."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.integer):
        return "text"
    if array.ndim == 4:
        return "image"
    if array.ndim == 3:
        return "audio"
    raise ValueError(f"No perturbations for inputs of shape {array.shape} and dtype {array.dtype}")


def perturb(array, perturbation, level, seed=0):
    """A perturbed copy of one modality's batch (`level` 0 returns it unchanged)."""
    x = np.array(array, copy=True)
    if level == 0:
        return x
    rng = np.random.default_rng(seed)
    if perturbation == "gaussian_noise":
        return (x + rng.normal(0, level, x.shape)).astype(x.dtype)
    if perturbation == "occlusion":
        n, h, w = x.shape[:3]
        side_h, side_w = int(round(h * np.sqrt(level))), int(round(w * np.sqrt(level)))
        for i in range(n):
            top = rng.integers(0, h - side_h + 1)
            left = rng.integers(0, w - side_w + 1)
            x[i, top:top + side_h, left:left + side_w] = 0
        return x
    if perturbation == "white_noise":
        real = np.any(x != 0, axis=-1, keepdims=True)
        return (x + real * rng.normal(0, level, x.shape)).astype(x.dtype)
    if perturbation == "token_dropout":
        out = np.zeros_like(x)
        for i, row in enumerate(x):
            tokens = row[row != 0]
            kept = tokens[rng.random(len(tokens)) >= level]
            out[i, :len(kept)] = kept
        return out
    valid = sorted({p for kinds in PERTURBATIONS.values() for p in kinds})
    raise ValueError(f"Unknown perturbation. Received: {perturbation!r}; expected one of {valid}")


def area_under_curve(levels, accuracies):
    """Mean accuracy over the level range (trapezoid rule, levels scaled to [0, 1])."""
    levels = np.asarray(levels, dtype="float64")
    span = levels[-1] - levels[0]
    if span == 0:
        return float(accuracies[0])
    return float(np.trapezoid(np.asarray(accuracies, dtype="float64"),
                              (levels - levels[0]) / span))


def missing_modality_accuracy(model, x, y=None, modality=None):
    """Accuracy with `modality` missing for every sample.

    If the model was built with modality dropout, its dropout layer replaces
    the modality's embedding as in training (zeros or the learned "missing"
    vector); otherwise the modality's input is all zeros (for text: only
    padding).

    Args:
        model: A trained classifier.
        x: A dict of arrays, or a `mmkeras.datasets.Split` (with its labels).
        y: Integer labels (not needed with a Split).
        modality: The input to remove.
    """
    x, y = labelled_inputs(model, x, y)
    return unchecked_missing_accuracy(model, x, y, modality)


def unchecked_missing_accuracy(model, x, y, modality):
    if modality not in x:
        raise ValueError(f"Unknown modality. Received: {modality!r}; inputs: {sorted(x)}")
    dropout = next((l for l in model.layers if l.name == MODALITY_DROPOUT), None)
    if dropout is not None:
        dropout.set_missing([modality])
        try:
            return accuracy(model, x, y)
        finally:
            dropout.set_missing()
    blanked = dict(x)
    blanked[modality] = np.zeros_like(x[modality])
    return accuracy(model, blanked, y)


def robustness_report(model, x, y=None, seed=0, perturbations=None):
    """Accuracy under every perturbation of every modality, and with each missing.

    Args:
        model: A trained classifier.
        x: A dict of arrays, or a `mmkeras.datasets.Split` (with its labels);
            checked against the model first (`mmkeras.check_inputs`).
        y: Integer labels (not needed with a Split).
        seed: Seed of the random perturbations.
        perturbations: `{modality kind: {name: levels}}`; default `PERTURBATIONS`.

    Returns:
        `(curves, summary)`: `curves` is a list of dicts (modality,
        perturbation, level, accuracy); `summary` maps
        `"missing_<modality>"` and `"auc_<modality>_<perturbation>"` to numbers.
    """
    x, y = labelled_inputs(model, x, y)
    perturbations = perturbations or PERTURBATIONS
    curves, summary = [], {}
    clean = accuracy(model, x, y)
    for modality in sorted(x):
        if len(x) > 1:
            summary[f"missing_{modality}"] = unchecked_missing_accuracy(model, x, y, modality)
        for name, levels in perturbations.get(modality_kind(x[modality]), {}).items():
            accuracies = []
            for level in levels:
                acc = clean if level == 0 else accuracy(
                    model, {**x, modality: perturb(x[modality], name, level, seed)}, y)
                accuracies.append(acc)
                curves.append({"modality": modality, "perturbation": name, "level": level,
                               "accuracy": acc})
            summary[f"auc_{modality}_{name}"] = area_under_curve(levels, accuracies)
    return curves, summary
