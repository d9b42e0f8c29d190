"""Classification metrics of a trained model on a split given as arrays."""

import numpy as np

from mmkeras.evaluation.prediction import predict
from mmkeras.utils.input_check import check_inputs, unpack


def labelled_inputs(model, x, y):
    """`(x, y)` from arrays or a `Split`, checked against `model`."""
    x, y = unpack(x, y)
    if y is None:
        raise ValueError("Labels are needed: pass `y`, or a Split (which holds them) as `x`. "
                         "Received: y=None")
    check_inputs(model, x, y)
    y = np.asarray(y)
    if y.ndim == 2:  # (samples, 1) ids, or one-hot rows for a categorical model
        y = y[:, 0] if y.shape[1] == 1 else y.argmax(-1)
    return x, y


def predict_classes(model, x, batch_size=256):
    """Class ids predicted by `model` (softmax or one sigmoid unit), on
    length-bucketed batches (`mmkeras.evaluation.predict`)."""
    probabilities = np.asarray(predict(model, x, batch_size))
    if probabilities.shape[-1] == 1:
        return (probabilities[:, 0] >= 0.5).astype("int32")
    return probabilities.argmax(-1).astype("int32")


def accuracy(model, x, y=None, batch_size=256):
    """The fraction of samples whose predicted class is the label.

    Args:
        model: A trained classifier.
        x: A dict of arrays, or a `mmkeras.datasets.Split` (with its labels).
        y: Integer labels (not needed with a Split).
    """
    x, y = labelled_inputs(model, x, y)
    return unchecked_accuracy(model, x, y, batch_size)


def unchecked_accuracy(model, x, y, batch_size=256):
    """`accuracy` of inputs already checked (the robustness loops call it many times)."""
    return float(np.mean(predict_classes(model, x, batch_size) == np.asarray(y)))


def evaluate_classifier(model, x, y=None, class_names=None, batch_size=256):
    """Accuracy, macro-F1, per-class table, confusion matrix and report.

    The inputs and labels are checked against the model first
    (`mmkeras.check_inputs`): a misnamed input, wrong dtype, NaN or a label
    the model cannot output raises an error naming it.

    Args:
        model: A trained classifier.
        x: A dict `{input name: array}`, or a `mmkeras.datasets.Split`.
        y: Integer labels (not needed with a Split).
        class_names: Names of the classes, one per model output class.
        batch_size: Prediction batch size.

    Returns:
        A dict with `"accuracy"`, `"macro_f1"`, `"per_class"` (a pandas
        DataFrame of precision, recall, F1 and support per class),
        `"confusion_matrix"` (rows: true class, columns: predicted) and
        `"report"` (scikit-learn's text report).
    """
    import pandas as pd
    from sklearn.metrics import (
        classification_report,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    x, y = labelled_inputs(model, x, y)
    y = np.asarray(y)
    if class_names is not None:
        units = model.outputs[0].shape[-1] if len(model.outputs) == 1 else None
        classes = 2 if units == 1 else units
        if classes is not None and len(class_names) != classes:
            raise ValueError(
                f"`class_names` must name the model's {classes} classes. "
                f"Received: {len(class_names)} names, class_names={list(class_names)!r}")
    predicted = predict_classes(model, x, batch_size)
    labels = np.arange(len(class_names)) if class_names is not None else np.unique(
        np.concatenate([y, predicted]))
    names = [str(c) for c in class_names] if class_names is not None else [str(l) for l in labels]
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.mean(predicted == y)),
        "macro_f1": float(f1_score(y, predicted, labels=labels, average="macro", zero_division=0)),
        "per_class": pd.DataFrame({"class": names, "precision": precision, "recall": recall,
                                   "f1": f1, "support": support}),
        "confusion_matrix": confusion_matrix(y, predicted, labels=labels),
        "report": classification_report(y, predicted, labels=labels, target_names=names,
                                        zero_division=0),
    }
