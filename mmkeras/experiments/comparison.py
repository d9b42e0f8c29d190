"""`compare`: the fusion comparison study, from one call."""

import dataclasses
import json
import os
import re
import shutil
import time
import warnings

import numpy as np

from mmkeras import datasets
from mmkeras.builder import build_model
from mmkeras.evaluation import evaluate_classifier, robustness_report
from mmkeras.experiments import tuning
from mmkeras.experiments.presets import PRESETS
from mmkeras.experiments.result_store import ResultStore, study_settings
from mmkeras.experiments.standard_encoders import standard_encoders
from mmkeras.experiments.summary import markdown_table, summarize
from mmkeras.experiments.workers import resolve_workers, run_in_workers
from mmkeras.fusion import FUSIONS
from mmkeras.predictor import Predictor
from mmkeras.training import fit_model, format_device_summary, predict_latency, seed_everything
from mmkeras.validation import check_positive_int


# Batches per compiled train call: the same updates with less Python overhead per
# batch; 4 trained the small models about 20 % faster on a 2-core CPU
# (benchmarks/results/bucketing.md).
STEPS_PER_EXECUTION = 4


def plan_runs(modalities, fusions, baselines=True):
    """`(label, modalities, fusion, kind)` for each model of a study."""
    runs = []
    if baselines:
        runs += [(f"{m} only", [m], "concat", "unimodal") for m in modalities]
    runs += [(f, list(modalities), f, "fusion") for f in fusions]
    return runs


def _folds(dataset, cv_folds, seed):
    """`[(fold id, train Split, validation Split)]`: the fixed split, or k folds."""
    if not cv_folds:
        return [(0, dataset.train, dataset.validation)]
    from sklearn.model_selection import StratifiedKFold

    from mmkeras.datasets import Split

    pool = Split.concatenate([dataset.train, dataset.validation])
    folds = StratifiedKFold(int(cv_folds), shuffle=True, random_state=seed).split(pool.y, pool.y)
    return [(i + 1, pool.subset(a), pool.subset(b)) for i, (a, b) in enumerate(folds)]


def check_output_dir(out):
    """Raises before any training if `out` cannot be written."""
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as err:
        raise PermissionError(f"Output folder {out!r} cannot be written: {err}") from err


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One model of a study: what to build and train, and on which seed and fold."""

    label: str
    modalities: tuple
    fusion: str
    kind: str
    seed: int
    fold: int

    def key(self, dataset_name):
        """The id of the run in the result store (one row per key)."""
        return f"{dataset_name}|{self.label}|seed={self.seed}|fold={self.fold}"


@dataclasses.dataclass(frozen=True)
class StudySettings:
    """The budget and schedule every model of a study shares."""

    epochs: int
    batch_size: int
    patience: object
    robustness: bool
    out: object
    save_models: bool
    verbose: int
    bucketing: bool = True
    tune: int = 0


def compare(dataset="av_digits", fusions=None, seeds=None, epochs=None, preset="quick",
            out=None, baselines=True, cv_folds=None, batch_size=64, robustness=True,
            patience=None, train_limit=None, dataset_options=None, verbose=1,
            figures=True, save_models=True, bucketing=True, tune=None, workers=1):
    """Trains every fusion (and a unimodal baseline per modality) on the same
    encoders, budget and schedule, for several seeds, and tabulates the results.

    Args:
        dataset: A `MultimodalDataset` — embedded (`datasets.load`) or your
            own files (`datasets.from_dataframe`) — or an embedded dataset's
            name from `mmkeras.datasets.DATASETS`.
        fusions: Fusion names; default from the preset (all of `FUSIONS`).
        seeds: Seeds; default from the preset.
        epochs: Maximum epochs per model; default from the preset.
        preset: `"quick"` or `"full"` (see `PRESETS`).
        out: Folder for `results.csv`, `results.md`, figures, the trained
            models (`models/`), and the per-run records that let an
            interrupted study resume. `None`: in memory.
        baselines: Also train one unimodal model per modality.
        cv_folds: k-fold cross-validation on train+validation instead of the
            fixed split (the test split stays the same).
        batch_size: Batch size.
        robustness: Evaluate each model with a modality missing and under noise.
        patience: Early-stopping patience (the best epoch's weights are
            kept); default from the preset.
        train_limit: Use only this many training samples (quick checks).
        dataset_options: Keyword arguments for `datasets.load`.
        verbose: 0 silent, 1 one line per run and the time left, 2 also
            Keras progress.
        figures: Write PNG figures to `out`.
        save_models: Save each trained model, with the dataset's
            preprocessor, to `out/models/<run>.keras`
            (`mmkeras.load_predictor` predicts on new files with it).
        bucketing: Train on length-bucketed batches, each padded to its own
            longest sequence (see `fit_model`); `False` pads every batch to
            the stored length. Same results up to training noise, less time.
        tune: A search budget (trials per model): each fusion and baseline
            gets the same KerasTuner random search over learning rate,
            dropout and the fusion's width/heads
            (`mmkeras.experiments.tuning`), selected on validation accuracy,
            then is retrained once with its best values and tested once.
            `None`: the fixed defaults.
        workers: Train this many runs at once, each in its own process with
            its share of the CPU cores (`mmkeras.experiments.workers`);
            `"auto"`: 2 on a CPU-only machine with 2 or more cores, else 1.
            Each run is seeded on its own, so the results match a sequential
            study up to float rounding (a worker computes with fewer threads).

    Returns:
        `(results, summary)`: one row per run, and mean ± std per model.
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset. Received: preset={preset!r}; expected one of {sorted(PRESETS)}")
    preset_settings = PRESETS[preset]
    fusions = list(fusions or preset_settings["fusions"] or sorted(FUSIONS))
    unknown = [f for f in fusions if f not in FUSIONS]
    if unknown:
        raise ValueError(f"Unknown fusions. Received: {unknown}; expected some of {sorted(FUSIONS)}")
    seeds = [int(s) for s in (seeds if seeds is not None else preset_settings["seeds"])]
    epochs = (preset_settings["epochs"] if epochs is None
              else check_positive_int("epochs", epochs))
    patience = patience if patience is not None else preset_settings["patience"]
    if tune is not None:
        tune = check_positive_int("tune", tune)
    workers = resolve_workers(workers)
    data = _load(dataset, dataset_options)
    if out is not None:
        check_output_dir(out)
    # Settings that change results: a folder holding another study is refused.
    store = ResultStore(out, settings=study_settings(
        data, dataset_options=dataset_options, epochs=epochs, patience=patience,
        batch_size=batch_size, train_limit=train_limit, cv_folds=cv_folds, robustness=robustness,
        encoders="standard_encoders", build_options={"dropout": 0.2},
        bucketing=bool(bucketing), **({"tune": int(tune)} if tune else {})))
    study = StudySettings(epochs, batch_size, patience, robustness, out, save_models, verbose,
                          bool(bucketing), int(tune or 0))
    plan = _plan(data, fusions, seeds, cv_folds, baselines, train_limit)
    progress = _Progress(len(plan), verbose)
    pending = []
    for spec, train, validation in plan:
        key = spec.key(data.name)
        if store.done(key):
            progress.skipped(key)
        else:
            pending.append((spec, train, validation, study, key))
    for task, (row, curves, history) in zip(pending, _trained(data, pending, workers)):
        store.add(row, curves, history)
        progress.finished(task[0], row)
    results = store.results()
    summary = summarize(results)
    if out is not None:
        _write_outputs(out, data, results, summary, store, figures)
    return results, summary


def _load(dataset, dataset_options):
    if isinstance(dataset, str):
        if dataset not in datasets.DATASETS:
            raise ValueError(f"Unknown dataset. Received: {dataset!r}; expected one of "
                             f"{sorted(datasets.DATASETS)} or a MultimodalDataset")
        dataset = datasets.load(dataset, **(dataset_options or {}))
    elif not isinstance(dataset, datasets.MultimodalDataset):
        raise TypeError(f"`dataset` must be a MultimodalDataset (datasets.load, "
                        f"datasets.from_dataframe) or a name. Received: {type(dataset).__name__}")
    if len(dataset.modalities) < 2:
        raise ValueError(f"compare needs a multimodal dataset. Received: {dataset.name!r} with "
                         f"modalities {dataset.modalities}")
    return dataset


def _plan(data, fusions, seeds, cv_folds, baselines, train_limit):
    """`[(RunSpec, train Split, validation Split)]` in the order the study runs them."""
    plan = []
    for seed in seeds:
        for fold, train, validation in _folds(data, cv_folds, seed):
            if train_limit:
                train = train.take(train_limit, seed=seed)
            for label, modalities, fusion, kind in plan_runs(data.modalities, fusions, baselines):
                spec = RunSpec(label, tuple(modalities), fusion, kind, seed, fold)
                plan.append((spec, train, validation))
    return plan


class _Progress:
    """One line per finished run, with the time elapsed and an estimate of the time left.

    A line per run (rather than a redrawn bar) reads the same in a terminal,
    a log file and a notebook; the estimate is the mean time of the runs
    trained so far times the runs still to train.
    """

    def __init__(self, total, verbose):
        self.total, self.verbose = total, verbose
        self.count = self.trained = 0
        self.start = time.perf_counter()

    def skipped(self, key):
        self.count += 1
        if self.verbose:
            print(f"[{self.count}/{self.total}] {key}: already done, skipped", flush=True)

    def finished(self, spec, row):
        self.count += 1
        self.trained += 1
        if not self.verbose:
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.trained * (self.total - self.count)
        print(f"[{self.count}/{self.total}] {spec.label:<16} seed {spec.seed} fold {spec.fold}: "
              f"test accuracy {row['test_accuracy']:.3f}, {row['train_seconds']:.0f} s, "
              f"{row['epochs_run']} epochs ({_clock(elapsed)} elapsed, about {_clock(left)} "
              "left)", flush=True)


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


def _trained(data, tasks, workers):
    """`(row, curves, history)` of each `_run_one` task, in order, from one or more processes."""
    fusions = {task[0].fusion for task in tasks}
    if workers > 1 and len(tasks) > 1 and _shareable(fusions):
        # A fresh process knows only the built-in names: send every entry the study uses.
        entries = {n: FUSIONS[n] for n in fusions}
        return run_in_workers(_run_one, (data,), tasks, min(workers, len(tasks)),
                              setup=(_register_fusions, entries))
    return (_run_one(data, *task) for task in tasks)


def _shareable(fusions):
    """Whether worker processes can build these fusions: a class defined in
    the caller's script or notebook (`__main__`) cannot be sent to them."""
    local = sorted(n for n in fusions if FUSIONS[n][0].__module__ == "__main__")
    if local:
        warnings.warn(f"Fusions defined in __main__ ({local}) cannot be sent to worker "
                      "processes; training in this process (workers=1). Define them in a "
                      "module you import to train them in workers.", stacklevel=3)
    return not local


def _register_fusions(entries):
    """Registers a study's fusions in a worker process, the caller's own among them."""
    from mmkeras.fusion import register_fusion

    for name, (cls, defaults) in entries.items():
        register_fusion(name, cls, **defaults)


def _run_dir(out, key):
    """The folder of one run's files (backup, log, confusion matrix)."""
    return os.path.join(out, "runs", _file_name(key))


def _file_name(key):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", key)


def _run_one(data, spec, train, validation, study, key):
    seed_everything(spec.seed)
    modalities = list(spec.modalities)
    tr, va, te = (s.select(modalities) for s in (train, validation, data.test))
    model, tuned = _build(data, spec, tr, va, study)
    run_dir = None if study.out is None else _run_dir(study.out, key)
    history, seconds, epochs_run = fit_model(
        model, (tr.x, tr.y), (va.x, va.y), epochs=study.epochs, batch_size=study.batch_size,
        run_dir=run_dir, patience=study.patience, verbose=1 if study.verbose > 1 else 0,
        checkpoint=False, bucketing=study.bucketing, seed=spec.seed)
    metrics = evaluate_classifier(model, te.x, te.y, data.class_names)
    row = {"run": key, "dataset": data.name, "model": spec.label, "kind": spec.kind,
           "fusion": spec.fusion, "modalities": "+".join(modalities), "seed": spec.seed,
           "fold": spec.fold, "test_accuracy": metrics["accuracy"],
           "macro_f1": metrics["macro_f1"], "parameters": model.count_params(),
           "train_seconds": seconds, "latency_ms": 1000 * predict_latency(model, te.x),
           "epochs_run": epochs_run}
    if "val_accuracy" in history:
        row["val_accuracy"] = float(max(history["val_accuracy"]))
    if tuned:
        row["hyperparameters"] = json.dumps(tuned, sort_keys=True)
    curves = []
    if study.robustness:
        curves, summary = robustness_report(model, te.x, te.y, seed=spec.seed)
        row.update(summary)
    if run_dir is not None:
        np.savetxt(os.path.join(run_dir, "confusion_matrix.csv"), metrics["confusion_matrix"],
                   fmt="%d", delimiter=",")
        shutil.rmtree(os.path.join(run_dir, "backup"), ignore_errors=True)
    if study.out is not None and study.save_models:
        _save_model(model, data, modalities, os.path.join(study.out, "models",
                                                           _file_name(key) + ".keras"))
    return row, curves, history


def _build(data, spec, train, validation, study):
    """`(model, tuned values or None)`: the defaults, or the best of a tuning search."""
    modalities = list(spec.modalities)

    def build(values):
        fusion = spec.fusion if not values else tuning.fusion_layer(spec.fusion, values)
        return build_model(standard_encoders(data, modalities), fusion=fusion,
                           num_classes=data.num_classes, dropout=values.get("dropout", 0.2),
                           learning_rate=values.get("learning_rate", 1e-3),
                           steps_per_execution=STEPS_PER_EXECUTION)

    if not study.tune:
        return build({}), None
    values = tuning.tune_hyperparameters(
        build, (train.x, train.y), (validation.x, validation.y), study.tune, fusion=spec.fusion,
        unimodal=spec.kind == "unimodal", epochs=study.epochs, batch_size=study.batch_size,
        patience=study.patience or study.epochs, seed=spec.seed)
    seed_everything(spec.seed)
    return build(values), values


def _save_model(model, data, modalities, path):
    """The trained model with the dataset's preprocessor, or alone if it has none."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if data.preprocessor is None:
        model.save(path)
    else:
        Predictor(model, data.preprocessor.select(modalities)).save(path)


def _write_outputs(out, data, results, summary, store, figures):
    from mmkeras import plots

    results.to_csv(os.path.join(out, "results.csv"), index=False)
    summary.to_csv(os.path.join(out, "summary.csv"), index=False)
    table = markdown_table(summary, machine=format_device_summary(),
                           title=f"Fusion comparison on {data.name}")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")
    if not figures or summary.empty:
        return
    import matplotlib.pyplot as plt

    plt.close(plots.plot_accuracy(summary, os.path.join(out, "accuracy.png"),
                                  title=f"{data.name}: fusion vs unimodal baselines"))
    curves = store.robustness()
    if not curves.empty:
        plt.close(plots.plot_robustness(curves, os.path.join(out, "robustness.png")))
    first_seed = results["seed"].min()
    histories = {row["model"]: store.histories[row["run"]] for _, row in results.iterrows()
                 if row["seed"] == first_seed and row["run"] in store.histories}
    plt.close(plots.plot_training_curves(histories, os.path.join(out, "training_curves.png")))
    best = results.loc[results["test_accuracy"].idxmax()]
    matrix_path = os.path.join(_run_dir(out, best["run"]), "confusion_matrix.csv")
    if os.path.exists(matrix_path):
        matrix = np.loadtxt(matrix_path, delimiter=",", dtype=int)
        plt.close(plots.plot_confusion_matrix(
            matrix, data.class_names, os.path.join(out, "confusion_matrix.png"),
            title=f"{best['model']} (seed {best['seed']})"))
