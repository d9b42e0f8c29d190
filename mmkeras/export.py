"""Deployment: SavedModel export, TFLite conversion for every mmkeras model
(recurrent ones included), quantisation, and a runner on LiteRT's interpreter.

How a model reaches TFLite (`deployment_path` names it):

- `"builtin"`: no recurrent layer; the SavedModel converts with builtin ops
  as it is.
- `"unrolled"`: LSTM/GRU layers (also inside `Bidirectional`) need
  TensorFlow's TensorList ops, which builtin TFLite lacks. The model is
  rebuilt from its config with `unroll=True` and fixed sequence lengths, the
  weights are copied, and the unrolled copy converts with builtin ops. The
  weights are stored once; the graph repeats the cell's ops once per step.

Quantisations (`QUANTIZATIONS`): `"float32"` (none), `"dynamic"` (int8
weights, float activations), `"float16"` (float16 weights), `"int8"` (int8
weights and activations, calibrated on a representative dataset; the model
still takes float / int32 inputs and returns float probabilities).
"""

import copy
import os
import tempfile
import warnings
from collections.abc import Mapping

import numpy as np

from mmkeras.timing import median_seconds

QUANTIZATIONS = ("float32", "dynamic", "float16", "int8")
_RECURRENT = ("LSTM", "GRU", "SimpleRNN")


def export_saved_model(model, path):
    """Writes a TensorFlow SavedModel for serving (TF Serving, TFLite converter)."""
    model.export(str(path), verbose=False)
    return str(path)


def _walk(node, visit):
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def recurrent_layers(model):
    """Names of the LSTM/GRU/SimpleRNN layers anywhere in `model` (nested ones included)."""
    found = []

    def visit(node):
        if node.get("class_name") in _RECURRENT and isinstance(node.get("config"), dict):
            found.append(node["config"].get("name"))

    _walk(model.get_config(), visit)
    return found


def deployment_path(model):
    """`"unrolled"` for a model with recurrent layers, else `"builtin"`."""
    return "unrolled" if recurrent_layers(model) else "builtin"


def _input_shapes(model):
    return {t.name: tuple(t.shape[1:]) for t in model.inputs}


def _fixed_shapes(model, input_shapes):
    """Every input's shape without the batch axis, with no `None` left."""
    shapes = _input_shapes(model)
    input_shapes = dict(input_shapes or {})
    unknown = sorted(set(input_shapes) - set(shapes))
    if unknown:
        raise ValueError(f"Unknown inputs in input_shapes. Received: {unknown}; "
                         f"the model's inputs are {sorted(shapes)}")
    fixed = {}
    for name, shape in shapes.items():
        given = tuple(input_shapes.get(name, shape))
        compatible = len(given) == len(shape) and all(
            s is None or s == g for s, g in zip(shape, given))
        if not compatible or any(g is None for g in given):
            raise ValueError(
                f"Input {name!r} of shape {shape} needs a fixed shape to be unrolled. Received: "
                f"input_shapes[{name!r}]={input_shapes.get(name)}; pass e.g. "
                f"input_shapes={{{name!r}: {tuple(100 if s is None else s for s in shape)}}} "
                "(pad or cut the sequences to that length).")
        fixed[name] = given
    return fixed


def _source_layer(argument):
    """The layer name a serialised functional call argument comes from, if one tensor."""
    if isinstance(argument, dict) and argument.get("class_name") == "__keras_tensor__":
        return argument["config"]["keras_history"][0]
    return None


def _fix_functional(config, shapes):
    """Sets unroll=True on recurrent layers and fixed shapes on InputLayers, recursively."""
    for layer in config.get("layers", []):
        name, inner = layer["config"].get("name"), layer["config"]
        if layer["class_name"] == "InputLayer" and name in shapes:
            inner["batch_shape"] = [None, *shapes[name]]
        elif layer["class_name"] in ("Functional", "Model") and "input_layers" in inner:
            nodes = layer.get("inbound_nodes") or []
            args = nodes[0]["args"] if nodes else []
            args = args[0] if len(args) == 1 and isinstance(args[0], list) else args
            sources = [_source_layer(a) for a in args]
            own = [entry[0] for entry in _as_list(inner["input_layers"])]
            _fix_functional(inner, {o: shapes[s] for o, s in zip(own, sources) if s in shapes})

    def unroll(node):
        if node.get("class_name") in _RECURRENT and isinstance(node.get("config"), dict):
            node["config"]["unroll"] = True

    _walk(config, unroll)


def _as_list(input_layers):
    if input_layers and isinstance(input_layers[0], str):
        return [input_layers]
    if isinstance(input_layers, dict):
        return list(input_layers.values())
    return list(input_layers)


def deployable_model(model, input_shapes=None):
    """A copy of `model` that converts to TFLite with builtin ops, and its path.

    A model without recurrent layers is returned as it is (`"builtin"`). A
    model with LSTM/GRU layers is rebuilt from its config with `unroll=True`
    and every sequence input fixed to a length, and gets `model`'s weights
    (`"unrolled"`); its outputs equal `model`'s on inputs of that length.

    Args:
        model: A functional Keras model (any mmkeras model).
        input_shapes: Dict `{input name: shape without the batch axis}` for
            inputs whose length is `None` (e.g. `{"audio": (92, 13)}`).

    Returns:
        `(model, path)`.
    """
    import keras

    if not recurrent_layers(model):
        return model, "builtin"
    shapes = _fixed_shapes(model, input_shapes)
    config = copy.deepcopy(keras.saving.serialize_keras_object(model))
    _fix_functional(config["config"], shapes)
    try:
        unrolled = keras.saving.deserialize_keras_object(config)
    except ValueError as err:
        raise ValueError(f"Could not unroll {model.name!r} at input shapes {shapes}: {err}") from err
    unrolled.set_weights(model.get_weights())
    _keep_backward_outputs(unrolled)
    return unrolled, "unrolled"


def _keep_backward_outputs(model):
    """Turns off `zero_output_for_mask` on unrolled backward RNNs.

    Keras' unrolled loop zeroes a backward RNN's masked outputs with the mask
    in forward order (so it zeroes real steps too); `Bidirectional` forces the
    flag on. Without it the backward RNN repeats its previous output on masked
    steps, which for right-padded sequences (mmkeras pads on the right) is the
    initial zero state: the same outputs as the non-unrolled layer.
    """
    for layer in getattr(model, "layers", []):
        _keep_backward_outputs(layer)
        for rnn in (layer, getattr(layer, "forward_layer", None),
                    getattr(layer, "backward_layer", None)):
            if getattr(rnn, "go_backwards", False) and getattr(rnn, "unroll", False):
                rnn.zero_output_for_mask = False


def _check_quantization(quantization):
    if quantization is True:
        return "dynamic"
    if quantization is False or quantization is None:
        return "float32"
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"Unknown quantization. Received: quantization={quantization!r}; "
                         f"expected one of {list(QUANTIZATIONS)}")
    return quantization


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
        arrays = check_representative_data(representative_data, _input_shapes(model))
        for k, array in arrays.items():
            shapes.setdefault(k, tuple(array.shape[1:]))
    deployable, _ = deployable_model(model, shapes if recurrent_layers(model) else None)
    with tempfile.TemporaryDirectory(prefix="mmkeras-export-") as folder:
        saved = export_saved_model(deployable, os.path.join(folder, "saved_model"))
        return to_tflite(saved, mode, representative_data, num_calibration)


def _litert():
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        return None
    return interpreter


def has_int8_activations(interpreter):
    """Whether a (allocated) interpreter's model computes with int8 activations
    (full-integer quantisation): per-tensor scales exist only on activations."""
    return any(d["dtype"] == np.int8 and d["quantization"][0] != 0
               for d in interpreter.get_tensor_details())


def load_interpreter(content, xnnpack="auto"):
    """A TFLite interpreter for `content`: LiteRT's (`ai-edge-litert`), else
    TensorFlow's deprecated `tf.lite.Interpreter` with a warning.

    `xnnpack`: `True` uses the default XNNPACK delegate, `False` the plain
    builtin kernels; `"auto"` uses XNNPACK except for full-integer models:
    XNNPACK fails to prepare some int8 graphs here (the unrolled, masked LSTM
    of `sequence_lstm`), and an interpreter that failed that way can crash
    the process when it is freed.
    """
    if xnnpack not in (True, False, "auto"):
        raise ValueError(f"xnnpack must be True, False or 'auto'. Received: xnnpack={xnnpack!r}")
    litert = _litert()
    if litert is None:
        warnings.warn("ai-edge-litert is not installed (pip install ai-edge-litert); falling back "
                      "to the deprecated tf.lite.Interpreter.", stacklevel=2)
        import tensorflow as tf

        module, Interpreter = tf.lite.experimental, tf.lite.Interpreter
    else:
        module, Interpreter = litert, litert.Interpreter
    plain = {"experimental_op_resolver_type":
             module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        if xnnpack == "auto":
            probe = Interpreter(model_content=content, **plain)
            probe.allocate_tensors()
            if has_int8_activations(probe):
                return probe
            xnnpack = True
        return Interpreter(model_content=content, **({} if xnnpack else plain))


class TFLiteClassifier:
    """Runs a converted model on dicts of arrays, like `model.predict`.

    Uses LiteRT's interpreter (`ai-edge-litert`) when installed (see
    `load_interpreter` for `xnnpack`). Inputs longer or shorter than the
    converted fixed length are cut or padded with zeros (the padding value
    of every mmkeras sequence input).

    Example:

    ```python
    runner = TFLiteClassifier(convert(model, "dynamic"))
    probabilities = runner.predict({"image": x_image, "text": x_text})
    ```
    """

    def __init__(self, content, xnnpack="auto"):
        self.interpreter = load_interpreter(content, xnnpack)
        self.runner = self.interpreter.get_signature_runner()
        self.inputs = self.runner.get_input_details()
        self.size_bytes = len(content)

    def _sample(self, x, i):
        sample = {}
        for k, detail in self.inputs.items():
            array = np.asarray(x[k][i:i + 1]).astype(detail["dtype"])
            target = list(detail["shape_signature"])
            if array.ndim >= 2 and len(target) == array.ndim and target[1] > 0:
                steps = target[1]
                array = array[:, :steps]
                if array.shape[1] < steps:
                    pad = [(0, 0), (0, steps - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
                    array = np.pad(array, pad)
            sample[k] = array
        return sample

    def predict(self, x):
        missing = sorted(set(self.inputs) - set(x))
        if missing:
            raise ValueError(f"Missing inputs. Received keys: {sorted(x)}; expected {sorted(self.inputs)}")
        n = len(next(iter(x.values())))
        outputs = []
        for i in range(n):
            result = self.runner(**self._sample(x, i))
            outputs.append(next(iter(result.values())))
        return np.concatenate(outputs)

    def latency(self, x, repeats=50):
        """Median seconds for one sample."""
        sample = {k: np.asarray(x[k][:1]) for k in self.inputs}
        return median_seconds(lambda: self.predict(sample), repeats)
