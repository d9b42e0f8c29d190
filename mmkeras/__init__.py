"""mmkeras: multimodal fusion in Keras 3.

- `seed_classifier()`: the source documents' Conv2D+LSTM image+text model.
- `build_model(encoders, fusion, num_classes)`: any modalities, any fusion.
- `mmkeras.encoders`, `mmkeras.fusion`, `mmkeras.layers`: the parts.
"""

__version__ = "0.1.0"

from mmkeras import datasets, encoders, fusion, layers, preprocessing
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
    "fusion",
    "layers",
    "preprocessing",
    "seed_classifier",
]
