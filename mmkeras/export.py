"""Deployment: SavedModel export, TFLite conversion (optionally quantised), and a
small runner that serves the TFLite model with the Keras model's dict inputs."""

import os

import numpy as np

from mmkeras.timing import median_seconds


def export_saved_model(model, path):
    """Writes a TensorFlow SavedModel for serving (TF Serving, TFLite converter)."""
    model.export(str(path), verbose=False)
    return str(path)


def to_tflite(saved_model_dir, quantize=False):
    """Converts an exported SavedModel to TFLite bytes with builtin ops only.

    `quantize=True` applies dynamic-range quantisation (int8 weights, float
    activations): about 4× smaller. `TFLiteConverter.from_keras_model` fails on
    Keras 3 models, which is why this goes through the SavedModel.

    Recurrent layers (LSTM, GRU) need TensorFlow ops that builtin-only TFLite
    lacks; use convolutional encoders (`image_cnn`, `text_conv1d`,
    `sequence_conv1d`) for models you want to ship as TFLite.
    """
    import tensorflow as tf

    if not os.path.isdir(saved_model_dir):
        raise FileNotFoundError(f"SavedModel folder not found. Received: {str(saved_model_dir)!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        return converter.convert()
    except Exception as err:
        raise RuntimeError(
            f"TFLite conversion failed ({type(err).__name__}). Recurrent layers need ops "
            "outside builtin TFLite: use convolutional encoders for a TFLite model."
        ) from err


class TFLiteClassifier:
    """Runs a converted model on dicts of arrays, like `model.predict`.

    Example:

    ```python
    runner = TFLiteClassifier(to_tflite(export_saved_model(model, "sm"), quantize=True))
    probabilities = runner.predict({"image": x_image, "text": x_text})
    ```
    """

    def __init__(self, content):
        import tensorflow as tf

        self.interpreter = tf.lite.Interpreter(model_content=content)
        self.runner = self.interpreter.get_signature_runner()
        self.inputs = self.runner.get_input_details()
        self.size_bytes = len(content)

    def predict(self, x):
        missing = sorted(set(self.inputs) - set(x))
        if missing:
            raise ValueError(f"Missing inputs. Received keys: {sorted(x)}; expected {sorted(self.inputs)}")
        n = len(next(iter(x.values())))
        outputs = []
        for i in range(n):
            sample = {k: np.asarray(x[k][i:i + 1]).astype(self.inputs[k]["dtype"])
                      for k in self.inputs}
            result = self.runner(**sample)
            outputs.append(next(iter(result.values())))
        return np.concatenate(outputs)

    def latency(self, x, repeats=50):
        """Median seconds for one sample."""
        sample = {k: np.asarray(x[k][:1]) for k in self.inputs}
        return median_seconds(lambda: self.predict(sample), repeats)
