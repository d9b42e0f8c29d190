"""`Study`: a fusion comparison as an object — its plan, one run at a time, the record, the report.

`compare` is a thin driver over it. The parts are separate so that each can
be used alone and so that any executor (this process, worker processes, a
Ray cluster) runs the same `training_run.run_one` on the planned `RunSpec`s,
while the study records the finished runs in plan order.
"""

import dataclasses

import pandas as pd

from mmkeras.experiments import runs as runs_lib
from mmkeras.experiments import training_run
from mmkeras.experiments.interrupts import kept_interrupts
from mmkeras.experiments.progress import Progress
from mmkeras.experiments.result_store import ResultStore, study_settings
from mmkeras.experiments.summary import summarize
from mmkeras.utils import validation


@dataclasses.dataclass(frozen=True)
class StudySettings:
    """The budget and schedule every run of a study shares, checked on creation.

    Attributes:
        epochs: Maximum epochs per run.
        batch_size: Batch size.
        patience: Early-stopping patience (`None`: no early stopping).
        robustness: Score each model with a modality missing and under noise.
        out: The study's folder, or `None` (in memory).
        save_models: Keep each trained model in `out/models/`.
        verbose: 0 silent, 1 a line per run, 2 also Keras' progress.
        bucketing: Length-bucketed batches (see `fit_model`).
        tune: A KerasTuner budget per model (0: the fixed defaults).
    """

    epochs: int
    batch_size: int = 64
    patience: object = None
    robustness: bool = True
    out: object = None
    save_models: bool = True
    verbose: int = 1
    bucketing: bool = True
    tune: int = 0

    def __post_init__(self):
        check = {"epochs": validation.check_positive_int(
                     "epochs", self.epochs),
                 "batch_size": validation.check_positive_int("batch_size", self.batch_size),
                 "patience": validation.check_non_negative_int("patience", self.patience,
                                                               allow_none=True),
                 "robustness": validation.check_bool("robustness", self.robustness),
                 "bucketing": validation.check_bool("bucketing", bool(self.bucketing)),
                 "tune": validation.check_non_negative_int("tune", self.tune or 0)}
        for name, value in check.items():
            object.__setattr__(self, name, value)


class Study:
    """The runs of a fusion comparison on one dataset, and their results.

    Args:
        data: A `MultimodalDataset` with two or more modalities.
        fusions: Fusion names; each is trained on the same encoders.
        seeds: Seeds; every model is trained once per seed (and fold).
        settings: `StudySettings`.
        baselines: Also one unimodal model per modality.
        cv_folds: k-fold cross-validation on train+validation instead of
            the fixed split (the test split stays the same).
        train_limit: Use only this many training samples.
        dataset_options: The options the dataset was loaded with (recorded).
    """

    def __init__(self, data, fusions, seeds, settings, *, baselines=True, cv_folds=None,
                 train_limit=None, dataset_options=None):
        cv_folds = validation.check_int("cv_folds", cv_folds, minimum=2, allow_none=True)
        train_limit = validation.check_positive_int("train_limit", train_limit, allow_none=True)
        self.data, self.settings = data, settings
        recorded = dict(dataset_options=dataset_options, epochs=settings.epochs,
                        patience=settings.patience, batch_size=settings.batch_size,
                        train_limit=train_limit, cv_folds=cv_folds,
                        robustness=settings.robustness, encoders="standard_encoders",
                        build_options={"dropout": 0.2}, bucketing=settings.bucketing)
        if settings.tune:
            recorded["tune"] = settings.tune
        # Settings that change results: a folder holding another study is refused.
        self.store = ResultStore(settings.out, settings=study_settings(data, **recorded),
                                 data=data)
        self.plan = runs_lib.plan(data, fusions, seeds, cv_folds, baselines, train_limit)
        self.fusions = sorted({spec.fusion for spec, _, _ in self.plan})

    def key(self, spec):
        return spec.key(self.data.name)

    def pending(self):
        """`run_one`'s arguments (after the dataset) for each run not yet recorded."""
        return [(spec, train, validation, self.settings, self.key(spec))
                for spec, train, validation in self.plan if not self.store.done(self.key(spec))]

    def run(self, executor):
        """Runs what is pending with `executor` (`executor(function, shared, tasks)`
        yields `function(*shared, *task)` for each task, in order) and records each
        finished run at once, so that an interrupted study resumes.

        A tuned study on an executor with `fan_in` (Ray) trains every trial as a
        task of its own: the runs' `trial_tasks` first, then `run_tuned` with
        their scores; other executors search inside `run_one`, trial after trial.
        """
        progress = Progress(len(self.plan), self.settings.verbose)
        for spec, _, _ in self.plan:
            if self.store.done(self.key(spec)):
                progress.skipped(self.key(spec))
        tasks = self.pending()
        if self.settings.tune and hasattr(executor, "fan_in"):
            trials = [training_run.trial_tasks(*task[:4]) for task in tasks]
            results = executor.fan_in(
                training_run.run_tuned, (self.data,),
                [task + (tuple(t[-1] for t in own),) for task, own in zip(tasks, trials)],
                [(training_run.run_trial, own) for own in trials])
        else:
            results = executor(training_run.run_one, (self.data,), tasks)
        try:
            with kept_interrupts() as stop_if_interrupted:
                for task, result in zip(tasks, results):
                    self.record(*result)
                    progress.finished(task[0], result[0])
                    stop_if_interrupted()  # a Ctrl-C a library swallowed
        finally:  # interrupted: stop the executor's runs now, not when collected
            getattr(results, "close", lambda: None)()
        return self.results()

    def record(self, row, curves=(), history=None):
        """Stores one finished run (`run_one`'s result)."""
        self.store.add(row, curves, history)

    def results(self):
        """One row per recorded run, in plan order."""
        order = {self.key(spec): i for i, (spec, _, _) in enumerate(self.plan)}
        rows = sorted((r for r in self.store.rows if r["run"] in order),
                      key=lambda r: order[r["run"]])
        return pd.DataFrame(rows)

    def report(self, figures=True, machine=None):
        """`(results, summary)`; with an output folder, its tables and figures too."""
        from mmkeras.experiments import report

        results = self.results()
        summary = summarize(results)
        out = self.settings.out
        if out is not None:
            curves = self.store.robustness()
            report.write_tables(out, self.data, results, summary, curves, machine)
            if figures:
                report.write_figures(out, self.data, results, summary, curves,
                                     self.store.histories)
        return results, summary
