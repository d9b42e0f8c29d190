"""Your own files as a `MultimodalDataset`: `from_dataframe` and `from_folder`.

A table (CSV, DataFrame or dict of columns) names, per row, an image path, a
text, an audio path and a label. Reading it takes readable steps: check the
columns, read the labels, assign the splits, find what is missing, settle
the image size and the vocabulary on the training rows, then decode every
file in parallel (in order, so the same seed gives the same numbers).
"""

import os
import warnings

import numpy as np

from mmkeras.datasets.splits import stratified_split
from mmkeras.preprocessing import audio as audio_lib
from mmkeras.preprocessing.audio_converter import AudioConverter
from mmkeras.preprocessing.converter import is_missing
from mmkeras.preprocessing.image import COLORS
from mmkeras.preprocessing.image_converter import ImageConverter
from mmkeras.preprocessing.preprocessor import Preprocessor
from mmkeras.preprocessing.text import TOKENIZERS, Vocabulary, tokenize
from mmkeras.preprocessing.text_tokenizer import TextTokenizer
from mmkeras.utils import validation

MODALITIES = ("image", "text", "audio")
SPLITS = ("train", "validation", "test")
MISSING = ("keep", "raise", "skip")
ON_ERROR = ("raise", "skip")


class BadRowError(ValueError):
    """A row of the table that cannot be used; the message names row and value."""


def from_dataframe(table, label="label", image=None, text=None, audio=None, *,
                   split=(0.8, 0.1, 0.1), id=None, class_names=None, vocabulary=None,
                   image_size=None, color=None, sequence_length=None, tokenizer="regexp",
                   audio_features="mfcc", sample_rate=audio_lib.SAMPLE_RATE, max_frames=None,
                   base_dir=None, missing="keep", on_error="raise", seed=0, name="my_data"):
    """Reads a table of file paths, texts and labels into a `MultimodalDataset`.

    Each modality is a column: `image` holds image paths (read with OpenCV,
    as float32 in [0, 1]), `text` holds strings (tokenised in any language,
    ids from a vocabulary built on the training rows), `audio` holds audio
    paths (MFCC or log-mel frames, standardised per utterance). Relative paths
    start at `base_dir` (default: the CSV's folder, else the working folder).
    Files are decoded in parallel, in order: the result is the same on every
    run, and fits in memory (10,000 RGB images of 64×64 take 0.5 GB).

    An empty cell (an empty text or path, or NaN) is a *missing modality* for
    that row: its input is zeros and `split.missing[modality]` is `True`,
    which is how `ModalityDropout` and the robustness checks represent one.
    A path to a file that does not exist, or exists and cannot be decoded, is
    an error (or, with `on_error="skip"`, the row is left out and listed in
    `report["skipped"]`). Nothing is dropped silently.

    Args:
        table: A pandas DataFrame, a dict of equal-length columns, a CSV path,
            or `{"train": t, "validation": t, "test": t}` separate tables
            (they share one vocabulary and one class list).
        label: Column of class labels (any values; empty cells are errors).
        image: Column of image paths, if the table has images.
        text: Column of texts, if it has texts.
        audio: Column of audio paths, if it has audio.
        split: A column name whose values are `train` / `validation` /
            `test`, or fractions `(train, validation, test)`: a stratified,
            seeded split. Ignored with separate tables.
        id: Column of sample ids (default: the image path, else the audio
            path, else the row number).
        class_names: All classes in id order (default: the sorted labels of
            the whole table); labels outside them are errors.
        vocabulary: A `Vocabulary` or token list (default: built on the
            training rows; ids 0 padding, 1 unknown).
        image_size: `(height, width)`; default: the images' own, when they
            all agree (if they differ, the error lists the sizes).
        color: `"rgb"` or `"grayscale"`; default: grayscale if every image is.
        sequence_length: Token ids per text; default: the longest training text.
        tokenizer: A `mmkeras.preprocessing.text.tokenize` method.
        audio_features: `"mfcc"` (13) or `"logmel"` (40).
        sample_rate: Audio is resampled to this rate.
        max_frames: Audio frames kept per clip (default: all).
        base_dir: Folder relative paths start from.
        missing: An empty cell: `"keep"` as a missing modality, `"raise"`,
            or `"skip"` the row (counted in the report).
        on_error: A bad row (missing or corrupt file, bad label): `"raise"`
            or `"skip"` it (listed in the report, with a warning).
        seed: Seed of the stratified split.
        name: The dataset's name (used in result tables).

    Returns:
        A `MultimodalDataset` with its `preprocessor` (for predicting on new
        files) and `report` (`rows`, `missing` counts, `skipped` rows).

    Example:

    ```python
    data = mmkeras.datasets.from_dataframe("photos.csv", image="file", text="caption",
                                           label="label")
    results, summary = mmkeras.experiments.compare(data, out="my-study")
    ```
    """
    settings = _check_options(missing=missing, on_error=on_error, image_size=image_size,
                              color=color, sequence_length=sequence_length, tokenizer=tokenizer,
                              audio_features=audio_features, sample_rate=sample_rate,
                              max_frames=max_frames, vocabulary=vocabulary)
    columns = {m: c for m, c in (("image", image), ("text", text), ("audio", audio)) if c}
    if not columns:
        raise ValueError("Name at least one modality column: image=, text= or audio=. "
                         "Received: none")
    split = _check_fractions(split)
    table, base_dir, given_split = _read_tables(table, base_dir)
    _check_columns(table, [label, id] + list(columns.values()))
    issues = _RowIssues(on_error)
    labels = _read_labels(table, label, issues)
    absent = _find_missing(table, columns, missing, issues, tokenizer)
    _check_files_exist(table, columns, absent, base_dir, issues)
    # Files are decoded before the split: a corrupt file is reported before a split error.
    decoded = _decode_files(table, columns, absent, base_dir, settings, issues)
    splits = _assign_splits(table, given_split if given_split is not None else split, labels,
                            issues, seed)
    class_names = _class_names(labels, class_names, issues)
    rows = issues.rows_left(len(table))
    _check_training_classes(labels, splits, rows)
    if "text" in columns:
        decoded["text"] = _encode_texts(table, columns["text"], absent["text"], rows, splits,
                                        settings)
    preprocessor = Preprocessor({m: decoded[m][0] for m in columns}, class_names,
                                {**columns, "label": label}, dataset=name)
    x, flags = {}, {}
    for modality, (_, arrays, missing_flags, decoded_rows) in decoded.items():
        at = np.searchsorted(decoded_rows, rows)
        x[modality], flags[modality] = arrays[at], missing_flags[at]
    ids = _ids(table, id, columns, base_dir)[rows]
    y = np.array([class_names.index(labels[r]) for r in rows], dtype="int32")
    return _dataset(name, x, y, ids, flags, splits[rows], class_names, preprocessor, issues,
                    len(table))


def _check_options(**options):
    """The reading options checked before anything is read: a bad value is reported
    before any problem of the table."""
    validation.check_choice("missing", options["missing"], MISSING)
    validation.check_choice("on_error", options["on_error"], ON_ERROR)
    validation.check_choice("audio_features", options["audio_features"], audio_lib.FEATURES)
    validation.check_choice("tokenizer", options["tokenizer"], TOKENIZERS)
    if options["color"] is not None:
        validation.check_choice("color", options["color"], COLORS)
    if options["image_size"] is not None:
        size = validation.check_positive_ints("image_size", options["image_size"])
        if len(size) != 2:
            raise ValueError("`image_size` must be (height, width). "
                             f"Received: image_size={options['image_size']!r}")
    for name in ("sequence_length", "max_frames"):
        validation.check_positive_int(name, options[name], allow_none=True)
    validation.check_positive_int("sample_rate", options["sample_rate"])
    return options


def from_folder(folder, split=(0.8, 0.1, 0.1), **kwargs):
    """Images in one sub-folder per class (`folder/cat/1.png`, ...) as a dataset.

    The files and classes are listed with Keras' own
    `keras.utils.image_dataset_from_directory` conventions (class names are
    the sorted folder names); reading follows `from_dataframe`.

    Args:
        folder: The folder of class folders.
        split: As in `from_dataframe`.
        **kwargs: Other `from_dataframe` options (`image_size`, `color`, ...).
    """
    import keras

    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Folder not found. Received: folder={str(folder)!r}")
    listing = keras.utils.image_dataset_from_directory(
        folder, labels="inferred", shuffle=False, batch_size=None, verbose=False)
    paths = list(listing.file_paths)
    if not paths:
        raise ValueError(f"No image files in class folders under {str(folder)!r}")
    labels = [os.path.basename(os.path.dirname(p)) for p in paths]
    kwargs.setdefault("class_names", listing.class_names)
    kwargs.setdefault("name", os.path.basename(os.path.normpath(folder)))
    return from_dataframe({"image": paths, "label": labels}, image="image", split=split,
                          **kwargs)


class _RowIssues:
    """Bad rows: raised at once, or skipped and reported (never dropped silently)."""

    def __init__(self, on_error):
        self.on_error = on_error
        self.skipped = {}
        self.missing_skipped = {}

    def bad(self, row, message):
        if self.on_error == "raise":
            raise BadRowError(f"Row {row}: {message}")
        self.skipped.setdefault(int(row), message)

    def rows_left(self, n):
        gone = set(self.skipped) | set(self.missing_skipped)
        return np.array([r for r in range(n) if r not in gone], dtype="int64")


def _read_tables(table, base_dir):
    """`(DataFrame, base_dir, split names or None)` from any accepted table form."""
    import pandas as pd

    if isinstance(table, dict) and table and set(table) <= set(SPLITS) and all(
            not isinstance(v, (list, tuple, np.ndarray)) for v in table.values()):
        parts = [_read_table(table[s], base_dir) for s in SPLITS if s in table]
        if set(table) != set(SPLITS):
            raise ValueError(f"Separate tables need all of {SPLITS}. Received: {sorted(table)}")
        bases = {b for _, b in parts}
        frame = pd.concat([t for t, _ in parts], ignore_index=True)
        names = np.concatenate([[s] * len(t) for s, (t, _) in zip(SPLITS, parts)])
        return frame, bases.pop() if len(bases) == 1 else base_dir or os.getcwd(), names
    frame, base = _read_table(table, base_dir)
    return frame, base, None


def _read_table(table, base_dir):
    import pandas as pd

    if isinstance(table, (str, os.PathLike)):
        if not os.path.isfile(table):
            raise FileNotFoundError(f"CSV file not found. Received: {os.fspath(table)!r}")
        base_dir = base_dir or os.path.dirname(os.path.abspath(table))
        # keep_default_na=False: a caption "NaN" or "None" is text, an empty cell is "".
        table = pd.read_csv(table, keep_default_na=False, dtype=str)
    elif isinstance(table, dict):
        lengths = {k: len(v) for k, v in table.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Columns have different lengths. Received: {lengths}")
        table = pd.DataFrame(table)
    elif not isinstance(table, pd.DataFrame):
        raise TypeError(f"`table` must be a DataFrame, a dict of columns or a CSV path. "
                        f"Received: {type(table).__name__}")
    return table.reset_index(drop=True), base_dir or os.getcwd()


def _check_columns(table, names):
    absent = [c for c in names if c is not None and c not in table.columns]
    if absent:
        raise ValueError(
            f"Columns not in the table. Received: {absent}; the table has {list(table.columns)}")


def _read_labels(table, column, issues):
    labels = []
    for row, value in enumerate(table[column].tolist()):
        if is_missing(value):
            issues.bad(row, f"empty label in column {column!r} (received {value!r})")
        labels.append(str(value).strip())
    return labels


def _find_missing(table, columns, policy, issues, tokenizer):
    """`{modality: bool per row}`: empty cells (or texts with no word)."""
    absent = {}
    for modality, column in columns.items():
        values = table[column].tolist()
        flags = np.array([is_missing(v) for v in values], dtype=bool)
        if modality == "text":
            flags |= np.array([isinstance(v, str) and not tokenize(v, method=tokenizer)
                               for v in values], dtype=bool)
        absent[modality] = flags
    for row in np.flatnonzero(np.any(np.stack(list(absent.values())), axis=0)):
        empty = [m for m in absent if absent[m][row]]
        value = table[columns[empty[0]]].iloc[row]
        message = f"empty {empty[0]} in column {columns[empty[0]]!r} (received {value!r})"
        if policy == "raise":
            raise BadRowError(f"Row {row}: {message}; pass missing='keep' to keep it as a "
                              "missing modality or missing='skip' to leave the row out")
        if policy == "skip":
            issues.missing_skipped.setdefault(int(row), message)
    every = np.all(np.stack(list(absent.values())), axis=0)
    for row in np.flatnonzero(every):
        if row not in issues.missing_skipped:
            issues.bad(row, "every modality is empty")
    return absent


def _assign_splits(table, split, labels, issues, seed):
    """A `train` / `validation` / `test` name per row."""
    if isinstance(split, str):
        _check_columns(table, [split])
        names = np.array([str(v).strip().lower() for v in table[split]], dtype=object)
        for row in np.flatnonzero(~np.isin(names, SPLITS)):
            issues.bad(row, f"split {table[split][row]!r} in column {split!r} is not one of "
                            f"{SPLITS}")
        return names
    if isinstance(split, np.ndarray):
        return split.astype(object)
    return _stratified(labels, split, issues.rows_left(len(labels)), seed)


def _stratified(labels, fractions, rows, seed):
    fractions = _check_fractions(fractions)
    y = np.array([labels[r] for r in rows])
    values, counts = np.unique(y, return_counts=True)
    rare = {str(v): int(c) for v, c in zip(values, counts) if c < 3}
    if rare:
        raise ValueError(f"A stratified split needs at least 3 rows per class (one per split). "
                         f"Received: {rare}; add rows, drop those classes, or pass a split column")
    names = np.empty(len(labels), dtype=object)
    names[:] = "skipped"
    try:
        names[rows] = stratified_split(y, seed, fractions)
    except ValueError as err:
        raise ValueError(f"Cannot split {len(rows)} rows of {len(values)} classes with "
                         f"split={fractions}: {err}. Give validation and test larger "
                         "fractions, or a split column.") from err
    return names


def _check_fractions(split):
    if isinstance(split, str):
        return split
    fractions = tuple(float(f) for f in split) if isinstance(split, (list, tuple)) else ()
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError("`split` must be a column name or three fractions > 0 summing to 1, "
                         f"e.g. (0.8, 0.1, 0.1). Received: split={split!r}")
    return fractions


def _class_names(labels, class_names, issues):
    if class_names is None:
        return sorted({labels[r] for r in issues.rows_left(len(labels))})
    class_names = [str(c) for c in class_names]
    for row in issues.rows_left(len(labels)):
        if labels[row] not in class_names:
            issues.bad(row, f"label {labels[row]!r} is not a known class; known: {class_names}")
    return class_names


def _check_files_exist(table, columns, absent, base_dir, issues):
    """Cheap before decoding: a path that names no file is an error, not a missing value."""
    for modality in ("image", "audio"):
        if modality not in columns:
            continue
        for row in issues.rows_left(len(table)):
            if absent[modality][row]:
                continue
            path = _resolve(table[columns[modality]].iloc[row], base_dir)
            if not os.path.isfile(path):
                issues.bad(row, f"{modality} file not found: {path!r}")


def _check_training_classes(labels, splits, rows):
    trained = {labels[r] for r in rows if splits[r] == "train"}
    if not trained:
        raise ValueError("The training split is empty. Received: splits "
                         f"{sorted({str(splits[r]) for r in rows})}")
    unseen = {}
    for r in rows:
        if labels[r] not in trained:
            unseen.setdefault(labels[r], []).append(int(r))
    if unseen:
        detail = "; ".join(f"{k!r} (rows {v[:5]})" for k, v in unseen.items())
        raise ValueError(f"Labels that never occur in the training split cannot be learned. "
                         f"Received: {detail}")


def _decode_files(table, columns, absent, base_dir, settings, issues):
    """`{modality: (converter, arrays, missing flags, rows)}` for the image and audio
    columns, decoded in parallel for the rows left; a file that cannot be decoded is a bad
    row (raised, or skipped and listed)."""
    rows = issues.rows_left(len(table))
    decoded = {}
    for modality in ("image", "audio"):
        if modality not in columns:
            continue
        column = columns[modality]
        if modality == "image":
            paths = [_resolve(table[column].iloc[r], base_dir) for r in rows
                     if not absent[modality][r]]
            converter = ImageConverter(*_image_size_and_color(
                paths, settings["image_size"], settings["color"]))
        else:
            converter = AudioConverter(settings["audio_features"],
                                       sample_rate=settings["sample_rate"],
                                       max_frames=settings["max_frames"])
        values = [None if absent[modality][r] else table[column].iloc[r] for r in rows]
        arrays, missing, failures = converter(values, base_dir=base_dir, on_error="collect")
        for i, reason in failures.items():
            issues.bad(int(rows[i]), f"{modality}: {reason}")
        decoded[modality] = (converter, arrays, missing, rows)
    return decoded


def _encode_texts(table, column, absent, rows, splits, settings):
    """`(tokenizer, ids, missing flags, rows)`: the vocabulary built on the training rows."""
    method = settings["tokenizer"]
    tokens = [tokenize(str(table[column].iloc[r]), method=method)
              for r in rows if splits[r] == "train" and not absent[r]]
    vocabulary = settings["vocabulary"]
    if vocabulary is None:
        vocabulary = Vocabulary.build(tokens)
    elif not isinstance(vocabulary, Vocabulary):
        vocabulary = Vocabulary(vocabulary)
    length = settings["sequence_length"] or max([len(t) for t in tokens] + [1])
    tokenizer = TextTokenizer(vocabulary.tokens, int(length), method)
    ids, missing, _ = tokenizer([None if absent[r] else str(table[column].iloc[r])
                                 for r in rows])
    return tokenizer, ids, missing, rows


def _image_size_and_color(paths, image_size, color):
    """Image size and colour: given, or the images' own when they agree."""
    from concurrent.futures import ThreadPoolExecutor

    from mmkeras.preprocessing.image import image_info

    def info(path):
        try:
            return image_info(path)
        except (OSError, ValueError):
            return None  # reported when the file is decoded

    with ThreadPoolExecutor(8) as pool:
        read = [(p, i) for p, i in zip(paths, pool.map(info, paths)) if i is not None]
    found = [i for _, i in read]
    if image_size is None:
        sizes = {}
        for path, i in read:
            sizes.setdefault(i[:2], path)
        if len(sizes) > 1:
            listed = "; ".join(f"{h}x{w} (e.g. {p!r})" for (h, w), p in list(sizes.items())[:5])
            raise ValueError(f"The images have {len(sizes)} different sizes: {listed}. "
                             "Pass image_size=(height, width) to resize them all to one size.")
        image_size = next(iter(sizes)) if sizes else (64, 64)
    if color is None:
        color = "grayscale" if found and all(i[2] == "grayscale" for i in found) else "rgb"
    height, width = (int(v) for v in image_size)
    return (height, width), color


def _resolve(path, base_dir):
    path = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    return path if os.path.isabs(path) else os.path.join(base_dir, path)


def _ids(table, column, columns, base_dir):
    if column is not None:
        return np.array([str(v) for v in table[column]])
    source = columns.get("image") or columns.get("audio")
    if source is None:
        return np.array([f"row {r}" for r in range(len(table))])
    return np.array([str(v) if str(v).strip() else f"row {r}"
                     for r, v in enumerate(table[source])])


def _dataset(name, x, y, ids, flags, split_names, class_names, preprocessor, issues, n_rows):
    from mmkeras.datasets.multimodal_dataset import MultimodalDataset, Split

    splits = {}
    for s in SPLITS:
        idx = np.flatnonzero(split_names == s)
        splits[s] = Split({m: v[idx] for m, v in x.items()}, y[idx], ids[idx],
                          {m: v[idx] for m, v in flags.items()})
    skipped = {**issues.missing_skipped, **issues.skipped}
    report = {"rows": n_rows, "used": int(len(y)),
              "missing": {m: int(v.sum()) for m, v in flags.items()},
              "skipped": dict(sorted(skipped.items()))}
    if skipped:
        warnings.warn(f"from_dataframe skipped {len(skipped)} of {n_rows} rows: "
                      f"{_summary(skipped)}", stacklevel=3)
    shapes = {m: preprocessor.input_shape(m) for m in x}
    vocabulary = preprocessor.vocabulary
    return MultimodalDataset(name=name, splits=splits, class_names=class_names,
                             input_shapes=shapes, vocabulary=vocabulary,
                             description=f"Read from files by from_dataframe ({n_rows} rows).",
                             preprocessor=preprocessor, report=report)


def _summary(skipped, limit=5):
    items = list(skipped.items())
    text = "; ".join(f"row {r}: {m}" for r, m in items[:limit])
    return text + (f"; … and {len(items) - limit} more" if len(items) > limit else "")
