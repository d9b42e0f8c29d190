"""Per-modality preprocessing, usable one function at a time.

- `mmkeras.preprocessing.image`: OpenCV reading, scaling, standardising, augmentation layers.
- `mmkeras.preprocessing.text`: offline tokenisation, stop words, vocabulary, augmentation.
- `mmkeras.preprocessing.audio`: librosa and tf.signal features, normalisation, augmentation.
"""

from mmkeras.preprocessing import audio, image, text

__all__ = ["audio", "image", "text"]
