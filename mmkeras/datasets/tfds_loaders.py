"""TensorFlow Datasets loaders, for users who are online (or have TFDS data on disk).

Offline, `tfds.load` retries for about 3.5 minutes before it fails. These
loaders first try the local copy (`download=False`), and only if it is
missing check in 3 s that TFDS' storage can be reached, failing at once with
a message that says what to do when it cannot.
"""

import socket

import numpy as np

from mmkeras.datasets.multimodal_dataset import MultimodalDataset, Split
from mmkeras.datasets.splits import stratified_split
from mmkeras.utils import validation

TFDS_HOST = ("storage.googleapis.com", 443)


class DatasetUnavailableError(ConnectionError):
    """A TFDS dataset is neither on disk nor downloadable right now."""


def _online(timeout=3.0):
    try:
        socket.create_connection(TFDS_HOST, timeout=timeout).close()
        return True
    except OSError:
        return False


def load_tfds(name, split, data_dir=None, download=True):
    """`tfds.load` that fails fast and clearly when the data cannot be had.

    Args:
        name: TFDS dataset name, e.g. `"mnist"`.
        split: TFDS split string.
        data_dir: TFDS data folder (default `~/tensorflow_datasets`).
        download: Allow downloading when the data is not on disk.
    """
    for argument, value in (("name", name), ("split", split)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"`{argument}` must be a non-empty string. "
                             f"Received: {argument}={value!r}")
    download = validation.check_bool("download", download)
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise ImportError(
            "TensorFlow Datasets is needed for this loader: pip install tensorflow-datasets"
        ) from err
    try:
        return tfds.load(name, split=split, data_dir=data_dir, download=False)
    except Exception as err:  # tfds raises AssertionError or DatasetNotFoundError
        where = data_dir or "~/tensorflow_datasets"
        if not download:
            raise DatasetUnavailableError(
                f"TFDS dataset {name!r} is not prepared in {where} and download=False. "
                "Run once online with download=True, or copy a prepared TFDS folder there. "
                "The embedded data sets (mmkeras.datasets.load) need no network."
            ) from err
        if not _online():
            raise DatasetUnavailableError(
                f"TFDS dataset {name!r} is not in {where} and TFDS' storage "
                f"({TFDS_HOST[0]}) cannot be reached. Run this when online, or use the "
                "embedded data sets (mmkeras.datasets.load('av_digits'), ('emoji')), "
                "which need no network."
            ) from err
    return tfds.load(name, split=split, data_dir=data_dir, download=True)


def _to_numpy(ds, keys):
    columns = {k: [] for k in keys}
    for example in ds.as_numpy_iterator():
        for k in keys:
            columns[k].append(example[k])
    return columns


def load_tfds_av_mnist(data_dir=None, download=True, seed=0, max_frames=100):
    """AV-MNIST from TFDS: `mnist` images paired by digit with `spoken_digit` audio.

    Each spoken digit (FSDD, 8 kHz) gets an MNIST image of the same digit
    (train images for the train and validation splits, test images for the
    test split); MFCCs are computed with tf.signal and normalised per
    utterance. Splits are 80/10/10 over utterances, stratified by digit.

    Returns:
        A `MultimodalDataset` with inputs `image` (28, 28, 1) and `audio` (None, 13).
    """
    from mmkeras.preprocessing import audio as audio_lib

    seed = validation.check_non_negative_int("seed", seed)
    max_frames = validation.check_positive_int("max_frames", max_frames)
    validation.check_bool("download", download)
    rng = np.random.default_rng(seed)
    speech = _to_numpy(load_tfds("spoken_digit", "train", data_dir, download), ["audio", "label"])
    images = {s: _to_numpy(load_tfds("mnist", s, data_dir, download), ["image", "label"])
              for s in ("train", "test")}
    labels = np.asarray(speech["label"], dtype="int32")
    split = stratified_split(labels, seed)
    frames = []
    for wave in speech["audio"]:
        wave = np.asarray(wave, dtype="float32")
        if np.abs(wave).max() > 1:
            wave = wave / 32768.0
        frames.append(audio_lib.audio_features(wave)[:max_frames])
    audio, _ = audio_lib.pad_sequences(frames, max_frames)
    paired = np.zeros((len(labels), 28, 28, 1), dtype="float32")
    for source, members in (("train", ("train", "validation")), ("test", ("test",))):
        pool_images = np.asarray(images[source]["image"], dtype="float32") / 255.0
        pool_labels = np.asarray(images[source]["label"])
        for digit in np.unique(labels):
            want = np.flatnonzero((labels == digit) & np.isin(split, members))
            have = np.flatnonzero(pool_labels == digit)
            if len(have) == 0:
                raise ValueError(f"TFDS mnist {source} split has no image of digit {digit}")
            chosen = rng.choice(have, size=len(want), replace=len(have) < len(want))
            paired[want] = pool_images[chosen].reshape(-1, 28, 28, 1)
    splits = {s: Split({"image": paired[split == s], "audio": audio[split == s]},
                       labels[split == s]) for s in ("train", "validation", "test")}
    return MultimodalDataset(
        name="tfds_av_mnist", splits=splits, class_names=[str(d) for d in range(10)],
        input_shapes={"image": (28, 28, 1), "audio": (None, audio_lib.N_MFCC)},
        description="TFDS mnist + spoken_digit paired by label (AV-MNIST style).",
    )


def load_tfds_imdb(data_dir=None, download=True, sequence_length=200, max_tokens=20000,
                   validation_fraction=0.1, seed=0):
    """IMDB movie reviews (text only, binary sentiment) from TFDS.

    Returns:
        A `MultimodalDataset` with one input, `text`; the vocabulary is built on
        the training reviews (ids 0 pad, 1 OOV).
    """
    from mmkeras.preprocessing.text import Vocabulary, tokenize

    sequence_length = validation.check_positive_int("sequence_length", sequence_length)
    # ids 0 and 1 are padding and out-of-vocabulary: fewer than 3 leaves no word
    max_tokens = validation.check_int("max_tokens", max_tokens, minimum=3)
    validation_fraction = validation.check_rate("validation_fraction", validation_fraction)
    seed = validation.check_non_negative_int("seed", seed)
    validation.check_bool("download", download)
    parts = {s: _to_numpy(load_tfds("imdb_reviews", s, data_dir, download), ["text", "label"])
             for s in ("train", "test")}
    tokens = {s: [tokenize(t.decode("utf-8") if isinstance(t, bytes) else str(t))
                  for t in parts[s]["text"]] for s in parts}
    vocabulary = Vocabulary.build(tokens["train"], max_size=max_tokens)
    ids = {s: vocabulary.encode(tokens[s], sequence_length) for s in parts}
    y = {s: np.asarray(parts[s]["label"], dtype="int32") for s in parts}
    order = np.random.default_rng(seed).permutation(len(y["train"]))
    n_val = int(len(order) * validation_fraction)
    val, train = order[:n_val], order[n_val:]
    splits = {
        "train": Split({"text": ids["train"][train]}, y["train"][train]),
        "validation": Split({"text": ids["train"][val]}, y["train"][val]),
        "test": Split({"text": ids["test"]}, y["test"]),
    }
    return MultimodalDataset(
        name="tfds_imdb", splits=splits, class_names=["negative", "positive"],
        input_shapes={"text": (sequence_length,)}, vocabulary=vocabulary.tokens,
        description="IMDB reviews (TFDS imdb_reviews), binary sentiment.",
    )
