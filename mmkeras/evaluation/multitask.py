"""Evaluation of a model with several outputs: one report per task."""

import numpy as np

from mmkeras.evaluation.prediction import predict


def evaluate_tasks(model, x, labels, batch_size=256):
    """Accuracy and macro-F1 of every output of a multi-output model.

    Args:
        model: A model whose outputs are a dict `{name: probabilities}`
            (`mmkeras.tasks.multitask.build_multitask_model`).
        x: Its input dict.
        labels: `{output name: integer labels}`; outputs without labels
            (e.g. auxiliary heads) are skipped unless given.
        batch_size: Prediction batch size.

    Returns:
        `{output: {"accuracy": float, "macro_f1": float}}` in `labels`' order.

    Example:

    >>> # evaluate_tasks(model, test.x, test.labels("category"))
    >>> # {'category': {'accuracy': 0.70, 'macro_f1': 0.62}, 'subcategory': {...}}
    """
    from sklearn.metrics import f1_score

    if not isinstance(model.output, dict):
        raise ValueError("evaluate_tasks needs a model with named outputs (a dict). Received: "
                         f"a model with output {model.output!r}; use evaluate_classifier")
    unknown = sorted(set(labels) - set(model.output))
    if unknown:
        raise ValueError(f"Unknown outputs. Received: {unknown}; the model has "
                         f"{sorted(model.output)}")
    predictions = predict(model, x, batch_size)
    report = {}
    for name, y in labels.items():
        y = np.asarray(y).reshape(-1)
        p = np.asarray(predictions[name])
        predicted = (p[:, 0] > 0.5).astype(int) if p.shape[-1] == 1 else p.argmax(-1)
        report[name] = {"accuracy": float(np.mean(predicted == y)),
                        "macro_f1": float(f1_score(y, predicted, average="macro"))}
    return report
