"""`Predictor`: a trained model plus its preprocessor, from raw inputs to class names.

keras-hub pairs every task with the preprocessor that turns raw inputs into
its inputs; here the pair is a `Predictor`. It saves as ONE `.keras` file:
Keras' own archive (a zip) with the model, plus one JSON member,
`mmkeras_preprocessor.json`, holding the preprocessor (image size and
colour, tokenizer and vocabulary, audio features, class names).
`keras.models.load_model` still loads the model from it, in safe mode;
`mmkeras.load_predictor` loads both.
"""

import dataclasses
import os
import zipfile

import numpy as np

from mmkeras.input_check import check_inputs
from mmkeras.preprocessing.preprocessor import Preprocessor

PREPROCESSOR_FILE = "mmkeras_preprocessor.json"


@dataclasses.dataclass
class Predictions:
    """Class probabilities for a batch of raw inputs.

    Attributes:
        class_names: Column `j` of `probabilities` is `class_names[j]`.
        probabilities: `(samples, classes)`.
        ids: One id per sample (the first file path given, else its index).
        missing: `{modality: bool per sample}` for inputs that were absent.
    """

    class_names: list
    probabilities: np.ndarray
    ids: list
    missing: dict

    def __len__(self):
        return len(self.probabilities)

    @property
    def labels(self):
        """The most probable class name of each sample."""
        return [self.class_names[i] for i in self.probabilities.argmax(-1)]

    @property
    def confidence(self):
        """The probability of each sample's most probable class."""
        return self.probabilities.max(-1)

    def top(self, k=3):
        """`[[(class name, probability), ...k], ...]` per sample, most probable first."""
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"`k` must be a positive integer. Received: k={k!r}")
        order = np.argsort(-self.probabilities, axis=-1)[:, :k]
        return [[(self.class_names[j], float(p[j])) for j in row]
                for row, p in zip(order, self.probabilities)]

    def to_frame(self):
        """A pandas DataFrame: id, predicted class, confidence, one column per class."""
        import pandas as pd

        frame = pd.DataFrame({"id": self.ids, "prediction": self.labels,
                              "confidence": self.confidence})
        for j, name in enumerate(self.class_names):
            frame[f"p({name})"] = self.probabilities[:, j]
        for modality, flags in self.missing.items():
            if np.any(flags):
                frame[f"{modality}_missing"] = flags
        return frame


class Predictor:
    """A trained classifier with what turns raw inputs into its inputs.

    Args:
        model: A trained Keras classifier with named inputs (from
            `mmkeras.build_model`, `compare` or the CLI).
        preprocessor: A `mmkeras.preprocessing.Preprocessor`, or a
            `MultimodalDataset` whose `preprocessor` is used (the dataset
            the model was trained on).

    Example:

    ```python
    data = mmkeras.datasets.from_dataframe("train.csv", image="file", text="caption")
    model = mmkeras.build_model(mmkeras.experiments.standard_encoders(data), "concat",
                                data.num_classes)
    model.fit(data.train.x, data.train.y, validation_data=(data.validation.x,
                                                           data.validation.y))
    predictor = mmkeras.Predictor(model, data)
    predictor.save("captions.keras")
    predictions = mmkeras.load_predictor("captions.keras").predict(
        {"image": ["new1.png", "new2.png"], "text": ["a red heart", None]})
    predictions.labels, predictions.probabilities
    ```
    """

    def __init__(self, model, preprocessor):
        if not isinstance(preprocessor, Preprocessor):
            preprocessor = getattr(preprocessor, "preprocessor", None) or _no_preprocessor(
                preprocessor)
        inputs = sorted(t.name for t in model.inputs)
        if inputs != sorted(preprocessor.modalities):
            if not set(inputs) <= set(preprocessor.modalities):
                raise ValueError(f"The preprocessor reads {preprocessor.modalities} but the model "
                                 f"takes {inputs}. Received: mismatched inputs")
            preprocessor = preprocessor.select(inputs)
        classes = _num_classes(model)
        if preprocessor.class_names is not None and len(preprocessor.class_names) != classes:
            raise ValueError(f"The model predicts {classes} classes but the preprocessor names "
                             f"{len(preprocessor.class_names)}. Received: "
                             f"class_names={preprocessor.class_names}")
        self.model = model
        self.preprocessor = preprocessor
        self.class_names = preprocessor.class_names or [str(i) for i in range(classes)]

    def predict(self, inputs, batch_size=64, base_dir=None):
        """Class probabilities for a batch of raw inputs.

        Args:
            inputs: `{modality: [raw value per sample]}` — file paths,
                arrays, strings, waveforms; `None` (or an empty string) for a
                modality absent from a sample — or a pandas DataFrame / CSV
                path with one column per modality.
            batch_size: Samples per model call.
            base_dir: Folder relative paths start from (a CSV's folder by
                default).

        Returns:
            `Predictions`.
        """
        inputs, base_dir = _as_columns(inputs, self.preprocessor.modalities, base_dir)
        self.preprocessor.base_dir = base_dir
        try:
            x, missing = self.preprocessor(inputs)
        finally:
            self.preprocessor.base_dir = None
        check_inputs(self.model, x)
        probabilities = np.asarray(self.model.predict(x, batch_size=batch_size, verbose=0))
        if probabilities.shape[-1] == 1:
            probabilities = np.concatenate([1 - probabilities, probabilities], axis=-1)
        first = next(iter(inputs.values()))
        ids = [v if isinstance(v, str) and v else str(i) for i, v in enumerate(first)]
        return Predictions(self.class_names, probabilities.astype("float64"), ids, missing)

    def save(self, path):
        """Writes the model and the preprocessor to one `.keras` file."""
        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"The file name must end in .keras. Received: path={path!r}")
        self.model.save(path)
        write_preprocessor(path, self.preprocessor)
        return path

    @classmethod
    def load(cls, path):
        """Loads a `Predictor` saved with `save` (the model in safe mode)."""
        import keras

        import mmkeras  # noqa: F401  (registers mmkeras' layers for loading)

        path = os.fspath(path)
        preprocessor = read_preprocessor(path)
        if preprocessor is None:
            raise ValueError(
                f"{path!r} holds a model without its preprocessor. Save it with "
                "mmkeras.Predictor(model, dataset).save(path), or load it with "
                "keras.models.load_model and prepare its inputs yourself.")
        return cls(keras.models.load_model(path, safe_mode=True), preprocessor)

    def __repr__(self):
        return f"Predictor({self.model.name!r}, {self.preprocessor!r})"


def write_preprocessor(path, preprocessor):
    """Adds `preprocessor`'s JSON to a saved `.keras` file, as one more member of its zip
    (Keras ignores it; `keras.models.load_model` still loads the model in safe mode)."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(PREPROCESSOR_FILE, preprocessor.to_json())


def read_preprocessor(path):
    """The `Preprocessor` saved inside a `.keras` file, or `None` if it has none."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file not found. Received: path={path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a .keras archive (truncated or another format)")
    with zipfile.ZipFile(path) as archive:
        if PREPROCESSOR_FILE not in archive.namelist():
            return None
        return Preprocessor.from_json(archive.read(PREPROCESSOR_FILE).decode("utf-8"))


def save_predictor(model, path, preprocessor):
    """`Predictor(model, preprocessor).save(path)`: a model file that predicts on raw inputs."""
    return Predictor(model, preprocessor).save(path)


def load_predictor(path):
    """Loads a model and its preprocessor saved by `save_predictor` (safe mode)."""
    return Predictor.load(path)


def _no_preprocessor(value):
    raise ValueError(f"`preprocessor` must be a Preprocessor or a dataset that has one. "
                     f"Received: {type(value).__name__}")


def _num_classes(model):
    units = int(model.outputs[0].shape[-1])
    return 2 if units == 1 else units


def _as_columns(inputs, modalities, base_dir):
    """`({modality: list}, base_dir)` from a dict, a DataFrame or a CSV path."""
    if isinstance(inputs, (str, os.PathLike)):
        import pandas as pd

        path = os.fspath(inputs)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"CSV file not found. Received: {path!r}")
        base_dir = base_dir or os.path.dirname(os.path.abspath(path))
        inputs = pd.read_csv(path, keep_default_na=False, dtype=str)
    if hasattr(inputs, "columns"):  # a DataFrame
        absent = [m for m in modalities if m not in inputs.columns]
        if absent:
            raise ValueError(f"The table needs one column per model input {modalities}. "
                             f"Received columns: {list(inputs.columns)} (missing {absent})")
        inputs = {m: inputs[m].tolist() for m in modalities}
    if not isinstance(inputs, dict):
        raise TypeError(f"`inputs` must be a dict {{modality: values}}, a DataFrame or a CSV "
                        f"path. Received: {type(inputs).__name__}")
    columns = {}
    for modality, values in inputs.items():
        if isinstance(values, (str, bytes)) or (isinstance(values, np.ndarray) and
                                                values.ndim == 0):
            values = [values]
        columns[modality] = list(values)
    sizes = {len(v) for v in columns.values()}
    for modality in modalities:  # a modality left out is missing for every sample
        columns.setdefault(modality, [None] * (sizes.pop() if len(sizes) == 1 else 0))
    return columns, base_dir
