"""How much each modality contributes to a fused model's accuracy."""

from mmkeras.evaluation.metrics import accuracy
from mmkeras.evaluation.robustness import missing_modality_accuracy


def modality_contributions(model, x, y):
    """Leave-one-modality-out: the accuracy lost when each modality goes missing.

    Returns:
        A dict `{modality: accuracy with all − accuracy without it}`, and the
        full accuracy under `"all"`. A large drop means the model relies on
        that modality; near zero means it ignores it.
    """
    full = accuracy(model, x, y)
    result = {"all": full}
    for modality in sorted(x):
        result[modality] = full - missing_modality_accuracy(model, x, y, modality)
    return result
