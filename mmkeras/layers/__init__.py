"""Small reusable Keras layers the encoders and fusions are made of."""

from mmkeras.layers.apply_mask import ApplyMask
from mmkeras.layers.composite_layer import CompositeLayer
from mmkeras.layers.last_step import LastStep
from mmkeras.layers.masked_global_pooling import MaskedGlobalPooling1D
from mmkeras.layers.modality_presence import ModalityPresence
from mmkeras.layers.padding_mask import PaddingMask
from mmkeras.layers.position_embedding import PositionEmbedding
from mmkeras.layers.subword_embedding import SubwordEmbedding
from mmkeras.layers.tiled_max_pooling import TiledMaxPooling2D
from mmkeras.layers.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "ApplyMask",
    "CompositeLayer",
    "LastStep",
    "MaskedGlobalPooling1D",
    "ModalityPresence",
    "PaddingMask",
    "PositionEmbedding",
    "SubwordEmbedding",
    "TiledMaxPooling2D",
    "TransformerEncoderBlock",
]
