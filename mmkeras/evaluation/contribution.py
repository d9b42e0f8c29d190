"""How much each modality contributes to a fused model's accuracy."""

from mmkeras.evaluation.metrics import labelled_inputs
from mmkeras.evaluation.metrics import unchecked_accuracy as accuracy
from mmkeras.evaluation.robustness import unchecked_missing_accuracy


def modality_contributions(model, x, y=None):
    """Leave-one-modality-out: the accuracy lost when each modality goes missing.

    `x` is a dict of arrays or a `mmkeras.datasets.Split` (then `y` may be
    left out); both are checked against the model first (`mmkeras.check_inputs`).

    Returns:
        A dict `{modality: accuracy with all − accuracy without it}`, and the
        full accuracy under `"all"`. A large drop means the model relies on
        that modality; near zero means it ignores it.
    """
    x, y = labelled_inputs(model, x, y)
    full = accuracy(model, x, y)
    result = {"all": full}
    for modality in sorted(x):
        result[modality] = full - unchecked_missing_accuracy(model, x, y, modality)
    return result
