"""Length-bucketed batches: each batch padded to its own longest sequence.

The embedded sequences are stored padded to the longest one of the dataset
(`av_digits` audio: 6 to 92 MFCC frames, median 17, all stored as 92), and a
masked LSTM still computes every padded step. Grouping samples of similar
length into the same batches and padding each batch only to its longest
sample removes most of that work; masks keep the results the same.

Conventions (the same everywhere in mmkeras): padding is zeros at the end.
A *variable-length modality* is a rank-2 integer array (token ids, 0 =
padding) or a rank-3 array of frames `(samples, steps, features)` (a frame
of all zeros is padding). A sample's *length* in a modality is its last
non-zero step + 1 (at least 1, so a missing modality keeps one zero step).
A sample is bucketed by its *longest* variable-length modality, in steps:
that one costs the most recurrent steps. Buckets are geometric (lengths
within `BUCKET_RATIO` of each other share one), so a batch drawn from one
bucket pads none of its samples by more than 25 %.

How a batch is padded (`PADDINGS`): `"longest"` cuts it to its own longest
sample, the fewest steps; `"boundaries"` pads it up to the next of a few
fixed lengths (`boundary_ladder`), as `tf.data`'s `bucket_by_sequence_length`
does with `pad_to_bucket_boundary`. A compiled step (JAX, XLA, `torch.compile`)
is traced and compiled once per input shape: cut to its longest, nearly
every batch is a new shape and training waits for the compiler; padded to
boundaries, it compiles a handful of shapes once. `best_padding` picks one
per backend and model.
"""

import math

import numpy as np

from mmkeras.utils.validation import check_choice

# A bucket holds lengths within this ratio of each other, so a batch inside one
# bucket pads its shortest sample by at most 25 %.
BUCKET_RATIO = 1.25
# Fixed boundaries grow by this ratio (see `boundary_ladder`).
BOUNDARY_RATIO = 2 ** 0.5
PADDINGS = ("longest", "boundaries")


def is_variable_length(array):
    """True for token ids `(samples, steps)` (integers) or frames `(samples, steps, features)`."""
    array = np.asarray(array)
    return (array.ndim == 2 and array.dtype.kind in "iu") or array.ndim == 3


def variable_modalities(x):
    """The names of `x`'s variable-length modalities (see `is_variable_length`), sorted."""
    return sorted(m for m, v in x.items() if is_variable_length(v))


def sequence_lengths(array):
    """Each sample's length: its last non-zero step + 1, at least 1.

    Args:
        array: `(samples, steps)` token ids or `(samples, steps, ...)` frames,
            padded with zeros at the end.

    Returns:
        An int64 array `(samples,)`.

    Example:

    >>> sequence_lengths(np.array([[4, 2, 0, 0], [0, 0, 0, 0], [1, 0, 3, 0]])).tolist()
    [2, 1, 3]
    """
    array = np.asarray(array)
    if array.ndim < 2:
        raise ValueError(f"Sequences need a steps axis: (samples, steps, ...). "
                         f"Received: shape={array.shape}")
    nonzero = array != 0
    if array.ndim > 2:
        nonzero = nonzero.reshape(array.shape[0], array.shape[1], -1).any(axis=2)
    last = array.shape[1] - np.argmax(nonzero[:, ::-1], axis=1)
    return np.maximum(np.where(nonzero.any(axis=1), last, 0), 1).astype(np.int64)


def check_bucketing(bucketing, x):
    """The modalities to bucket: `bucketing` is False/None, True or a padding
    mode (`PADDINGS`: every variable-length modality of `x`) or a list of
    modality names."""
    if bucketing is None or bucketing is False:
        return []
    if bucketing is True or (isinstance(bucketing, str) and bucketing in PADDINGS):
        return variable_modalities(x)
    names = [bucketing] if isinstance(bucketing, str) else list(bucketing)
    wrong = [m for m in names if m not in x or not is_variable_length(x[m])]
    if wrong:
        raise ValueError(
            f"`bucketing` must be True, False, 'longest', 'boundaries' or names of "
            f"variable-length modalities "
            f"(token ids or frames). Received: bucketing={bucketing!r}; variable-length "
            f"modalities: {variable_modalities(x)}")
    return sorted(names)


def bucket_keys(x, modalities):
    """`(lengths per modality, key per sample)`: the key is the longest of the lengths."""
    lengths = {m: sequence_lengths(x[m]) for m in modalities}
    return lengths, np.max(np.stack([lengths[m] for m in modalities]), axis=0)


def bucket_ids(keys, ratio=BUCKET_RATIO):
    """Each key's bucket: lengths `[r**i, r**(i+1))` share bucket `i` (`r = ratio`).

    Example:

    >>> bucket_ids(np.array([1, 2, 3, 4, 5, 6, 17, 18, 92])).tolist()
    [0, 3, 4, 6, 7, 8, 12, 12, 20]
    """
    keys = np.maximum(np.asarray(keys, dtype=np.float64), 1.0)
    return np.floor(np.log(keys) / np.log(ratio) + 1e-9).astype(np.int64)


def boundary_ladder(stored, ratio=BOUNDARY_RATIO):
    """Fixed bucket boundaries up to the stored length: `ceil(ratio**k)`, then `stored`.

    The same for every dataset stored at the same length, so every split
    (training, validation, prediction) uses the same few shapes. A ladder
    step closer than `sqrt(ratio)` below `stored` is dropped (the stored
    length serves).

    Example:

    >>> boundary_ladder(92)
    [1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64, 92]
    >>> boundary_ladder(16, ratio=2)
    [1, 2, 4, 8, 16]
    """
    if not ratio > 1:
        raise ValueError(f"`ratio` must be > 1. Received: ratio={ratio!r}")
    ladder, k = [], 0
    while ratio ** k * math.sqrt(ratio) < stored:
        step = math.ceil(ratio ** k - 1e-9)
        if not ladder or step > ladder[-1]:
            ladder.append(step)
        k += 1
    return [b for b in ladder if b < stored] + [int(stored)]


def check_boundaries(boundaries, stored):
    """Sorted, unique positive boundaries up to `stored`, ending with `stored`.

    Boundaries above the stored length are dropped: a batch is never padded
    past the arrays it is cut from.
    """
    values = np.asarray(boundaries)
    if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "iu" \
            or values.min() < 1:
        raise ValueError(f"`bucket_padding` boundaries must be a non-empty list of positive "
                         f"integers. Received: bucket_padding={boundaries!r}")
    return sorted({int(b) for b in values if b < stored} | {int(stored)})


def best_padding(model=None, backend=None):
    """How `bucketing=True` pads a batch: `"boundaries"` for a compiled step, else `"longest"`.

    A step compiled per input shape (JAX's `jit`, `jit_compile=True` on
    TensorFlow's XLA or `torch.compile`) gets `"boundaries"`: a few shapes,
    each compiled once. TensorFlow's default graph mode (one trace serves
    every length) and torch's eager mode get `"longest"`: the fewest steps.

    Args:
        model: A compiled Keras model: its `jit_compile` decides. Without
            one, the backend's default: JAX compiles, the others do not
            (Keras' `jit_compile="auto"` on a CPU).
        backend: The backend's name; default `keras.backend.backend()`.

    Returns:
        `"boundaries"` or `"longest"`.
    """
    if model is not None and hasattr(model, "jit_compile"):
        return "boundaries" if model.jit_compile else "longest"
    if backend is None:
        import keras

        backend = keras.backend.backend()
    return "boundaries" if backend == "jax" else "longest"


def check_padding(padding, bucketing=None, model=None):
    """The padding to use: `"longest"`, `"boundaries"` or a list of boundaries.

    `padding` None takes a mode given as `bucketing` (`"longest"`,
    `"boundaries"`), else `best_padding(model)`.
    """
    if padding is None:
        if isinstance(bucketing, str) and bucketing in PADDINGS:
            return bucketing
        return best_padding(model)
    if isinstance(padding, str):
        return check_choice("bucket_padding", padding, PADDINGS)
    return list(padding)
