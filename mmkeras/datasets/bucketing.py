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
"""

import numpy as np

# A bucket holds lengths within this ratio of each other, so a batch inside one
# bucket pads its shortest sample by at most 25 %.
BUCKET_RATIO = 1.25


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
    """The modalities to bucket: `bucketing` is False/None, True (every
    variable-length modality of `x`) or a list of modality names."""
    if bucketing is None or bucketing is False:
        return []
    if bucketing is True:
        return variable_modalities(x)
    names = [bucketing] if isinstance(bucketing, str) else list(bucketing)
    wrong = [m for m in names if m not in x or not is_variable_length(x[m])]
    if wrong:
        raise ValueError(
            f"`bucketing` must be True, False or names of variable-length modalities "
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
