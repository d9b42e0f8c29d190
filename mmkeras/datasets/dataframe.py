"""`from_dataframe`: bring your own files (images, texts, audio) as a tf.data pipeline."""

import dataclasses
import os
import threading
import warnings

import numpy as np

from mmkeras.preprocessing import audio as audio_lib
from mmkeras.preprocessing.text import Vocabulary, tokenize

ON_ERROR = ("raise", "skip")


class BadRowError(ValueError):
    """A row of the table that cannot be used; the message names row and value."""


@dataclasses.dataclass
class FileDataset:
    """What `from_dataframe` returns.

    Attributes:
        dataset: `tf.data.Dataset` of `({modality: batch}, label)`.
        class_names: Label id `i` is `class_names[i]`.
        input_shapes: `{modality: shape}` to build encoders with.
        vocabulary: Token list for the text column (ids 0 pad, 1 OOV), or None.
        num_rows: Rows in the table.
        skipped: `{row: reason}` for rows left out with `on_error="skip"`;
            files that fail to decode are added while the dataset is read.
    """

    dataset: object
    class_names: list
    input_shapes: dict
    vocabulary: list
    num_rows: int
    skipped: dict


def from_dataframe(table, label="label", image=None, text=None, audio=None, class_names=None,
                   image_size=(64, 64), color="rgb", vocabulary=None, sequence_length=32,
                   audio_features="mfcc", sample_rate=audio_lib.SAMPLE_RATE, max_seconds=None,
                   base_dir=None, batch_size=32, shuffle=False, seed=0, on_error="raise"):
    """Reads a table of file paths, texts and labels lazily and in parallel.

    Each modality is a column: `image` holds image paths (read with OpenCV),
    `audio` holds audio paths (read with librosa, MFCC or log-mel computed
    in-graph with tf.signal, normalised per utterance), `text` holds strings
    (tokenised up front, encoded with `vocabulary` or one built on this
    table). Relative paths are relative to `base_dir` (default: the CSV's
    folder, or the working directory for a DataFrame).

    Cheap checks run before anything is read: missing columns, missing files,
    empty texts, unknown labels. Files are decoded while the dataset is
    iterated; a file that fails to decode raises an error naming its row and
    path, or with `on_error="skip"` is left out, recorded in `skipped` and
    reported with a warning. Nothing is dropped silently.

    Args:
        table: A pandas DataFrame, a dict of equal-length columns, or the
            path of a CSV file.
        label: Column of class labels (any values; mapped to ids).
        image, text, audio: Column names of each modality present.
        class_names: All classes in id order; labels outside them are errors.
            Default: the sorted distinct labels of the table.
        image_size: `(height, width)` images are resized to.
        color: `"rgb"` or `"grayscale"`.
        vocabulary: A `Vocabulary` or token list to encode texts with (use the
            training table's for validation and test tables).
        sequence_length: Token ids per text.
        audio_features: `"mfcc"` or `"logmel"`.
        sample_rate: Audio is resampled to this rate.
        max_seconds: Audio is cut after this many seconds (default: no cut).
        base_dir: Folder that relative paths start from.
        batch_size: Samples per batch (audio batches are zero-padded).
        shuffle: Shuffle the rows each epoch.
        seed: Shuffle seed.
        on_error: `"raise"` or `"skip"`.

    Returns:
        A `FileDataset`.
    """
    import pandas as pd
    import tensorflow as tf

    if on_error not in ON_ERROR:
        raise ValueError(f"Unknown on_error. Received: on_error={on_error!r}; expected one of {ON_ERROR}")
    if audio_features not in ("mfcc", "logmel"):
        raise ValueError(
            f"Unknown audio_features. Received: {audio_features!r}; expected 'mfcc' or 'logmel'"
        )
    if isinstance(table, (str, os.PathLike)):
        if not os.path.isfile(table):
            raise FileNotFoundError(f"CSV file not found. Received: {str(table)!r}")
        base_dir = base_dir or os.path.dirname(os.path.abspath(table))
        table = pd.read_csv(table, keep_default_na=False)
    elif isinstance(table, dict):
        lengths = {k: len(v) for k, v in table.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Columns have different lengths. Received: {lengths}")
        table = pd.DataFrame(table)
    elif not isinstance(table, pd.DataFrame):
        raise TypeError(f"`table` must be a DataFrame or a CSV path. Received: {type(table).__name__}")
    base_dir = base_dir or os.getcwd()
    columns = {"label": label, "image": image, "text": text, "audio": audio}
    missing = [c for c in columns.values() if c is not None and c not in table.columns]
    if missing:
        raise ValueError(
            f"Columns not in the table. Received: {missing}; the table has {list(table.columns)}"
        )
    if image is None and text is None and audio is None:
        raise ValueError("Name at least one modality column: image=, text= or audio=")
    table = table.reset_index(drop=True)
    skipped = {}

    def bad(row, message):
        if on_error == "raise":
            raise BadRowError(f"Row {row}: {message}")
        skipped[row] = message

    labels = table[label].tolist()
    if class_names is None:
        class_names = sorted({str(v) for v in labels})
    class_names = [str(c) for c in class_names]
    class_index = {c: i for i, c in enumerate(class_names)}
    for row, value in enumerate(labels):
        if str(value) not in class_index:
            bad(row, f"label {value!r} is not a known class; known: {class_names}")

    def resolve(path):
        path = str(path)
        return path if os.path.isabs(path) else os.path.join(base_dir, path)

    paths = {}
    for modality, column in (("image", image), ("audio", audio)):
        if column is None:
            continue
        paths[modality] = [resolve(p) for p in table[column]]
        for row, path in enumerate(paths[modality]):
            if not str(table[column][row]).strip():
                bad(row, f"empty {modality} path in column {column!r}")
            elif not os.path.isfile(path):
                bad(row, f"{modality} file not found: {path!r}")
    if text is not None:
        token_lists = []
        for row, value in enumerate(table[text]):
            tokens = tokenize(str(value)) if isinstance(value, str) else []
            if not tokens:
                bad(row, f"empty text in column {text!r} (received {value!r})")
            token_lists.append(tokens)
        keep_rows = [r for r in range(len(table)) if r not in skipped]
        if vocabulary is None:
            vocabulary = Vocabulary.build([token_lists[r] for r in keep_rows])
        elif not isinstance(vocabulary, Vocabulary):
            vocabulary = Vocabulary(vocabulary)
        text_ids = vocabulary.encode(token_lists, sequence_length)
    if skipped:
        warnings.warn(f"from_dataframe skipped {len(skipped)} of {len(table)} rows: "
                      f"{_summary(skipped)}", stacklevel=2)
    rows = np.array([r for r in range(len(table)) if r not in skipped], dtype="int64")
    if len(rows) == 0:
        raise ValueError(f"No usable rows left in the table: {_summary(skipped)}")
    label_ids = np.array([class_index.get(str(v), -1) for v in labels], dtype="int32")
    lock = threading.Lock()

    def read_row(row):
        row = int(row)
        out, ok = [], True
        try:
            if image is not None:
                from mmkeras.preprocessing.image import read_image

                out.append(read_image(paths["image"][row], size=image_size, color=color))
            if audio is not None:
                wave, _ = audio_lib.load_audio(paths["audio"][row], sr=sample_rate)
                if max_seconds:
                    wave = wave[: int(max_seconds * sample_rate)]
                out.append(wave)
        except (OSError, ValueError) as err:
            if on_error == "raise":
                raise BadRowError(f"Row {row}: {err}") from err
            with lock:
                if row not in skipped:
                    skipped[row] = str(err)
                    warnings.warn(f"from_dataframe skipped row {row}: {err}", stacklevel=2)
            ok = False
            channels = 1 if color == "grayscale" else 3
            out = ([np.zeros(tuple(image_size) + (channels,), "float32")] if image else []) + (
                [np.zeros(audio_lib.FRAME_LENGTH, "float32")] if audio else [])
        return out + [np.array(ok)]

    types = ([tf.float32] if image else []) + ([tf.float32] if audio else []) + [tf.bool]
    channels = 1 if color == "grayscale" else 3

    def load(row):
        values = tf.numpy_function(read_row, [row], types, stateful=False)
        features, i = {}, 0
        if image is not None:
            features["image"] = tf.ensure_shape(values[i], tuple(image_size) + (channels,))
            i += 1
        if audio is not None:
            wave = tf.ensure_shape(values[i], (None,))
            wave = tf.pad(wave, [[0, tf.maximum(audio_lib.FRAME_LENGTH - tf.shape(wave)[0], 0)]])
            compute = audio_lib.mfcc_tf if audio_features == "mfcc" else audio_lib.logmel_tf
            frames = compute(wave, sr=sample_rate)
            mean, var = tf.nn.moments(frames, axes=[0], keepdims=True)
            features["audio"] = (frames - mean) / (tf.sqrt(var) + 1e-5)
            i += 1
        if text is not None:
            features["text"] = tf.gather(text_ids, row)
        return features, tf.gather(label_ids, row), values[-1]

    ds = tf.data.Dataset.from_tensor_slices(rows)
    if shuffle:
        ds = ds.shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)
    ds = ds.filter(_decoded).map(_without_flag)
    ds = ds.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)

    n_features = audio_lib.N_MFCC if audio_features == "mfcc" else audio_lib.N_MELS
    shapes = {}
    if image is not None:
        shapes["image"] = tuple(image_size) + (channels,)
    if text is not None:
        shapes["text"] = (sequence_length,)
    if audio is not None:
        shapes["audio"] = (None, n_features)
    return FileDataset(dataset=ds, class_names=class_names, input_shapes=shapes,
                       vocabulary=vocabulary.tokens if text is not None else None,
                       num_rows=len(table), skipped=skipped)


def _decoded(features, label, ok):
    return ok


def _without_flag(features, label, ok):
    return features, label


def _summary(skipped, limit=5):
    items = list(skipped.items())
    text = "; ".join(f"row {r}: {m}" for r, m in items[:limit])
    return text + (f"; … and {len(items) - limit} more" if len(items) > limit else "")
