"""Deprecated: `Predictor`, `save_predictor`, `load_predictor` (mmkeras 0.1).

A `MultimodalClassifier` now carries its preprocessor and is saved and
loaded by Keras itself (`model.save`, `keras.models.load_model`). These
names keep working for one release, with a `DeprecationWarning`, and read
the `.keras` files mmkeras 0.1 wrote (the preprocessor as an extra JSON
member of the zip).
"""

import os
import warnings
import zipfile

LEGACY_PREPROCESSOR_FILE = "mmkeras_preprocessor.json"


def _deprecated(old, new):
    warnings.warn(f"{old} is deprecated and will be removed in mmkeras 0.3; use {new}.",
                  DeprecationWarning, stacklevel=3)


class Predictor:
    """Deprecated: `mmkeras.models.MultimodalClassifier(model, preprocessor)`, whose
    `classify` is this `predict`."""

    def __init__(self, model, preprocessor):
        from mmkeras.models.multimodal_classifier import MultimodalClassifier

        _deprecated("mmkeras.Predictor(model, data)", "mmkeras.models.MultimodalClassifier("
                    "model, data.preprocessor) and its classify()")
        self.classifier = MultimodalClassifier(model, preprocessor)
        self.model, self.preprocessor = model, self.classifier.preprocessor
        self.class_names = self.classifier.class_names

    def predict(self, inputs, batch_size=64, base_dir=None):
        return self.classifier.classify(inputs, batch_size, base_dir=base_dir)

    def save(self, path):
        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"The file name must end in .keras. Received: path={path!r}")
        self.classifier.save(path)
        return path

    @classmethod
    def load(cls, path):
        return load_predictor(path)


def save_predictor(model, path, preprocessor):
    """Deprecated: `MultimodalClassifier(model, preprocessor).save(path)`."""
    from mmkeras.models.multimodal_classifier import MultimodalClassifier

    _deprecated("save_predictor", "MultimodalClassifier(model, preprocessor).save(path)")
    MultimodalClassifier(model, getattr(preprocessor, "preprocessor", preprocessor)).save(path)
    return os.fspath(path)


def load_predictor(path):
    """Deprecated: `keras.models.load_model(path, safe_mode=True)`; also reads files
    written by mmkeras 0.1."""
    _deprecated("load_predictor(path)", "keras.models.load_model(path, safe_mode=True)")
    task = load_task(path)
    if getattr(task, "preprocessor", None) is None:
        raise ValueError(f"{os.fspath(path)!r} holds a model without its preprocessor.")
    predictor = Predictor.__new__(Predictor)
    predictor.classifier, predictor.model = task, task
    predictor.preprocessor, predictor.class_names = task.preprocessor, task.class_names
    return predictor


def load_task(path):
    """The task saved in `path` (safe mode); a model saved by mmkeras 0.1 with its
    preprocessor in an extra zip member comes back as a `MultimodalClassifier`."""
    import keras

    # Importing these registers mmkeras' layers, fusions, encoders and converters for loading.
    from mmkeras import encoders, fusion, layers, preprocessing  # noqa: F401
    from mmkeras.models.multimodal_classifier import MultimodalClassifier
    from mmkeras.models.task import Task

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file not found. Received: path={path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path!r} is not a .keras archive (truncated or another format)")
    model = keras.models.load_model(path, safe_mode=True)
    if isinstance(model, Task):
        return model
    preprocessor = read_legacy_preprocessor(path)
    return model if preprocessor is None else MultimodalClassifier(model, preprocessor)


def read_legacy_preprocessor(path):
    """The preprocessor mmkeras 0.1 stored inside a `.keras` zip, or `None`."""
    from mmkeras.preprocessing import Preprocessor

    with zipfile.ZipFile(path) as archive:
        if LEGACY_PREPROCESSOR_FILE not in archive.namelist():
            return None
        text = archive.read(LEGACY_PREPROCESSOR_FILE).decode("utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Preprocessor.from_json(text)
