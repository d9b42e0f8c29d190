"""mmkeras: multimodal fusion in Keras 3.

- `conv_lstm_classifier()`: the source articles' Conv2D+LSTM image+text model.
- `build_model(encoders, fusion, num_classes)`: any modalities, any fusion;
  `build_backbone(encoders, fusion)`: the encoders-plus-fusion trunk alone.
- `mmkeras.encoders`, `mmkeras.fusion`, `mmkeras.layers`: the parts.
- `mmkeras.datasets`, `mmkeras.preprocessing`: offline data and readers.
- `mmkeras.training`, `mmkeras.evaluation`, `mmkeras.experiments`: fitting, scoring, comparing.
- `mmkeras.export`: SavedModel and TFLite (every model, quantised);
  `mmkeras.compression`: pruning and distillation.
- `mmkeras.tasks`: matching and retrieval (dual encoder, matcher, `Retriever`).
- `Predictor(model, dataset)`, `load_predictor(path)`: a model saved with its
  preprocessor, predicting class names from raw files, strings and arrays.

`import mmkeras` loads the model parts only; the data, training, evaluation,
experiment and export modules load on first use (`mmkeras.datasets` …), so
that building a model does not import pandas or matplotlib.
"""

import importlib

from mmkeras import tf_logging

tf_logging.import_tensorflow_quietly()

__version__ = "0.1.0"

from mmkeras import encoders, fusion, layer_names, layers
from mmkeras.builder import build_backbone, build_model
from mmkeras.head import classification_head
from mmkeras.input_check import check_inputs
from mmkeras.predictor import Predictions, Predictor, load_predictor, save_predictor
from mmkeras.conv_lstm_classifier import conv_lstm_classifier

# Loaded on first attribute access (PEP 562).
_LAZY_SUBMODULES = ("compression", "datasets", "evaluation", "experiments", "export", "plots",
                    "preprocessing", "tasks", "timing", "training", "validation")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"mmkeras.{name}")
    raise AttributeError(f"module 'mmkeras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))


__all__ = [
    "Predictions",
    "Predictor",
    "__version__",
    "build_backbone",
    "build_model",
    "check_inputs",
    "classification_head",
    "compression",
    "conv_lstm_classifier",
    "datasets",
    "encoders",
    "evaluation",
    "experiments",
    "export",
    "fusion",
    "layer_names",
    "layers",
    "load_predictor",
    "preprocessing",
    "save_predictor",
    "tasks",
    "training",
]
