"""One run of a study: build, train, score, keep its files. Every executor calls `run_one`.

The steps are separate functions so that each can be read (and tested) on
its own: `build_run_model` (the defaults, or the best of a tuning search),
`score_run` (test metrics, latency, robustness), `keep_run_files` (confusion
matrix, the trained model with its preprocessor).

A tuned run searches first: `trial_tasks` lists its trials and `run_trial`
trains one. `run_one` runs them one after the other; an executor that trains
them side by side (Ray) passes the chosen values back in through
`run_tuned`, which calls `run_one` — the same run either way.
"""

import json
import os
import shutil

import numpy as np

from mmkeras.encoders import standard_encoders
from mmkeras.evaluation import evaluate_classifier, robustness_report
from mmkeras.experiments import tuning
from mmkeras.experiments.runs import file_name, run_dir
from mmkeras.models import MultimodalClassifier, build_model
from mmkeras.training import fit_model, predict_latency, seed_everything

# Batches per compiled train call: the same updates with less Python overhead per
# batch; 4 trained the small models about 20 % faster on a 2-core CPU
# (benchmarks/results/bucketing.md).
STEPS_PER_EXECUTION = 4


def run_one(data, spec, train, validation, settings, key, hyperparameters=None):
    """Trains and scores one `RunSpec`: `(row, robustness curves, history)`.

    Args:
        data: The study's `MultimodalDataset` (its test split scores the run).
        spec: The `RunSpec`.
        train, validation: The run's `Split`s (a fold's, or the fixed ones).
        settings: The study's `StudySettings` (budget, schedule, output).
        key: The run's key in the result store.
        hyperparameters: With `settings.tune`, the values its search chose
            (`run_tuned`); `None`: search here first.
    """
    seed_everything(spec.seed)
    modalities = list(spec.modalities)
    tr, va, te = (s.select(modalities) for s in (train, validation, data.test))
    model, tuned = build_run_model(data, spec, tr, va, settings, hyperparameters)
    folder = None if settings.out is None else run_dir(settings.out, key)
    history, seconds, epochs_run = fit_model(
        model, (tr.x, tr.y), (va.x, va.y), epochs=settings.epochs,
        batch_size=settings.batch_size, run_dir=folder, patience=settings.patience,
        verbose=1 if settings.verbose > 1 else 0, checkpoint=False,
        bucketing=settings.bucketing, seed=spec.seed)
    row, curves, confusion = score_run(model, data, spec, te, settings.robustness)
    row.update(run=key, train_seconds=seconds, epochs_run=epochs_run)
    if "val_accuracy" in history:
        row["val_accuracy"] = float(max(history["val_accuracy"]))
    if tuned:
        row["hyperparameters"] = json.dumps(tuned, sort_keys=True)
    if settings.out is not None:
        keep_run_files(model, data, modalities, settings, key, confusion)
    return row, curves, history


def build_run_model(data, spec, train, validation, settings, hyperparameters=None):
    """`(model, tuned values or None)`: the defaults, or the best of a tuning search
    (`hyperparameters` when the search was done elsewhere)."""
    build = model_builder(data, spec)
    if not settings.tune:
        return build({}), None
    values = hyperparameters
    if values is None:
        trials = [task[-1] for task in trial_tasks(spec, train, validation, settings)]
        scores = [run_trial(data, spec, train, validation, settings, v) for v in trials]
        values = tuning.best_values(trials, scores)
    seed_everything(spec.seed)
    return build(values), values


def model_builder(data, spec):
    """`build(values) -> compiled model` of `spec`: the defaults for `{}`, else the
    tuned learning rate, dropout and fusion width/heads."""
    modalities = list(spec.modalities)

    def build(values):
        fusion = spec.fusion if not values else tuning.fusion_layer(spec.fusion, values)
        return build_model(standard_encoders(data, modalities), fusion=fusion,
                           num_classes=data.num_classes, dropout=values.get("dropout", 0.2),
                           learning_rate=values.get("learning_rate", 1e-3),
                           steps_per_execution=STEPS_PER_EXECUTION)

    return build


def trial_tasks(spec, train, validation, settings):
    """`run_trial`'s arguments (after the dataset) for each trial of `spec`'s search:
    `settings.tune` trials drawn by KerasTuner's `RandomSearch` seeded by the run."""
    values = tuning.trial_values(spec.fusion, settings.tune, spec.seed,
                                 unimodal=spec.kind == "unimodal")
    return [(spec, train, validation, settings, v) for v in values]


def run_trial(data, spec, train, validation, settings, values):
    """Trains one tuning trial of `spec` with `values`: its best validation accuracy.

    Trains with the run's budget and schedule, from the run's seed, so its score
    is the same wherever and in whatever order the trials run.
    """
    modalities = list(spec.modalities)
    tr, va = (s.select(modalities) for s in (train, validation))
    return tuning.train_trial(
        model_builder(data, spec), tr, va, values, epochs=settings.epochs,
        batch_size=settings.batch_size, patience=settings.patience or settings.epochs,
        seed=spec.seed, bucketing=settings.bucketing)


def run_tuned(data, spec, train, validation, settings, key, trials, *scores):
    """`run_one` with the best of `trials` (value dicts) given their `scores`: how an
    executor that trained the trials elsewhere finishes the run."""
    return run_one(data, spec, train, validation, settings, key,
                   hyperparameters=tuning.best_values(list(trials), list(scores)))


def score_run(model, data, spec, test, robustness=True):
    """`(row, curves, confusion matrix)`: test metrics, size, latency and robustness."""
    metrics = evaluate_classifier(model, test.x, test.y, data.class_names)
    row = {"dataset": data.name, "model": spec.label, "kind": spec.kind, "fusion": spec.fusion,
           "modalities": "+".join(spec.modalities), "seed": spec.seed, "fold": spec.fold,
           "test_accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
           "parameters": model.count_params(),
           "latency_ms": 1000 * predict_latency(model, test.x)}
    curves = []
    if robustness:
        curves, summary = robustness_report(model, test.x, test.y, seed=spec.seed)
        row.update(summary)
    return row, curves, metrics["confusion_matrix"]


def keep_run_files(model, data, modalities, settings, key, confusion):
    """The run's confusion matrix and, with `save_models`, the trained model with the
    dataset's preprocessor (a `MultimodalClassifier`); the resume backup is removed."""
    folder = run_dir(settings.out, key)
    os.makedirs(folder, exist_ok=True)
    np.savetxt(os.path.join(folder, "confusion_matrix.csv"), confusion, fmt="%d", delimiter=",")
    shutil.rmtree(os.path.join(folder, "backup"), ignore_errors=True)
    if settings.save_models:
        path = os.path.join(settings.out, "models", file_name(key) + ".keras")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        preprocessor = None if data.preprocessor is None else data.preprocessor.select(modalities)
        MultimodalClassifier(model, preprocessor).save(path)
