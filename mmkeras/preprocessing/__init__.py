"""Per-modality preprocessing, usable one function at a time, and the converters
that travel with a trained model.

- `mmkeras.preprocessing.image`: OpenCV reading, scaling, standardising, augmentation layers.
- `mmkeras.preprocessing.text`: offline tokenisation, stop words, vocabulary, augmentation.
- `mmkeras.preprocessing.audio`: librosa and tf.signal features, normalisation, augmentation.
- `ImageConverter`, `TextTokenizer`, `SubwordTokenizer`, `AudioConverter`: one modality's raw values
  (paths, strings, waveforms, arrays) to its model input, each with its own config.
- `Preprocessor`: a converter per modality, the class names and the table's
  column names; a `mmkeras.models.MultimodalClassifier` carries one.
"""

from mmkeras.preprocessing import audio, image, text
from mmkeras.preprocessing.audio_converter import AudioConverter
from mmkeras.preprocessing.converter import Converter, is_missing
from mmkeras.preprocessing.image_converter import ImageConverter
from mmkeras.preprocessing.preprocessor import Preprocessor, as_columns
from mmkeras.preprocessing.text_tokenizer import SubwordTokenizer, TextTokenizer

__all__ = [
    "AudioConverter",
    "Converter",
    "ImageConverter",
    "Preprocessor",
    "SubwordTokenizer",
    "TextTokenizer",
    "as_columns",
    "audio",
    "image",
    "is_missing",
    "text",
]
