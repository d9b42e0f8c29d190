"""The one dataset type: splits of named arrays plus what is needed to read new inputs.

Every loader returns a `MultimodalDataset`, whether its data is embedded in
`data/` or read from the user's files (`from_dataframe`, `from_folder`), so
everything that takes a dataset (`compare`, `standard_encoders`,
`check_inputs`, `to_tf_dataset`, evaluation, the CLI) takes either.
"""

import dataclasses

import numpy as np

from mmkeras.utils import validation


def _check_modalities(modalities, available):
    """`modalities` as a list (one name or several), all of them in `available`."""
    modalities = [modalities] if isinstance(modalities, str) else list(modalities)
    unknown = [m for m in modalities if m not in available]
    if unknown or not modalities:
        raise ValueError(f"Unknown modalities. Received: {modalities}; available: {available}")
    return modalities


@dataclasses.dataclass
class Split:
    """One split of a dataset.

    Attributes:
        x: `{modality: array}`, the model inputs, first axis = samples.
        y: Integer labels, `(samples,)`.
        ids: Per-sample ids (file path or item id), so a prediction can be
            traced back to its item; default `"0", "1", ...`.
        missing: `{modality: bool array}`, `True` where that modality is
            absent for the sample (its input is then all zeros, as in the
            robustness checks and `ModalityDropout`). Modalities never missing
            may be left out.
        targets: `{task: integer labels}`, extra label columns for
            multi-task models (e.g. emoji `subcategory` beside the
            `category` in `y`); empty for single-task data. `y` stays the
            main label everywhere else; `labels(main)` gives all of them.
    """

    x: dict
    y: np.ndarray
    ids: np.ndarray = None
    missing: dict = None
    targets: dict = None

    def __post_init__(self):
        self.y = np.asarray(self.y)
        self.ids = (np.arange(len(self.y)).astype(str) if self.ids is None
                    else np.asarray(self.ids).astype(str))
        self.missing = {m: np.asarray(v, dtype=bool) for m, v in (self.missing or {}).items()}
        self.targets = {t: np.asarray(v) for t, v in (self.targets or {}).items()}
        sizes = {k: len(v) for k, v in self.x.items()}
        sizes.update(labels=len(self.y), ids=len(self.ids))
        sizes.update({f"missing[{m}]": len(v) for m, v in self.missing.items()})
        sizes.update({f"targets[{t}]": len(v) for t, v in self.targets.items()})
        if len(set(sizes.values())) > 1:
            raise ValueError(f"Every array of a split needs the same number of samples. "
                             f"Received: {sizes}")

    def __len__(self):
        return len(self.y)

    @property
    def modalities(self):
        return list(self.x)

    def labels(self, main="label"):
        """`{main: y, **targets}`: every label column, keyed by task (multi-task `fit`)."""
        if main in self.targets:
            raise ValueError(f"The main task's name is also an extra target. Received: "
                             f"main={main!r}; targets: {sorted(self.targets)}")
        return {main: self.y, **self.targets}

    def select(self, modalities):
        """The same samples with only some modalities (e.g. a unimodal baseline)."""
        modalities = _check_modalities(modalities, sorted(self.x))
        return Split({m: self.x[m] for m in modalities}, self.y, self.ids,
                     {m: v for m, v in self.missing.items() if m in modalities}, self.targets)

    def subset(self, index):
        """The samples at `index` (integer indices or a boolean mask)."""
        index = np.asarray(index)
        return Split({k: v[index] for k, v in self.x.items()}, self.y[index], self.ids[index],
                     {m: v[index] for m, v in self.missing.items()},
                     {t: v[index] for t, v in self.targets.items()})

    def take(self, n, seed=0):
        """A random subset of `n` samples (all of them if there are fewer), in their
        original order (for quick runs)."""
        n = min(validation.check_positive_int("n", n), len(self))
        return self.subset(np.sort(np.random.default_rng(seed).permutation(len(self))[:n]))

    @staticmethod
    def concatenate(splits):
        """One split holding the samples of `splits`, in order (e.g. train + validation)."""
        splits = list(splits)
        first = splits[0]
        return Split({m: np.concatenate([s.x[m] for s in splits]) for m in first.x},
                     np.concatenate([s.y for s in splits]),
                     np.concatenate([s.ids for s in splits]),
                     {m: np.concatenate([s.missing.get(m, np.zeros(len(s), bool)) for s in splits])
                      for m in set().union(*(s.missing for s in splits))},
                     _concatenate_targets(splits))

    def missing_counts(self):
        """`{modality: samples where it is missing}`."""
        return {m: int(v.sum()) for m, v in self.missing.items()}


def _concatenate_targets(splits):
    names = [sorted(s.targets) for s in splits]
    if any(n != names[0] for n in names):
        raise ValueError(f"Splits with different extra targets cannot be joined. Received: {names}")
    return {t: np.concatenate([s.targets[t] for s in splits]) for t in names[0]}


@dataclasses.dataclass
class MultimodalDataset:
    """A loaded dataset, embedded or read from files.

    Attributes:
        name: Registry name, or the name given to `from_dataframe`.
        splits: `{"train": Split, "validation": Split, "test": Split}`.
        class_names: Label `i` is `class_names[i]`.
        input_shapes: `{modality: shape without batch axis}`, `None` = variable.
        vocabulary: Token list of the text modality (index = id), or `None`.
        description: What the data is, where it comes from, its license.
        preprocessor: The `mmkeras.preprocessing.Preprocessor` that turns raw
            inputs (file paths, strings, waveforms) into these model inputs;
            save it with a model (`mmkeras.save_predictor`) to predict on new
            files.
        report: What reading the data found: `{"rows": n, "missing": {modality:
            count}, "skipped": {row: reason}}` (empty for embedded data).
        label: Name of the main label (`Split.y`), the key of its output in
            a multi-task model.
        target_names: `{task: class names}` of the splits' extra targets
            (`Split.targets`); empty for single-task data.
    """

    name: str
    splits: dict
    class_names: list
    input_shapes: dict
    vocabulary: list = None
    description: str = ""
    preprocessor: object = None
    report: dict = dataclasses.field(default_factory=dict)
    label: str = "label"
    target_names: dict = dataclasses.field(default_factory=dict)

    @property
    def train(self):
        return self.splits["train"]

    @property
    def validation(self):
        return self.splits["validation"]

    @property
    def test(self):
        return self.splits["test"]

    @property
    def modalities(self):
        return list(self.input_shapes)

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def tasks(self):
        """`{task: number of classes}`: the main label first, then the extra targets."""
        return {self.label: self.num_classes,
                **{t: len(names) for t, names in self.target_names.items()}}

    @property
    def skipped(self):
        """`{row: reason}` of the rows left out while reading files."""
        return dict(self.report.get("skipped", {}))

    def select(self, modalities):
        """The same dataset with only some modalities."""
        modalities = _check_modalities(modalities, self.modalities)
        preprocessor = self.preprocessor.select(modalities) if self.preprocessor else None
        return dataclasses.replace(
            self, splits={k: s.select(modalities) for k, s in self.splits.items()},
            input_shapes={m: self.input_shapes[m] for m in modalities},
            vocabulary=self.vocabulary if "text" in modalities else None,
            preprocessor=preprocessor)

    def __repr__(self):
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        shapes = ", ".join(f"{k}{tuple(v)}" for k, v in self.input_shapes.items())
        text = (f"MultimodalDataset({self.name!r}: {sizes}; inputs {shapes}; "
                f"{self.num_classes} classes")
        missing = {m: n for m, n in self.report.get("missing", {}).items() if n}
        if missing:
            text += f"; missing {missing}"
        if self.skipped:
            text += f"; {len(self.skipped)} rows skipped"
        return text + ")"
