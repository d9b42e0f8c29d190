"""`load(name)`: the embedded datasets by name."""

from mmkeras.datasets.av_digits import load_av_digits
from mmkeras.datasets.emoji import load_emoji
from mmkeras.datasets.spoken_words import load_spoken_words
from mmkeras.utils import validation

DATASETS = {
    "av_digits": load_av_digits,
    "emoji": load_emoji,
    "spoken_words": load_spoken_words,
}


def load(name, **kwargs):
    """Loads an embedded dataset shipped in the package (`datasets.data_dir()`), offline.

    Args:
        name: One of `DATASETS`: `"av_digits"` (image + audio),
            `"emoji"` (image + text), `"spoken_words"` (audio).
        **kwargs: Options of that dataset's loader (e.g. `audio_noise=` for
            av_digits, `label="subcategory"` for emoji).

    Returns:
        A `MultimodalDataset`.
    """
    validation.check_choice("name", name, sorted(DATASETS))
    return DATASETS[name](**kwargs)
