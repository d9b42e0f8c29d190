"""`MultimodalClassifier`: the classification task — network, preprocessor, class names."""

import keras
import numpy as np

from mmkeras.models.predictions import Predictions
from mmkeras.models.task import Task
from mmkeras.utils.input_check import check_inputs


@keras.saving.register_keras_serializable(package="mmkeras")
class MultimodalClassifier(Task):
    """A multimodal classifier that reads raw inputs and names its classes.

    A `Task` around a classifier from `build_model` (its graph, layers and
    weights are the network's): `fit`, `evaluate` and `predict` check their
    inputs first and accept raw inputs read by the preprocessor — file paths,
    strings, waveforms, a DataFrame, or a CSV read by the column names the
    training table had (`columns=` reads others). `classify` returns class
    names with the probabilities. `save("m.keras")` writes it all;
    `keras.models.load_model("m.keras", safe_mode=True)` returns it.

    Args:
        network: A classifier from `mmkeras.build_model` (or any functional
            model with named inputs and one probability output).
        preprocessor: The dataset's `Preprocessor` (`data.preprocessor`), or
            `None`; a dataset (anything with a `.preprocessor`) is accepted.
        compile: Compile like the network (a fresh optimizer).
        name: Default: the network's name.

    Example:

    ```python
    data = mmkeras.datasets.from_dataframe("photos.csv", image="file", text="caption")
    model = mmkeras.models.MultimodalClassifier.from_dataset(data, fusion="concat")
    model.fit(data.train.x, data.train.y, validation_data=data.validation, epochs=5)
    model.save("photos.keras")
    model = keras.models.load_model("photos.keras", safe_mode=True)
    model.predict("new.csv")                   # probabilities, read by the training columns
    model.classify("new.csv").labels           # class names
    ```
    """

    def __init__(self, network, preprocessor=None, *, compile=True, name=None, **kwargs):
        if preprocessor is not None and hasattr(preprocessor, "preprocessor"):
            preprocessor = preprocessor.preprocessor  # a MultimodalDataset
        super().__init__(network, _fitted(network, preprocessor), compile=compile, name=name,
                         **kwargs)
        if len(self.outputs) != 1:
            raise ValueError(f"A classifier has one output. Received: {len(self.outputs)} "
                             "outputs (use mmkeras.tasks.single_output for a multi-task model)")

    @classmethod
    def from_dataset(cls, dataset, fusion="concat", *, modalities=None, encoders=None,
                     **build_options):
        """A new classifier for `dataset`: its standard encoders (or `encoders`), the
        fusion, a head for its classes, and its preprocessor.

        `build_options` go to `mmkeras.build_model` (`dropout`, `head_units`,
        `modality_dropout`, `learning_rate`, ...).
        """
        from mmkeras.encoders import standard_encoders
        from mmkeras.models.builder import build_model

        modalities = list(modalities or dataset.modalities)
        encoders = encoders or standard_encoders(dataset, modalities)
        network = build_model(encoders, fusion, num_classes=dataset.num_classes,
                              **build_options)
        preprocessor = dataset.preprocessor
        return cls(network, None if preprocessor is None else preprocessor.select(modalities))

    @property
    def num_classes(self):
        units = int(self.outputs[0].shape[-1])
        return 2 if units == 1 else units

    @property
    def class_names(self):
        """The preprocessor's class names, else `"0"`, `"1"`, ..."""
        names = getattr(self.preprocessor, "class_names", None)
        return list(names) if names else [str(i) for i in range(self.num_classes)]

    def classify(self, x, batch_size=64, *, columns=None, base_dir=None):
        """`Predictions` (class names, probabilities, ids, missing flags) for raw
        inputs or arrays; a sigmoid output gives both classes' probabilities."""
        arrays, _, raw = self.preprocess(x, columns=columns, base_dir=base_dir)
        check_inputs(self, arrays)
        probabilities = np.asarray(
            keras.Model.predict(self, arrays, batch_size=batch_size, verbose=0))
        if probabilities.shape[-1] == 1:
            probabilities = np.concatenate([1 - probabilities, probabilities], axis=-1)
        samples = len(probabilities)
        if raw is None:
            ids, missing = [str(i) for i in range(samples)], {}
        else:
            inputs, missing = raw
            first = next(iter(inputs.values()))
            ids = [v if isinstance(v, str) and v else str(i) for i, v in enumerate(first)]
        return Predictions(self.class_names, probabilities.astype("float64"), ids, missing)


def _fitted(network, preprocessor):
    """`preprocessor` for the network's inputs only, checked against its classes."""
    if preprocessor is None:
        return None
    if not hasattr(preprocessor, "converters"):
        raise TypeError("`preprocessor` must be a mmkeras.preprocessing.Preprocessor or a "
                        f"dataset that has one. Received: {type(preprocessor).__name__}")
    inputs = sorted(t.name for t in network.inputs)
    if not set(inputs) <= set(preprocessor.modalities):
        raise ValueError(f"The preprocessor reads {preprocessor.modalities} but the model "
                         f"takes {inputs}. Received: mismatched inputs")
    if inputs != sorted(preprocessor.modalities):
        preprocessor = preprocessor.select(inputs)
    units = int(network.outputs[0].shape[-1])
    classes = 2 if units == 1 else units
    names = preprocessor.class_names
    if names is not None and len(names) != classes:
        raise ValueError(f"The model predicts {classes} classes but the preprocessor names "
                         f"{len(names)}. Received: class_names={names}")
    return preprocessor
