"""Deployment: a trained model made small and run outside Keras.

- `convert(model, quantization)`: any mmkeras model to TFLite bytes
  (`"float32"`, `"dynamic"`, `"float16"`, `"int8"`), through a SavedModel
  (`export_saved_model`); models with LSTM/GRU layers are unrolled at a fixed
  length first (`deployable_model`, `deployment_path`).
- `TFLiteClassifier(content or "m.tflite")`: runs the converted model on
  LiteRT's interpreter with the same dict inputs as `model.predict`.
- `MagnitudePruning`: a callback that zeroes the smallest weights of every
  prunable kernel, following a `ConstantSparsity` or `PolynomialSparsity`
  schedule during fine-tuning; `strip_pruning` returns a plain model.
- `Distiller`: trains a student on the labels and on a teacher's
  temperature-softened probabilities.

Modules: `unrolling` (rebuilding recurrent models), `conversion` (SavedModel
and TFLite), `tflite_runner` (the interpreter), `pruning`, `distillation`.
They use the models only (no data or experiment code).
"""

from mmkeras.deploy.conversion import (
    QUANTIZATIONS,
    check_representative_data,
    convert,
    export_saved_model,
    to_tflite,
)
from mmkeras.deploy.distillation import Distiller, distillation_loss
from mmkeras.deploy.pruning import (
    ConstantSparsity,
    MagnitudePruning,
    PolynomialSparsity,
    gzipped_size,
    prunable_weights,
    sparsity,
    strip_pruning,
)
from mmkeras.deploy.tflite_runner import (
    TFLiteClassifier,
    has_int8_activations,
    load_interpreter,
    read_model_content,
)
from mmkeras.deploy.unrolling import deployable_model, deployment_path, recurrent_layers

__all__ = [
    "QUANTIZATIONS",
    "ConstantSparsity",
    "Distiller",
    "MagnitudePruning",
    "PolynomialSparsity",
    "TFLiteClassifier",
    "check_representative_data",
    "convert",
    "deployable_model",
    "deployment_path",
    "distillation_loss",
    "export_saved_model",
    "gzipped_size",
    "has_int8_activations",
    "load_interpreter",
    "prunable_weights",
    "read_model_content",
    "recurrent_layers",
    "sparsity",
    "strip_pruning",
    "to_tflite",
]
