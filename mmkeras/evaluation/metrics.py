"""Classification metrics of a trained model on a split given as arrays."""

import numpy as np


def predict_classes(model, x, batch_size=256):
    """Class ids predicted by `model` (softmax or one sigmoid unit)."""
    probabilities = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if probabilities.shape[-1] == 1:
        return (probabilities[:, 0] >= 0.5).astype("int32")
    return probabilities.argmax(-1).astype("int32")


def accuracy(model, x, y, batch_size=256):
    return float(np.mean(predict_classes(model, x, batch_size) == np.asarray(y)))


def evaluate_classifier(model, x, y, class_names=None, batch_size=256):
    """Accuracy, macro-F1, per-class table, confusion matrix and report.

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

    y = np.asarray(y)
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
