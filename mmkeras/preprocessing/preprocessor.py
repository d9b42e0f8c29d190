"""`Preprocessor`: raw inputs (files, arrays, strings, waveforms, tables) to model inputs.

Whatever turned a dataset's raw items into arrays must travel with a model
trained on it, or the model cannot be used on new items; keras-hub pairs
each task with its preprocessor for the same reason. A `Preprocessor` holds
one converter per modality (`ImageConverter`, `TextTokenizer`,
`AudioConverter`), the class names, and the names of the table columns the
dataset was read from, so that a model trained on `photos.csv` reads
`new.csv` by the same columns. It is serialised by Keras inside the task's
`.keras` file (`mmkeras.models.MultimodalClassifier`).
"""

import json
import os
import warnings

import keras
import numpy as np

from mmkeras.preprocessing.audio_converter import AudioConverter
from mmkeras.preprocessing.converter import Converter
from mmkeras.preprocessing.image_converter import ImageConverter
from mmkeras.preprocessing.text_tokenizer import TextTokenizer

LABEL = "label"


@keras.saving.register_keras_serializable(package="mmkeras")
class Preprocessor:
    """Turns raw inputs into the arrays a model takes, one converter per modality.

    A missing value — `None`, NaN, an empty string or path, or a text with no
    word — gives all zeros for that sample (only padding for text and audio),
    as `ModalityDropout` and the robustness checks represent a missing
    modality, and is flagged in the returned `missing` dict.

    Args:
        converters: `{modality: Converter}`.
        class_names: The model's class names, label `i` = `class_names[i]`.
        columns: `{modality or "label": column name}` of the table the data
            was read from (default: the modality's own name, and `"label"`);
            `read_table` reads new tables by these names unless told others.
        dataset: Name of the dataset the settings come from (informative).

    Example:

    >>> prep = Preprocessor({"text": TextTokenizer(["<pad>", "<oov>", "red", "heart"], 4)},
    ...                     class_names=["a", "b"], columns={"text": "caption"})
    >>> x, missing = prep({"text": ["Red heart", ""]})
    >>> x["text"]
    array([[2, 3, 0, 0],
           [0, 0, 0, 0]], dtype=int32)
    >>> missing["text"]
    array([False,  True])
    >>> inputs, labels, _ = prep.read_table({"caption": ["red"], "label": ["b"]})
    >>> inputs, prep.encode_labels(labels)
    ({'text': ['red']}, array([1], dtype=int32))
    """

    def __init__(self, converters, class_names=None, columns=None, dataset=None):
        if not isinstance(converters, dict) or not converters:
            raise ValueError(f"`converters` must be a non-empty dict {{modality: converter}}. "
                             f"Received: {converters!r}")
        self.converters = {m: _converter(m, c) for m, c in converters.items()}
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        columns = dict(columns or {})
        unknown = sorted(set(columns) - set(self.converters) - {LABEL})
        if unknown:
            raise ValueError(f"`columns` names modalities this preprocessor does not read. "
                             f"Received: {unknown}; modalities: {self.modalities}")
        self.columns = {m: str(columns.get(m, m)) for m in self.converters}
        self.columns[LABEL] = str(columns.get(LABEL, LABEL))
        self.dataset = dataset

    @property
    def modalities(self):
        return list(self.converters)

    def input_shape(self, modality):
        """The model input shape of `modality` (no batch axis; `None` = variable)."""
        return self.converters[modality].input_shape

    @property
    def vocabulary(self):
        """The text converter's tokens in id order, or `None` without text."""
        text = [c for c in self.converters.values() if isinstance(c, TextTokenizer)]
        return list(text[0].vocabulary.tokens) if text else None

    def __call__(self, inputs, base_dir=None, on_error="raise"):
        """`(x, missing)`: model inputs and missing flags for a batch of raw values.

        Args:
            inputs: `{modality: sequence of raw values}`, one per sample.
            base_dir: Folder relative paths start from (default: the
                working folder).
            on_error: `"raise"`: a file that cannot be read or decoded raises
                an error naming it. `"collect"`: also return `{sample index:
                reason}` of such samples (their inputs are zeros).
        """
        unknown = sorted(set(inputs) - set(self.converters))
        absent = sorted(set(self.converters) - set(inputs))
        if unknown or absent:
            raise ValueError(f"Inputs must be keyed by {self.modalities}. Received keys: "
                             f"{sorted(inputs)} (missing: {absent}, unexpected: {unknown}); "
                             "give None for a modality that is absent")
        sizes = {m: len(v) for m, v in inputs.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"Every modality needs one value per sample. Received: {sizes}")
        x, missing, failures = {}, {}, {}
        for modality, converter in self.converters.items():
            x[modality], missing[modality], failed = converter(
                inputs[modality], base_dir=base_dir, on_error=on_error)
            failures.update({i: f"{modality}: {msg}" for i, msg in failed.items()})
        return (x, missing, failures) if on_error == "collect" else (x, missing)

    def read_table(self, table, columns=None, base_dir=None):
        """`(inputs, labels, base_dir)` from a table of raw values.

        Args:
            table: A CSV path, a pandas DataFrame or a dict of columns.
            columns: Overrides of `self.columns` for this table, e.g.
                `{"image": "path"}`.
            base_dir: Folder relative paths start from (default: the CSV's
                folder).

        Returns:
            `{modality: list of values}`, the label column's values (or
            `None` when the table has none), and the base folder.
        """
        names = {**self.columns, **dict(columns or {})}
        table, base_dir = _read(table, base_dir)
        absent = {m: names[m] for m in self.converters if names[m] not in table.columns}
        if absent:
            raise ValueError(
                f"The table has no column for {sorted(absent)}: this model reads "
                + ", ".join(f"{m} from column {c!r}" for m, c in absent.items())
                + f". Received columns: {list(table.columns)}; pass columns={{modality: "
                "column}} to read others")
        inputs = {m: table[names[m]].tolist() for m in self.converters}
        labels = table[names[LABEL]].tolist() if names[LABEL] in table.columns else None
        return inputs, labels, base_dir

    def encode_labels(self, labels):
        """Class ids (int32) from class names (or from ids, checked against the classes)."""
        values = np.asarray(labels)
        if values.dtype.kind in "biuf" or self.class_names is None:
            return values
        index = {name: i for i, name in enumerate(self.class_names)}
        unknown = sorted({str(v) for v in values.reshape(-1)} - set(index))
        if unknown:
            raise ValueError(f"Labels that are not classes of this model. Received: "
                             f"{unknown[:10]}; classes: {self.class_names}")
        return np.array([index[str(v)] for v in values.reshape(-1)], dtype="int32")

    def select(self, modalities):
        """A preprocessor for some of the modalities only."""
        return Preprocessor({m: self.converters[m] for m in modalities}, self.class_names,
                            {k: v for k, v in self.columns.items() if k in modalities
                             or k == LABEL}, self.dataset)

    def get_config(self):
        return {"converters": {m: keras.saving.serialize_keras_object(c)
                               for m, c in self.converters.items()},
                "class_names": self.class_names, "columns": dict(self.columns),
                "dataset": self.dataset}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "inputs" in config:  # written by mmkeras 0.1: spec dicts with a "kind"
            config["converters"] = config.pop("inputs")
        config["converters"] = {m: c if isinstance(c, Converter) or "kind" in c
                                else keras.saving.deserialize_keras_object(c)
                                for m, c in config["converters"].items()}
        return cls(**config)

    def to_json(self):
        return json.dumps(self.get_config())

    @classmethod
    def from_json(cls, text):
        try:
            config = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"The preprocessor is not valid JSON: {err}") from err
        return cls.from_config(config)

    def __repr__(self):
        parts = ", ".join(f"{m}: {c!r}" for m, c in self.converters.items())
        classes = len(self.class_names) if self.class_names else 0
        return f"Preprocessor({parts}; {classes} classes)"


def as_columns(inputs, modalities):
    """`{modality: list}` with one value per sample from a dict of raw values;
    a modality left out is missing (`None`) for every sample."""
    if not isinstance(inputs, dict):
        raise TypeError(f"Raw inputs must be a dict {{modality: values}}, a DataFrame or a CSV "
                        f"path. Received: {type(inputs).__name__}")
    columns = {}
    for modality, values in inputs.items():
        if isinstance(values, (str, bytes, os.PathLike)) or (
                isinstance(values, np.ndarray) and values.ndim == 0):
            values = [values]
        columns[modality] = list(values)
    sizes = {len(v) for v in columns.values()}
    if len(sizes) > 1:
        raise ValueError("Every modality needs one value per sample. Received: "
                         + ", ".join(f"{m}={len(v)}" for m, v in columns.items()))
    samples = sizes.pop() if sizes else 0
    for modality in modalities:
        columns.setdefault(modality, [None] * samples)
    return columns


def _read(table, base_dir):
    """`(DataFrame of strings, base_dir)` from a CSV path, a DataFrame or a dict."""
    import pandas as pd

    if isinstance(table, (str, os.PathLike)):
        path = os.fspath(table)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"CSV file not found. Received: {path!r}")
        base_dir = base_dir or os.path.dirname(os.path.abspath(path))
        return pd.read_csv(path, keep_default_na=False, dtype=str), base_dir
    if isinstance(table, dict):
        return pd.DataFrame(table), base_dir
    if hasattr(table, "columns"):
        return table, base_dir
    raise TypeError(f"A table must be a CSV path, a DataFrame or a dict of columns. "
                    f"Received: {type(table).__name__}")


def _converter(modality, converter):
    if isinstance(converter, Converter):
        return converter
    if isinstance(converter, dict) and "kind" in converter:
        warnings.warn("Preprocessor specs with a 'kind' are deprecated; pass converters "
                      "(ImageConverter, TextTokenizer, AudioConverter).", DeprecationWarning,
                      stacklevel=3)
        return from_spec(converter)
    raise ValueError(f"The converter for {modality!r} must be an ImageConverter, TextTokenizer "
                     f"or AudioConverter. Received: {converter!r}")


def from_spec(spec):
    """The converter for a preprocessor spec of mmkeras 0.1 (`{"kind": ..., ...}`)."""
    kind = spec.get("kind")
    if kind == "image":
        return ImageConverter(spec["size"], spec.get("color", "rgb"))
    if kind == "text":
        return TextTokenizer(spec["vocabulary"], spec["sequence_length"],
                             spec.get("tokenizer", "regexp"))
    if kind == "audio":
        return AudioConverter(spec.get("features", "mfcc"), None,
                              spec.get("sample_rate", 8000), spec.get("max_frames"))
    if kind == "frames":
        return AudioConverter("precomputed", spec["features"], max_frames=spec.get("max_frames"))
    raise ValueError(f"Unknown input kind. Received: {kind!r}; expected one of "
                     "('image', 'text', 'audio', 'frames')")
