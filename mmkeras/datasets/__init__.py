"""Datasets: embedded real data (offline), your own files, and TFDS loaders.

- `load(name)`: `"av_digits"` (image + audio), `"emoji"` (image + text),
  `"spoken_words"` (audio), from the package's `data/` folder, offline, in about a second.
- `load_pairs(name)`: the same data as matching pairs (`y` = match group), for
  retrieval (`mmkeras.tasks`).
- `to_tf_dataset(split, ...)`: a `tf.data` pipeline of `({modality: x}, y)`;
  `bucketing=True` batches sequences at their own length (`bucketing` module).
- `from_dataframe(table, ...)`: your own image paths, texts and audio paths in a
  table; `from_folder(folder)`: one sub-folder of images per class. Both return
  the same `MultimodalDataset` as `load`, with splits and a `preprocessor`.
- `load_tfds_av_mnist()`, `load_tfds_imdb()`: for users who are online.
"""

from mmkeras.datasets.dataframe import BadRowError, from_dataframe, from_folder
from mmkeras.datasets.multimodal_dataset import MultimodalDataset, Split
from mmkeras.datasets.pairs import PAIRS, load_pairs, unique_groups
from mmkeras.datasets.paths import data_dir
from mmkeras.datasets.pipeline import to_tf_dataset
from mmkeras.datasets.registry import DATASETS, load
from mmkeras.datasets.tfds_loaders import (
    DatasetUnavailableError,
    load_tfds,
    load_tfds_av_mnist,
    load_tfds_imdb,
)

__all__ = [
    "BadRowError",
    "DATASETS",
    "DatasetUnavailableError",
    "MultimodalDataset",
    "PAIRS",
    "Split",
    "data_dir",
    "from_dataframe",
    "from_folder",
    "load",
    "load_pairs",
    "load_tfds",
    "load_tfds_av_mnist",
    "load_tfds_imdb",
    "to_tf_dataset",
    "unique_groups",
]
