"""Per-modality encoders: each returns a functional `keras.Model` that maps
one modality's input to a fixed-size embedding.

| modality | encoders |
|---|---|
| image | `image_conv_flatten` (the documents'), `image_cnn`, `image_flatten_dense` (the documents' PyTorch variant), `image_backbone` |
| text | `text_lstm` (the documents'), `text_bigru`, `text_conv1d`, `text_transformer`, `text_subword_bag` (hashed character n-grams) |
| audio / sequence | `sequence_lstm`, `sequence_conv1d` |
| video | `video_cnn_lstm` |

`standard_encoders(dataset)` builds the ones a comparison uses for a dataset's inputs.

Build a fresh encoder for every model: passing the same encoder object to
two models shares its weights between them.
"""

from mmkeras.encoders.image import (
    BACKBONES,
    image_backbone,
    image_cnn,
    image_conv_flatten,
    image_flatten_dense,
)
from mmkeras.encoders.pretrained import load_encoder, read_word_vectors, set_word_vectors
from mmkeras.encoders.sequence import sequence_conv1d, sequence_lstm
from mmkeras.encoders.standard import standard_encoders
from mmkeras.encoders.text import (
    text_bigru,
    text_conv1d,
    text_lstm,
    text_subword_bag,
    text_transformer,
)
from mmkeras.encoders.video import video_cnn_lstm
from mmkeras.encoders.views import encoder_view

__all__ = [
    "BACKBONES",
    "encoder_view",
    "image_backbone",
    "image_cnn",
    "image_conv_flatten",
    "image_flatten_dense",
    "load_encoder",
    "read_word_vectors",
    "sequence_conv1d",
    "sequence_lstm",
    "set_word_vectors",
    "standard_encoders",
    "text_bigru",
    "text_conv1d",
    "text_lstm",
    "text_subword_bag",
    "text_transformer",
    "video_cnn_lstm",
]
