"""mmkeras: multimodal fusion in Keras 3.

- `seed_classifier()`: the source documents' Conv2D+LSTM image+text model.
- `build_model(encoders, fusion, num_classes)`: any modalities, any fusion.
- `mmkeras.encoders`, `mmkeras.fusion`, `mmkeras.layers`: the parts.
- `mmkeras.datasets`, `mmkeras.preprocessing`: offline data and readers.
- `mmkeras.training`, `mmkeras.evaluation`, `mmkeras.experiments`: fitting, scoring, comparing.
- `mmkeras.export`: SavedModel and TFLite.
"""

__version__ = "0.1.0"

from mmkeras import datasets, encoders, fusion, layers, preprocessing
from mmkeras import evaluation, experiments, export, training
from mmkeras.builder import build_model
from mmkeras.head import classification_head
from mmkeras.input_check import check_inputs
from mmkeras.seed_classifier import seed_classifier

__all__ = [
    "__version__",
    "build_model",
    "check_inputs",
    "classification_head",
    "datasets",
    "encoders",
    "evaluation",
    "experiments",
    "export",
    "fusion",
    "layers",
    "preprocessing",
    "seed_classifier",
    "training",
]
