"""`Task`: a functional model that carries its preprocessor and checks its inputs.

keras-hub's tasks are functional models that hold what they are made of and
the preprocessor that feeds them, all serialised by Keras itself. An mmkeras
`Task` does the same for any network `build_model` (or a matching builder)
returns: its graph is the network's own (the same layers, names and
weights, so `summary()`, `get_layer` and `fusion_readout` see the network),
its config holds the network and the preprocessor, and `fit`, `evaluate`
and `predict` check their inputs with `check_inputs` before Keras sees them
and accept raw inputs (file paths, strings, waveforms, a DataFrame or a CSV)
when a preprocessor is attached.
"""

import os

import keras
import numpy as np

from mmkeras.utils.input_check import check_inputs, unpack
from mmkeras.utils.training_state import build_training_state

_NUMBERS = "biuf"


@keras.saving.register_keras_serializable(package="mmkeras")
class Task(keras.Model):
    """A functional model with its preprocessor; it checks what it is given.

    Args:
        network: A functional `keras.Model` with named inputs (from
            `mmkeras.build_model`, `tasks.build_dual_encoder`, ...). The task
            is built on the network's own graph: the same layers and weights.
        preprocessor: A `mmkeras.preprocessing.Preprocessor`, or `None` (the
            task then takes arrays only).
        compile: Compile like the network was compiled (a fresh optimizer);
            an uncompiled network leaves the task uncompiled.
        name: The model's name (default: the network's).

    Example:

    ```python
    network = mmkeras.build_model(encoders, "concat", num_classes=data.num_classes)
    task = mmkeras.models.Task(network, data.preprocessor)
    task.fit(data.train.x, data.train.y)   # checked: names, dtypes, NaN, ids, labels
    task.save("m.keras")                   # keras.models.load_model gives it back
    ```
    """

    def __init__(self, network, preprocessor=None, *, compile=True, name=None, **kwargs):
        if not isinstance(network, keras.Model) or not hasattr(network, "inputs"):
            raise TypeError("`network` must be a functional keras.Model (e.g. from "
                            f"mmkeras.build_model). Received: {type(network).__name__}")
        super().__init__(network.input, network.output, name=name or network.name, **kwargs)
        self.preprocessor = preprocessor
        if compile and network.compiled:
            self.compile_from_config(network.get_compile_config())

    @property
    def network(self):
        """The task's graph as a plain functional model (the same layers and weights)."""
        return keras.Model(self.input, self.output, name=self.name)

    def preprocess(self, x, y=None, *, columns=None, base_dir=None):
        """`(x, y, raw)`: model-ready inputs and labels, from raw ones when needed.

        Arrays (a dict of numeric arrays, a `Split`, a `tf.data.Dataset`)
        pass through. Anything else is read by the preprocessor: a CSV path or
        a DataFrame (by the column names the data was trained with, or
        `columns=`; its label column gives `y` when `y` is `None`), or a dict
        `{modality: raw values}` (a modality left out is missing). Class
        names in `y` become ids. `raw` is `(inputs, missing)` for raw inputs,
        else `None`.
        """
        x, y = unpack(x, y)
        if is_model_ready(x):
            return x, y, None
        if self.preprocessor is None:
            raise ValueError(
                f"{self.name!r} has no preprocessor, so it takes arrays only: a dict "
                f"{{input: numeric array}} keyed by {sorted(t.name for t in self.inputs)}. "
                f"Received: {_describe(x)}; attach one with "
                "mmkeras.models.MultimodalClassifier(model, dataset.preprocessor)")
        from mmkeras.preprocessing import as_columns

        if isinstance(x, (str, os.PathLike)) or hasattr(x, "columns"):
            inputs, labels, base_dir = self.preprocessor.read_table(x, columns, base_dir)
            y = labels if y is None else y
        else:
            inputs = as_columns(x, self.preprocessor.modalities)
        arrays, missing = self.preprocessor(inputs, base_dir=base_dir)
        if y is not None:
            y = self.preprocessor.encode_labels(y)
        return arrays, y, (inputs, missing)

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """Keras' `fit`, after `preprocess` and `check_inputs` (and the same for
        `validation_data`: `(x, y)`, a `Split`, a dataset, or a table)."""
        x, y, _ = self.preprocess(x, y)
        check_inputs(self, x, y)
        if validation_data is not None:
            validation_data = self._validation(validation_data)
        build_training_state(self, x, y)
        return super().fit(x, y, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Keras' `evaluate`, after `preprocess` and `check_inputs`."""
        x, y, _ = self.preprocess(x, y)
        check_inputs(self, x, y)
        return super().evaluate(x, y, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", *, columns=None, base_dir=None,
                **kwargs):
        """Keras' `predict` on checked inputs; raw inputs are read by the preprocessor."""
        x, _, _ = self.preprocess(x, columns=columns, base_dir=base_dir)
        check_inputs(self, x)
        return super().predict(x, batch_size=batch_size, verbose=verbose, **kwargs)

    def _validation(self, data):
        if isinstance(data, tuple) and 2 <= len(data) <= 3:
            vx, vy, _ = self.preprocess(data[0], data[1])
            check_inputs(self, vx, vy)
            return (vx, vy, *data[2:])
        vx, vy, _ = self.preprocess(data)
        check_inputs(self, vx, vy)
        return vx if vy is None else (vx, vy)

    def get_config(self):
        network = self.network
        return {"network": keras.saving.serialize_keras_object(network),
                "preprocessor": None if self.preprocessor is None
                else keras.saving.serialize_keras_object(self.preprocessor),
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(
            config["network"], custom_objects=custom_objects)
        if config.get("preprocessor") is not None:
            config["preprocessor"] = keras.saving.deserialize_keras_object(
                config["preprocessor"], custom_objects=custom_objects)
        # Keras compiles a loaded model from its own saved compile config.
        return cls(**config, compile=False)


def is_model_ready(x):
    """Whether `x` is what a model takes as it is: a dict of numeric arrays or
    tensors, or a `tf.data.Dataset` (anything else is raw input for a preprocessor)."""
    if hasattr(x, "element_spec") and not isinstance(x, dict):
        return True
    if not isinstance(x, dict) or not x:
        return False
    return all(hasattr(v, "dtype") and hasattr(v, "shape") and len(v.shape) > 0
               and np.dtype(getattr(v.dtype, "as_numpy_dtype", v.dtype)).kind in _NUMBERS
               for v in x.values())


def _describe(x):
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {type(v).__name__}" for k, v in x.items()) + "}"
    return type(x).__name__
