"""`compare`: the fusion comparison study, from one call (a thin driver over `Study`)."""

import dataclasses
import os

from mmkeras import datasets
from mmkeras.experiments.executors import study_executor
from mmkeras.experiments.presets import PRESETS
from mmkeras.experiments.study import Study, StudySettings
from mmkeras.fusion import FUSIONS
from mmkeras.utils import validation

STUDY_OPTIONS = ("baselines", "cv_folds", "train_limit")
SETTINGS = {f.name for f in dataclasses.fields(StudySettings)} - {"epochs", "out"}


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


def compare(dataset="av_digits", fusions=None, seeds=None, epochs=None, preset="quick",
            out=None, *, workers=1, executor="local", address=None, figures=True,
            dataset_options=None, **options):
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
            models (`models/`), and the record of finished runs
            (`runs.jsonl`) that lets an interrupted study resume. `None`: in
            memory.
        workers: Train this many runs at once, each in its own process with
            its share of the CPU cores (`mmkeras.experiments.workers`);
            `"auto"`: 2 on a CPU-only machine with 2 or more cores, else 1.
            Each run is seeded on its own, so the results match a sequential
            study up to float rounding (a worker computes with fewer threads).
        executor: `"local"` (this machine, `workers` processes) or `"ray"`:
            each run (and each tuning trial) a Ray task on the cluster at
            `address`, one GPU per run on a cluster with GPUs, the results
            written here in plan order (`pip install "mmkeras[ray]"`; see
            `mmkeras.experiments.ray_executor.RayExecutor`, which you may
            also pass). The results and files are those of a local study.
        address: With `executor="ray"`: `None` (`RAY_ADDRESS`, else a new
            local cluster of this machine, stopped at the end), `"auto"`
            (the cluster `ray start` started here) or `"HOST:PORT"`.
        figures: Write PNG figures to `out`.
        dataset_options: Keyword arguments for `datasets.load`.
        **options: The study's options:
            `baselines` (also one unimodal model per modality, default True),
            `cv_folds` (k-fold cross-validation on train+validation),
            `train_limit` (use this many training samples), and the
            `StudySettings`: `batch_size` (64), `patience` (from the preset),
            `robustness` (True: accuracy with a modality missing and under
            noise), `save_models` (True: each trained model, with the
            dataset's preprocessor, in `out/models/`), `verbose` (1: a line
            per run), `bucketing` (True: length-bucketed batches), `tune` (a
            KerasTuner budget of trials per model, selected on validation;
            `None`: the fixed defaults).

    Returns:
        `(results, summary)`: one row per run, and mean ± std per model.
    """
    validation.check_choice("preset", preset, PRESETS)
    defaults = PRESETS[preset]
    fusions = list(fusions or defaults["fusions"] or sorted(FUSIONS))
    unknown = [f for f in fusions if f not in FUSIONS]
    if unknown:
        raise ValueError(f"Unknown fusions. Received: {unknown}; expected some of "
                         f"{sorted(FUSIONS)}")
    seeds = [validation.check_non_negative_int("seed", s)
             for s in (seeds if seeds is not None else defaults["seeds"])]
    study_options = {k: options.pop(k) for k in STUDY_OPTIONS if k in options}
    unknown = sorted(set(options) - SETTINGS)
    if unknown:
        raise TypeError(f"compare() got unknown options {unknown}; it takes "
                        f"{sorted(SETTINGS | set(STUDY_OPTIONS))}")
    if options.get("tune") is not None:
        validation.check_positive_int("tune", options["tune"])
    options.setdefault("patience", defaults["patience"])
    settings = StudySettings(epochs=defaults["epochs"] if epochs is None else epochs,
                             out=out, **{**options, "tune": options.get("tune") or 0})
    executor = study_executor(executor, workers, fusions, address, settings.verbose)
    data = load_dataset(dataset, dataset_options)
    if out is not None:
        check_output_dir(out)
    study = Study(data, fusions, seeds, settings, dataset_options=dataset_options,
                  **study_options)
    study.run(executor)
    from mmkeras.training import format_device_summary

    return study.report(figures=figures, machine=format_device_summary())


def load_dataset(dataset, dataset_options=None):
    """A multimodal `MultimodalDataset`, or the embedded one of that name."""
    if isinstance(dataset, str):
        validation.check_choice("dataset", dataset, datasets.DATASETS)
        dataset = datasets.load(dataset, **(dataset_options or {}))
    elif not isinstance(dataset, datasets.MultimodalDataset):
        raise TypeError(f"`dataset` must be a MultimodalDataset (datasets.load, "
                        f"datasets.from_dataframe) or a name. Received: {type(dataset).__name__}")
    if len(dataset.modalities) < 2:
        raise ValueError(f"compare needs a multimodal dataset. Received: {dataset.name!r} with "
                         f"modalities {dataset.modalities}")
    return dataset
