"""Training strategies against modality imbalance: which remedy keeps a fused model
useful when one modality is missing?

For each dataset and seed: a unimodal model per modality (these are also the
pretrained encoders of pretrain-then-fuse), then each fusion trained six
ways — plain, with modality dropout, with auxiliary unimodal heads, with
OGM-GE gradient modulation, pretrain-then-fuse (encoders from the unimodal
models' .keras files, frozen), and pretrain-then-fuse with modality dropout
in the fusion head — each evaluated on the test split with every input and
with each modality missing.

Every run appends one row to OUT/runs_<dataset>.csv, so an interrupted study resumes
where it stopped:

    python scripts/training_strategies_study.py

Writes OUT/runs.csv (all runs), OUT/summary.csv, OUT/results.md and OUT/strategies.png.
"""

import argparse
import os
import sys
import time

import numpy as np

STRATEGIES = ("plain", "modality_dropout", "auxiliary_heads", "ogm_ge", "pretrain_then_fuse",
              "pretrain_then_fuse_dropout")
FUSIONS = ("concat", "gated", "attention")
DATASETS = ("av_digits", "emoji")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--fusions", nargs="+", default=list(FUSIONS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    # The image CNN's validation loss stays flat for its first ~3 epochs (batch norm warming
    # up) before it falls: a patience of 2 stops it at chance level.
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--modality-dropout", type=float, default=0.3)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--out", default="results/training_strategies")
    parser.add_argument("--models", default="/tmp/training_strategies_models",
                        help="where the unimodal models (pretrained encoders) are kept")
    parser.add_argument("--no-multitask", dest="multitask", action="store_false",
                        help="skip emoji category + subcategory multi-task vs single-task")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.strategies) - set(STRATEGIES))
    if unknown:
        parser.error(f"unknown strategies {unknown}; expected some of {list(STRATEGIES)}")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.models, exist_ok=True)
    start = time.perf_counter()
    # Seeds outermost, so that a stopped study has every dataset on its first seeds.
    for seed in args.seeds:
        for name in args.datasets:
            # One file per dataset: each has its own modalities' columns.
            runs_path = os.path.join(args.out, f"runs_{name}.csv")
            done = _done(runs_path)
            for row in _dataset_seed(name, seed, args, done):
                _append(runs_path, row)
                print(f"{row['dataset']:<9} seed {seed} {row['model']:<32} acc {row['accuracy']:.3f} "
                      + " ".join(f"{k} {v:.3f}" for k, v in row.items()
                                 if k.startswith("missing_") and v == v)
                      + f" ({row['seconds']:.0f} s, {row['epochs']} ep; "
                        f"{(time.perf_counter() - start) / 60:.1f} min)", flush=True)
        if args.multitask:
            path = os.path.join(args.out, MULTITASK_RUNS)
            for row in _multitask_rows(seed, args, _done(path)):
                _append(path, row)
                print(f"emoji     seed {seed} {row['model']:<32} category "
                      f"{row['category']:.3f} subcategory {row['subcategory']:.3f} "
                      f"({row['seconds']:.0f} s)", flush=True)
        # Tables after every seed, so that a stopped study still reports its finished seeds.
        write_outputs(args.out, " ".join(["python"] + sys.argv))


MULTITASK_RUNS = "multitask_runs.csv"


def _multitask_rows(seed, args, done):
    """emoji: a category model, a subcategory model, and one model for both (concat)."""
    import keras

    from mmkeras import datasets
    from mmkeras.datasets import Split
    from mmkeras.encoders import standard_encoders
    from mmkeras.evaluation import accuracy
    from mmkeras.evaluation.multitask import evaluate_tasks
    from mmkeras.models.builder import build_model
    from mmkeras.tasks.multitask import build_multitask_model
    from mmkeras.training import seed_everything
    from mmkeras.training.fit import fit_model

    data = datasets.load("emoji", extra_labels=("subcategory",))
    train = data.train.take(args.train_limit, seed=seed) if args.train_limit else data.train
    fit = dict(epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, seed=seed,
               checkpoint=False)
    for task in ("category", "subcategory"):
        label = f"{task} only"
        if ("emoji", seed, label) in done:
            continue
        seed_everything(seed)
        as_task = {s: Split(part.x, part.labels("category")[task], part.ids)
                   for s, part in (("train", train), ("validation", data.validation),
                                   ("test", data.test))}
        model = build_model(standard_encoders(data), "concat",
                            num_classes=data.tasks[task], dropout=0.2)
        start = time.perf_counter()
        _, _, epochs = fit_model(model, as_task["train"], as_task["validation"], **fit)
        row = {"dataset": "emoji", "seed": seed, "model": label, "category": float("nan"),
               "subcategory": float("nan"), "seconds": time.perf_counter() - start,
               "epochs": epochs}
        row[task] = accuracy(model, as_task["test"].x, as_task["test"].y)
        yield row
    label = "category + subcategory"
    if ("emoji", seed, label) in done:
        return
    seed_everything(seed)
    model = build_multitask_model(standard_encoders(data), data.tasks, "concat", dropout=0.2)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience,
                                         restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(train.x, train.labels("category"),
                        validation_data=(data.validation.x, data.validation.labels("category")),
                        epochs=args.epochs, batch_size=args.batch_size, callbacks=[stop],
                        verbose=0)
    seconds = time.perf_counter() - start
    report = evaluate_tasks(model, data.test.x, data.test.labels("category"))
    yield {"dataset": "emoji", "seed": seed, "model": label,
           "category": report["category"]["accuracy"],
           "subcategory": report["subcategory"]["accuracy"], "seconds": seconds,
           "epochs": len(history.history["loss"])}


def _done(path):
    if not os.path.exists(path):
        return set()
    import pandas as pd

    runs = pd.read_csv(path)
    return set(zip(runs["dataset"], runs["seed"], runs["model"]))


def _append(path, row):
    import pandas as pd

    pd.DataFrame([row]).to_csv(path, mode="a", header=not os.path.exists(path), index=False)


def _dataset_seed(name, seed, args, done):
    """Yields one result row per model trained for `(name, seed)`."""
    from mmkeras import datasets
    from mmkeras.training import seed_everything

    data = datasets.load(name)
    train = data.train.take(args.train_limit, seed=seed) if args.train_limit else data.train
    for modality in data.modalities:
        path = _model_path(args.models, name, seed, modality)
        if (name, seed, f"{modality} only") in done and os.path.exists(path):
            continue
        seed_everything(seed)
        yield _unimodal(data, train, modality, seed, args, path)
    for fusion in args.fusions:
        for strategy in args.strategies:
            label = f"{fusion} / {strategy}"
            if (name, seed, label) in done:
                continue
            seed_everything(seed)
            yield _fused(data, train, fusion, strategy, seed, args)


def _model_path(folder, name, seed, modality):
    return os.path.join(folder, f"{name}_seed{seed}_{modality}_only.keras")


def _unimodal(data, train, modality, seed, args, path):
    from mmkeras.encoders import standard_encoders
    from mmkeras.training.pretraining import pretrain_encoders

    encoders = standard_encoders(data, [modality])
    start = time.perf_counter()
    model = pretrain_encoders(encoders, train, data.validation, data.num_classes,
                              epochs=args.epochs, patience=args.patience,
                              batch_size=args.batch_size, seed=seed)[modality]
    seconds = time.perf_counter() - start
    model.save(path)
    return _row(data, seed, f"{modality} only", modality, "unimodal", model, seconds,
                len(model.history.history.get("loss", [])))


def _fused(data, train, fusion, strategy, seed, args):
    """Builds and trains one fused model; evaluates its fused output."""
    from mmkeras.encoders import standard_encoders
    from mmkeras.models.builder import build_model
    from mmkeras.training.fit import fit_model

    common = dict(fusion=fusion, num_classes=data.num_classes, dropout=0.2)
    fit = dict(epochs=args.epochs, patience=args.patience, batch_size=args.batch_size, seed=seed)
    start = time.perf_counter()
    if strategy in ("plain", "modality_dropout"):
        rate = args.modality_dropout if strategy == "modality_dropout" else 0.0
        model = build_model(standard_encoders(data), modality_dropout=rate, **common)
        _, _, epochs = fit_model(model, train, data.validation, checkpoint=False, **fit)
    elif strategy.startswith("pretrain_then_fuse"):
        from mmkeras.encoders.pretrained import load_encoder
        from mmkeras.training.pretraining import fit_frozen_then_fine_tune

        encoders = {m: load_encoder(_model_path(args.models, data.name, seed, m), modality=m)
                    for m in data.modalities}
        # _dropout: the frozen encoders, and a fusion head trained with modalities dropped.
        rate = args.modality_dropout if strategy.endswith("_dropout") else 0.0
        model = build_model(encoders, modality_dropout=rate, **common)
        _, _, epochs = fit_frozen_then_fine_tune(model, train, data.validation, **fit)
    else:
        model, epochs = _fit_multi_output(data, train, fusion, strategy, args, seed)
    seconds = time.perf_counter() - start
    return _row(data, seed, f"{fusion} / {strategy}", fusion, strategy, model, seconds, epochs)


def _fit_multi_output(data, train, fusion, strategy, args, seed):
    """Auxiliary heads (joint) or OGM-GE (probe heads): returns the fused output's model."""
    import keras

    from mmkeras.encoders import standard_encoders
    from mmkeras.tasks.multitask import (
        build_multitask_model,
        compile_multitask,
        single_output,
        task_labels,
    )
    from mmkeras.training.balancing import OGMGE

    task = "label"
    mode = "joint" if strategy == "auxiliary_heads" else "probe"
    model = build_multitask_model(standard_encoders(data), {task: data.num_classes}, fusion,
                                  auxiliary_heads=mode, dropout=0.2, compile=False)
    if strategy == "ogm_ge":
        model = OGMGE(model.input, model.output, alpha=args.alpha, seed=seed)
    compile_multitask(model)
    stop = keras.callbacks.EarlyStopping(monitor=f"val_{task}_loss", mode="min", patience=args.patience,
                                         restore_best_weights=True)
    history = model.fit(train.x, task_labels(model, {task: train.y}),
                        validation_data=(data.validation.x,
                                         task_labels(model, {task: data.validation.y})),
                        epochs=args.epochs, batch_size=args.batch_size, callbacks=[stop],
                        verbose=0)
    return single_output(model, task), len(history.history["loss"])


def _row(data, seed, label, fusion, strategy, model, seconds, epochs):
    from mmkeras.evaluation import accuracy, missing_modality_accuracy

    test = data.test.select([t.name for t in model.inputs])
    row = {"dataset": data.name, "seed": seed, "model": label, "fusion": fusion,
           "strategy": strategy, "accuracy": accuracy(model, test.x, test.y),
           "seconds": seconds, "epochs": epochs}
    for m in data.modalities:
        row[f"missing_{m}"] = (missing_modality_accuracy(model, test.x, test.y, m)
                               if m in test.x and len(test.x) > 1 else float("nan"))
    return row


def write_outputs(out, command):
    """summary.csv, results.md and strategies.png from runs.csv."""
    import glob

    import pandas as pd

    from mmkeras.training import format_device_summary

    runs = pd.concat([pd.read_csv(p) for p in sorted(glob.glob(os.path.join(out, "runs_*.csv")))],
                     ignore_index=True)
    runs.to_csv(os.path.join(out, "runs.csv"), index=False)
    summary = summarize(runs)
    summary.to_csv(os.path.join(out, "summary.csv"), index=False)
    text = markdown(summary, runs, format_device_summary(), command)
    multitask = os.path.join(out, MULTITASK_RUNS)
    if os.path.exists(multitask):
        text += multitask_markdown(pd.read_csv(multitask))
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    plot(summary, os.path.join(out, "strategies.png"))


def summarize(runs):
    """Mean and std over seeds per dataset and model."""
    metrics = ["accuracy"] + sorted(c for c in runs.columns if c.startswith("missing_"))
    grouped = runs.groupby(["dataset", "model", "fusion", "strategy"], sort=False)
    summary = grouped[metrics + ["seconds"]].mean().reset_index()
    for metric in metrics:
        summary[f"{metric}_std"] = grouped[metric].std().values
    summary["seeds"] = grouped["seed"].count().values
    return summary


def verdicts(summary):
    """Per dataset and fused model: does it keep each remaining modality's unimodal
    accuracy when the other one is missing, and the plain model's full accuracy?"""
    rows = []
    for name, part in summary.groupby("dataset", sort=False):
        modalities = [c[len("missing_"):] for c in part.columns
                      if c.startswith("missing_") and not c.endswith("_std")
                      and part[c].notna().any()]
        alone = {m: part.loc[part["model"] == f"{m} only", "accuracy"] for m in modalities}
        alone = {m: float(v.iloc[0]) for m, v in alone.items() if len(v)}
        for _, r in part[part["strategy"] != "unimodal"].iterrows():
            plain = part[(part["fusion"] == r["fusion"]) & (part["strategy"] == "plain")]
            verdict = {"dataset": name, "model": r["model"], "accuracy": r["accuracy"],
                       "vs_plain": r["accuracy"] - float(plain["accuracy"].iloc[0])}
            for m in modalities:
                others = [o for o in modalities if o != m]
                # With m missing, the model should match the other modality's own model.
                verdict[f"gap_missing_{m}"] = r[f"missing_{m}"] - alone[others[0]]
            rows.append(verdict)
    import pandas as pd

    return pd.DataFrame(rows)


def markdown(summary, runs, machine, command):
    lines = ["# Training strategies against modality imbalance", "",
             f"Machine: {machine}. Command: `{command}`. 'seconds' is one run's training "
             "wall time (the study shared the 2 cores with other jobs).",
             f"Seeds {sorted(runs['seed'].unique().tolist())}; mean ± std over seeds; "
             "'missing X' is the test accuracy with modality X missing (zeros, or the "
             "modality-dropout replacement where the model has one).", ""]
    for name, part in summary.groupby("dataset", sort=False):
        modalities = [c[len("missing_"):] for c in part.columns
                      if c.startswith("missing_") and not c.endswith("_std")
                      and part[c].notna().any()]
        lines += [f"## {name}", "",
                  "| model | accuracy | " + " | ".join(f"missing {m}" for m in modalities)
                  + " | seconds |", "|---|---|" + "---|" * len(modalities) + "---|"]
        for _, r in part.iterrows():
            cells = [f"{r['accuracy']:.3f} ± {r['accuracy_std']:.3f}"]
            cells += [("—" if r[f"missing_{m}"] != r[f"missing_{m}"] else
                       f"{r[f'missing_{m}']:.3f} ± {r[f'missing_{m}_std']:.3f}")
                      for m in modalities]
            lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {r['seconds']:.0f} |")
        lines.append("")
    table = verdicts(summary)
    lines += ["## Does a remedy keep the other modality's unimodal accuracy?", "",
              "gap = accuracy with X missing − accuracy of the remaining modality's own "
              "model (≥ 0 means at least as good); vs plain = full-input accuracy − the same "
              "fusion trained plainly.", ""]
    gap_columns = [c for c in table.columns if c.startswith("gap_")]
    lines += ["| dataset | model | accuracy | vs plain | "
              + " | ".join(c.replace("gap_", "gap ").replace("_", " ") for c in gap_columns)
              + " | holds |", "|---|---|---|---|" + "---|" * len(gap_columns) + "---|"]
    for _, r in table.iterrows():
        gaps = [r[c] for c in gap_columns if r[c] == r[c]]
        holds = all(g >= 0 for g in gaps) and r["vs_plain"] >= -0.01
        lines.append(f"| {r['dataset']} | {r['model']} | {r['accuracy']:.3f} | "
                     f"{r['vs_plain']:+.3f} | "
                     + " | ".join("—" if r[c] != r[c] else f"{r[c]:+.3f}" for c in gap_columns)
                     + f" | {'yes' if holds else 'no'} |")
    lines.append("")
    lines.append("'holds': every gap ≥ 0 and full-input accuracy at most 0.01 below plain.")
    return "\n".join(lines + [""] + strategy_means(table, gap_columns)) + "\n"


def strategy_means(table, gap_columns):
    """Per dataset and strategy, the mean over the fusions of accuracy, vs plain and the
    worst (lowest) gap of each model."""
    table = table.assign(strategy=table["model"].str.split(" / ").str[1],
                         worst_gap=table[gap_columns].min(axis=1))
    means = table.groupby(["dataset", "strategy"], sort=False)[
        ["accuracy", "vs_plain", "worst_gap"]].mean()
    lines = ["## Each strategy, mean over the fusions", "",
             "worst gap = the lower of a model's two gaps, averaged over the fusions.", "",
             "| dataset | strategy | accuracy | vs plain | worst gap |", "|---|---|---|---|---|"]
    lines += [f"| {d} | {k} | {r['accuracy']:.3f} | {r['vs_plain']:+.3f} | "
              f"{r['worst_gap']:+.3f} |" for (d, k), r in means.iterrows()]
    return lines


def multitask_markdown(runs):
    """Mean ± std test accuracy per task: single-task models vs one multi-task model."""
    grouped = runs.groupby("model", sort=False)
    lines = ["", "## emoji: one model for category and subcategory vs one model each", "",
             "concat fusion, same encoders and schedule; early stopping on the validation loss "
             "(the sum of both tasks' losses for the multi-task model).", "",
             "| model | category accuracy | subcategory accuracy | seconds |",
             "|---|---|---|---|"]
    for model, part in grouped:
        cells = []
        for task in ("category", "subcategory"):
            values = part[task].dropna()
            cells.append("—" if values.empty else f"{values.mean():.3f} ± {values.std():.3f}")
        lines.append(f"| {model} | {cells[0]} | {cells[1]} | {part['seconds'].mean():.0f} |")
    return "\n".join(lines) + "\n"


def _plot_order(model):
    fusion, strategy = model.split(" / ")
    return (FUSIONS.index(fusion) if fusion in FUSIONS else len(FUSIONS),
            STRATEGIES.index(strategy) if strategy in STRATEGIES else len(STRATEGIES))


def plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["dataset"].unique())
    fig, axes = plt.subplots(1, len(names), figsize=(7 * len(names), 4.5), squeeze=False)
    for ax, name in zip(axes[0], names):
        part = summary[summary["dataset"] == name]
        # Grouped by fusion, strategies in the study's order.
        fused = part[part["strategy"] != "unimodal"].sort_values(
            "model", key=lambda c: c.map(lambda m: _plot_order(m)))
        modalities = [c[len("missing_"):] for c in part.columns
                      if c.startswith("missing_") and not c.endswith("_std")
                      and part[c].notna().any()]
        x = np.arange(len(fused))
        width = 0.8 / (1 + len(modalities))
        ax.bar(x, fused["accuracy"], width, label="all inputs", color="C0")
        for i, m in enumerate(modalities):
            color = f"C{i + 1}"
            ax.bar(x + (i + 1) * width, fused[f"missing_{m}"], width, label=f"{m} missing",
                   color=color)
            # The bar "m missing" is to be read against the other modality's own model.
            for other in (o for o in modalities if o != m):
                alone = part.loc[part["model"] == f"{other} only", "accuracy"]
                if len(alone):
                    ax.axhline(float(alone.iloc[0]), linestyle="--", color=color, linewidth=1,
                               label=f"{other} only (unimodal)")
        ax.set_xticks(x + width * len(modalities) / 2)
        ax.set_xticklabels(fused["model"], rotation=70, ha="right", fontsize=7)
        ax.set_ylabel("test accuracy")
        ax.set_title(name)
        ax.set_ylim(0, 1.0)
        ax.legend(fontsize=7, ncol=3, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
