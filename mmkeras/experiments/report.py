"""What a finished study writes: tables (CSV, Markdown) and figures."""

import os

import numpy as np

from mmkeras.experiments.runs import run_dir
from mmkeras.experiments.summary import markdown_table


def write_tables(out, data, results, summary, curves, machine=None):
    """`results.csv` (one row per run), `summary.csv` (mean ± std per model),
    `robustness.csv` (accuracy per perturbation level) and `results.md`."""
    results.to_csv(os.path.join(out, "results.csv"), index=False)
    summary.to_csv(os.path.join(out, "summary.csv"), index=False)
    if not curves.empty:
        curves.to_csv(os.path.join(out, "robustness.csv"), index=False)
    table = markdown_table(summary, machine=machine, title=f"Fusion comparison on {data.name}")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")


def write_figures(out, data, results, summary, curves, histories):
    """`accuracy.png`, `robustness.png`, `training_curves.png` (first seed) and
    `confusion_matrix.png` (the best run)."""
    import matplotlib.pyplot as plt

    from mmkeras import plots

    if summary.empty:
        return
    plt.close(plots.plot_accuracy(summary, os.path.join(out, "accuracy.png"),
                                  title=f"{data.name}: fusion vs unimodal baselines"))
    if not curves.empty:
        plt.close(plots.plot_robustness(curves, os.path.join(out, "robustness.png")))
    first_seed = results["seed"].min()
    first = {row["model"]: histories[row["run"]] for _, row in results.iterrows()
             if row["seed"] == first_seed and row["run"] in histories}
    plt.close(plots.plot_training_curves(first, os.path.join(out, "training_curves.png")))
    best = results.loc[results["test_accuracy"].idxmax()]
    matrix_path = os.path.join(run_dir(out, best["run"]), "confusion_matrix.csv")
    if os.path.exists(matrix_path):
        matrix = np.loadtxt(matrix_path, delimiter=",", dtype=int)
        plt.close(plots.plot_confusion_matrix(
            matrix, data.class_names, os.path.join(out, "confusion_matrix.png"),
            title=f"{best['model']} (seed {best['seed']})"))
