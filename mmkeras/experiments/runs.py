"""The runs of a study: which models, seeds and folds, on which splits."""

import dataclasses
import os
import re


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
        """The id of the run in the result store (one record per key)."""
        return f"{dataset_name}|{self.label}|seed={self.seed}|fold={self.fold}"


def plan_runs(modalities, fusions, baselines=True):
    """`(label, modalities, fusion, kind)` for each model of a study."""
    runs = []
    if baselines:
        runs += [(f"{m} only", [m], "concat", "unimodal") for m in modalities]
    runs += [(f, list(modalities), f, "fusion") for f in fusions]
    return runs


def folds(dataset, cv_folds, seed):
    """`[(fold id, train Split, validation Split)]`: the fixed split, or k folds."""
    if not cv_folds:
        return [(0, dataset.train, dataset.validation)]
    from sklearn.model_selection import StratifiedKFold

    from mmkeras.datasets import Split

    pool = Split.concatenate([dataset.train, dataset.validation])
    splits = StratifiedKFold(int(cv_folds), shuffle=True, random_state=seed).split(pool.y, pool.y)
    return [(i + 1, pool.subset(a), pool.subset(b)) for i, (a, b) in enumerate(splits)]


def plan(data, fusions, seeds, cv_folds=None, baselines=True, train_limit=None):
    """`[(RunSpec, train Split, validation Split)]` in the order the study runs them."""
    planned = []
    for seed in seeds:
        for fold, train, validation in folds(data, cv_folds, seed):
            if train_limit:
                train = train.take(train_limit, seed=seed)
            for label, modalities, fusion, kind in plan_runs(data.modalities, fusions, baselines):
                planned.append((RunSpec(label, tuple(modalities), fusion, kind, seed, fold),
                                train, validation))
    return planned


def file_name(key):
    """A run key as a file name."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", key)


def run_dir(out, key):
    """The folder of one run's files (backup, log, confusion matrix)."""
    return os.path.join(out, "runs", file_name(key))
