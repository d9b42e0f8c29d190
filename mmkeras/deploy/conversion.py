"""Keras model → SavedModel → TFLite bytes, at four quantisations.

Quantisations (`QUANTIZATIONS`): `"float32"` (none), `"dynamic"` (int8
weights, float activations), `"float16"` (float16 weights), `"int8"` (int8
weights and activations, calibrated on a representative dataset; the model
still takes float / int32 inputs and returns float probabilities).
Models with recurrent layers are unrolled first (`mmkeras.deploy.unrolling`).
"""

import os
import tempfile
import warnings
from collections.abc import Mapping

import numpy as np

from mmkeras.deploy.unrolling import deployable_model, input_shapes_of, recurrent_layers
from mmkeras.utils import validation

QUANTIZATIONS = ("float32", "dynamic", "float16", "int8")


def export_saved_model(model, path):
    """Writes a TensorFlow SavedModel for serving (TF Serving, TFLite converter)."""
    model.export(str(path), verbose=False)
    return str(path)

def _check_quantization(quantization):
    if quantization is True:
        return "dynamic"
    if quantization is False or quantization is None:
        return "float32"
    return validation.check_choice("quantization", quantization, QUANTIZATIONS)


def check_representative_data(data, input_shapes):
    """Checks a representative dataset: a dict of arrays, one per model input.

    Returns the dict with NumPy arrays. Raises ValueError naming what was
    received when the structure, keys, shapes or lengths do not match
    `input_shapes` (`{input name: shape without the batch axis}`).
    """
    expected = sorted(input_shapes)
    if not isinstance(data, Mapping):
        raise ValueError(
            "representative_data must be a dict of arrays keyed by the model's inputs "
            f"{expected}. Received: {type(data).__name__}")
    if sorted(data) != expected:
        raise ValueError(f"representative_data keys must be the model's inputs {expected}. "
                         f"Received keys: {sorted(data)}")
    arrays = {k: np.asarray(data[k]) for k in expected}
    for k, array in arrays.items():
        shape = input_shapes[k]
        ok = array.ndim == len(shape) + 1 and all(
            s is None or s == a for s, a in zip(shape, array.shape[1:]))
        if not ok or len(array) == 0:
            raise ValueError(f"representative_data[{k!r}] has shape {array.shape}; expected "
                             f"(n >= 1, {', '.join(str(s) for s in shape)})")
    lengths = {k: len(a) for k, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"representative_data arrays differ in length. Received: {lengths}")
    return arrays


def _representative_dataset(arrays, dtypes, limit):
    n = min(limit, len(next(iter(arrays.values()))))

    def generate():
        for i in range(n):
            yield {k: a[i:i + 1].astype(dtypes[k]) for k, a in arrays.items()}

    return generate


def to_tflite(saved_model_dir, quantize=False, representative_data=None, num_calibration=100):
    """Converts an exported SavedModel to TFLite bytes with builtin ops only.

    Args:
        saved_model_dir: Folder written by `export_saved_model`.
        quantize: One of `QUANTIZATIONS`; `True` means `"dynamic"` and
            `False` `"float32"`.
        representative_data: For `"int8"`: dict of input arrays drawn from the
            training split (`dataset.train.x`), whose first `num_calibration`
            samples calibrate the activations' ranges.
        num_calibration: Samples used for calibration.

    Recurrent layers need `deployable_model` before export (or use `convert`,
    which does both). `TFLiteConverter.from_keras_model` fails on Keras 3
    models, which is why this goes through the SavedModel.
    """
    import tensorflow as tf

    mode = _check_quantization(quantize)
    if not os.path.isdir(saved_model_dir):
        raise FileNotFoundError(f"SavedModel folder not found. Received: {str(saved_model_dir)!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        signature = tf.saved_model.load(str(saved_model_dir)).signatures["serving_default"]
        specs = signature.structured_input_signature[1]
        shapes = {k: tuple(s.shape[1:]) for k, s in specs.items()}
        dtypes = {k: s.dtype.as_numpy_dtype for k, s in specs.items()}
        if representative_data is None:
            raise ValueError("quantization='int8' needs representative_data: a dict of input "
                             f"arrays {sorted(shapes)} from the training split. Received: None")
        arrays = check_representative_data(representative_data, shapes)
        converter.representative_dataset = _representative_dataset(arrays, dtypes, num_calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    try:
        with warnings.catch_warnings():
            # int8 calibration runs TensorFlow's own (deprecated) interpreter.
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            return converter.convert()
    except Exception as err:
        raise RuntimeError(
            f"TFLite conversion ({mode}) failed ({type(err).__name__}: {str(err)[:300]}). "
            "Models with LSTM/GRU layers go through deployable_model() first (convert() does).") from err


def convert(model, quantization="float32", representative_data=None, input_shapes=None,
            num_calibration=100):
    """Keras model → TFLite bytes, through `deployable_model` and a SavedModel.

    Args:
        model: Any mmkeras model (recurrent layers included).
        quantization: One of `QUANTIZATIONS`.
        representative_data: Dict of training inputs (required for `"int8"`);
            also gives the length of inputs whose length is `None`.
        input_shapes: Fixed shapes for inputs of undefined length.
        num_calibration: Samples used to calibrate `"int8"`.

    Returns:
        The `.tflite` file's bytes.

    Example:

    ```python
    content = convert(model, "int8", representative_data=dataset.train.x)
    runner = TFLiteClassifier(content)
    probabilities = runner.predict(dataset.test.x)
    ```
    """
    mode = _check_quantization(quantization)
    shapes = dict(input_shapes or {})
    if representative_data is not None:
        arrays = check_representative_data(representative_data, input_shapes_of(model))
        for k, array in arrays.items():
            shapes.setdefault(k, tuple(array.shape[1:]))
    deployable, _ = deployable_model(model, shapes if recurrent_layers(model) else None)
    with tempfile.TemporaryDirectory(prefix="mmkeras-export-") as folder:
        saved = export_saved_model(deployable, os.path.join(folder, "saved_model"))
        return to_tflite(saved, mode, representative_data, num_calibration)
