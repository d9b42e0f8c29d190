"""mmkeras: multimodal fusion in Keras 3.

- `conv_lstm_classifier()`: the source articles' Conv2D+LSTM image+text model.
- `build_model(encoders, fusion, num_classes)`: any modalities, any fusion;
  `build_backbone(encoders, fusion)`: the encoders-plus-fusion trunk alone.
- `mmkeras.models.MultimodalClassifier`: a classifier with its preprocessor,
  checked inputs, raw inputs (paths, texts, CSV), saved and loaded by Keras.
- `mmkeras.encoders`, `mmkeras.fusion`, `mmkeras.layers`: the parts.
- `mmkeras.datasets`, `mmkeras.preprocessing`: offline data, readers, converters.
- `mmkeras.training`, `mmkeras.evaluation`, `mmkeras.experiments`: fitting, scoring, comparing.
- `mmkeras.deploy`: TFLite (every model, quantised), pruning, distillation.
- `mmkeras.tasks`: matching and retrieval (dual encoder, matcher, `Retriever`), multi-task.
- `mmkeras.plots`: figures; `mmkeras.utils`: argument and input checks.

The folders are floors, each importing only the ones below it: `utils`;
`preprocessing`; `layers`, `fusion`, `encoders` | `datasets`; `models`,
`tasks`; `training`, `evaluation`; `deploy`, `experiments`, `plots`; `cli`.

`import mmkeras` loads the model parts, the tasks and the converters (so
that `keras.models.load_model` finds every mmkeras class); data, training,
evaluation, experiments and deployment load on first use (`mmkeras.datasets`
...). `python -m mmkeras` loads nothing until a command needs it, so that
`--help` answers without TensorFlow.
"""

import importlib
import sys

from mmkeras import moved_modules

__version__ = "0.2.0"

moved_modules.install()

# Loaded on first attribute access (PEP 562).
_LAZY_SUBMODULES = ("cli", "datasets", "deploy", "encoders", "evaluation", "experiments",
                    "fusion", "layers", "models", "plots", "preprocessing", "tasks", "training",
                    "utils")
_LAZY_NAMES = {
    "build_backbone": "mmkeras.models", "build_model": "mmkeras.models",
    "classification_head": "mmkeras.models", "conv_lstm_classifier": "mmkeras.models",
    "MultimodalClassifier": "mmkeras.models", "Predictions": "mmkeras.models",
    "check_inputs": "mmkeras.utils.input_check",
    "Predictor": "mmkeras.models.predictor", "load_predictor": "mmkeras.models.predictor",
    "save_predictor": "mmkeras.models.predictor",
}


def _running_the_command_line():
    """True while `python -m mmkeras` imports this package before its `__main__`
    (Python sets `sys.argv[0]` to "-m" for that moment)."""
    return bool(sys.argv) and sys.argv[0] == "-m"


if not _running_the_command_line():
    from mmkeras.utils import tf_logging

    tf_logging.import_tensorflow_quietly()
    # TensorFlow's Python warnings ("... triggered tf.function retracing" when a notebook
    # builds and predicts with many small models) at ERROR, unless asked for.
    tf_logging.quiet_python_loggers()
    # Every serialisable class registers itself with Keras on import.
    from mmkeras import encoders, fusion, layers, preprocessing, tasks  # noqa: F401
    from mmkeras.models import (  # noqa: F401
        MultimodalClassifier,
        Predictions,
        build_backbone,
        build_model,
        classification_head,
        conv_lstm_classifier,
    )
    from mmkeras.utils.input_check import check_inputs  # noqa: F401


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"mmkeras.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    if f"mmkeras.{name}" in moved_modules.MOVED:
        return moved_modules.load(f"mmkeras.{name}")
    raise AttributeError(f"module 'mmkeras' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES) | set(_LAZY_NAMES))


__all__ = [
    "MultimodalClassifier",
    "Predictions",
    "__version__",
    "build_backbone",
    "build_model",
    "check_inputs",
    "classification_head",
    "conv_lstm_classifier",
    "datasets",
    "deploy",
    "encoders",
    "evaluation",
    "experiments",
    "fusion",
    "layers",
    "models",
    "plots",
    "preprocessing",
    "tasks",
    "training",
]
