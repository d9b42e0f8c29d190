"""`TFLiteClassifier`: a converted model run on LiteRT's interpreter, like `model.predict`."""

import os
import warnings

import numpy as np

from mmkeras.utils import validation
from mmkeras.utils.timing import median_seconds


def _litert():
    try:
        from ai_edge_litert import interpreter
    except ImportError:
        return None
    return interpreter


def read_model_content(model):
    """The bytes of a TFLite model given as bytes or as the path of a `.tflite` file."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"TFLite model file not found. Received: path={path!r}")
        with open(path, "rb") as f:
            return f.read()
    raise TypeError("A TFLite model must be bytes (from `mmkeras.deploy.convert`) or the path "
                    f"of a .tflite file. Received: {type(model).__name__}")


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
    validation.check_choice("xnnpack", xnnpack, (True, False, "auto"))
    content = read_model_content(content)
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

    Args:
        content: The model's bytes (`mmkeras.deploy.convert`) or the path of
            a `.tflite` file.
        xnnpack: See `load_interpreter`.

    Uses LiteRT's interpreter (`ai-edge-litert`) when installed (see
    `load_interpreter` for `xnnpack`). Inputs longer or shorter than the
    converted fixed length are cut or padded with zeros (the padding value
    of every mmkeras sequence input).

    Example:

    ```python
    runner = TFLiteClassifier(convert(model, "dynamic"))   # or TFLiteClassifier("m.tflite")
    probabilities = runner.predict({"image": x_image, "text": x_text})
    ```
    """

    def __init__(self, content, xnnpack="auto"):
        content = read_model_content(content)
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
