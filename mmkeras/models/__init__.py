"""Models: the builder, the head, the articles' classifier, and tasks.

- `build_model(encoders, fusion, num_classes)`: a plain functional classifier
  (what the lessons read); `build_backbone(encoders, fusion)`: the trunk alone.
- `classification_head(num_classes)`: the Dense head every classifier shares.
- `conv_lstm_classifier()`: the source articles' Conv2D+LSTM image+text model.
- `MultimodalClassifier(network, preprocessor)`: the classification task, as
  keras-hub builds tasks: the network's graph, its `Preprocessor`, checked
  `fit`/`evaluate`/`predict` on arrays or raw inputs (paths, texts, a CSV),
  `classify` for class names; saved and loaded by Keras.
- `Task`: the same for any network (a dual encoder, a matcher).
- The names of the layers in built models are in `mmkeras.utils.layer_names`.
"""

from mmkeras.models.builder import build_backbone, build_model, make_optimizer
from mmkeras.models.conv_lstm_classifier import conv_lstm_classifier
from mmkeras.models.head import classification_head
from mmkeras.models.multimodal_classifier import MultimodalClassifier
from mmkeras.models.predictions import Predictions
from mmkeras.models.task import Task, is_model_ready

__all__ = [
    "MultimodalClassifier",
    "Predictions",
    "Task",
    "build_backbone",
    "build_model",
    "classification_head",
    "conv_lstm_classifier",
    "is_model_ready",
    "make_optimizer",
]
