"""Figures of comparison results (matplotlib), saved as PNG and shown in notebooks."""

import numpy as np

from mmkeras.plots.figure import finish, pyplot


def plot_accuracy(summary, path=None, metric="test_accuracy", title=None):
    """Bar chart of mean ± std `metric` per model, unimodal baselines in grey.

    Args:
        summary: The aggregated DataFrame of `mmkeras.experiments.compare`
            (columns `model`, `kind`, `<metric>_mean`, `<metric>_std`).
    """
    plt = pyplot()
    data = summary.sort_values(f"{metric}_mean")
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(data) + 1.2))
    colors = ["0.6" if kind == "unimodal" else "C0" for kind in data["kind"]]
    ax.barh(data["model"], data[f"{metric}_mean"], xerr=data[f"{metric}_std"].fillna(0),
            color=colors, capsize=3)
    best_single = data.loc[data["kind"] == "unimodal", f"{metric}_mean"]
    if len(best_single):
        ax.axvline(best_single.max(), color="0.3", linestyle="--", linewidth=1,
                   label="best single modality")
        ax.legend(loc="lower right")
    ax.set_xlabel(metric.replace("_", " ") + " (mean ± std over seeds)")
    ax.set_xlim(0, 1)
    ax.set_title(title or "Fusion vs unimodal baselines")
    return finish(fig, path)


def plot_robustness(curves, path=None, models=None):
    """Accuracy against perturbation level, one panel per (modality, perturbation)."""
    plt = pyplot()
    if models is not None:
        curves = curves[curves["model"].isin(models)]
    panels = curves[["modality", "perturbation"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels) + 1.6, 3.4),
                             squeeze=False)
    names = sorted(curves["model"].unique())
    colors = {m: plt.get_cmap("tab20")(i % 20) for i, m in enumerate(names)}
    for ax, (modality, perturbation) in zip(axes[0], panels):
        part = curves[(curves["modality"] == modality) & (curves["perturbation"] == perturbation)]
        for model, rows in part.groupby("model"):
            mean = rows.groupby("level")["accuracy"].mean()
            unimodal = model.endswith(" only")
            ax.plot(mean.index, mean.values, marker="o", markersize=3, label=model,
                    color=colors[model], linestyle="--" if unimodal else "-",
                    linewidth=2 if unimodal else 1.2)
        ax.set_title(f"{modality}: {perturbation.replace('_', ' ')}")
        ax.set_xlabel("level")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1)
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    labels = sorted(handles)
    axes[0][-1].legend([handles[l] for l in labels], labels, fontsize=7, loc="upper left",
                       bbox_to_anchor=(1.02, 1.0))
    return finish(fig, path)


def plot_training_curves(histories, path=None, metric="val_accuracy"):
    """`metric` per epoch for several runs: `histories` maps a label to a Keras history dict."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, history in histories.items():
        values = history.get(metric) or history.get(metric.replace("val_", ""))
        if values:
            ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize=7)
    return finish(fig, path)


def plot_confusion_matrix(matrix, class_names, path=None, title="Confusion matrix"):
    """Rows: true class; columns: predicted; each cell the share of its row."""
    plt = pyplot()
    matrix = np.asarray(matrix, dtype="float64")
    shares = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    size = max(4, 0.45 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            if matrix[i, j]:
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return finish(fig, path)
