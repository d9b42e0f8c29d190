"""Splits as `tf.data` pipelines of `({modality: tensor}, label)` batches."""

import functools

import numpy as np

from mmkeras.datasets import bucketing as bucketing_lib
from mmkeras.utils import validation


def to_tf_dataset(split, batch_size=32, shuffle=False, modalities=None, augment=None,
                  seed=0, cache=True, drop_remainder=False, bucketing=False,
                  bucket_padding=None):
    """Turns a `Split` into a batched, prefetched `tf.data.Dataset`.

    The order follows the keras-io recipe: `cache()` the decoded arrays, then
    shuffle, batch, apply random augmentation in parallel
    (`num_parallel_calls=AUTOTUNE`, after the cache so each epoch sees new
    draws), and `prefetch`.

    With `bucketing`, samples of similar length (in their variable-length
    modalities: token ids, frames; see `mmkeras.datasets.bucketing`) are
    batched together and each batch is cut to its own longest sample, or
    padded up to the next of a few fixed lengths (`bucket_padding`), so a
    masked LSTM computes the steps the data holds rather than the stored
    padding. Shuffled, every epoch the samples are shuffled, sorted (stably)
    into geometric length buckets, cut into batches, and the batches
    shuffled: different batches every epoch, the same for the same `seed`,
    and as many batches as without bucketing. Not shuffled, they are sorted
    by length. Either way the order differs from the split's (keep `ids`
    if you predict with it), and every sample comes once per epoch. The
    model's inputs for those modalities need a `None` steps axis (e.g.
    `sequence_lstm(input_shape=(None, 13))`, `text_bigru(sequence_length=None)`);
    masks make its outputs independent of the padding.

    Args:
        split: A `Split` (e.g. `mmkeras.datasets.load("av_digits").train`), or
            `(x dict, y)` arrays.
        batch_size: Samples per batch.
        shuffle: Reshuffle each epoch (use for training).
        modalities: Keep only these modalities (a unimodal baseline); default all.
        augment: Optional `{modality: fn(batch_tensor) -> batch_tensor}`;
            a Keras layer is called with `training=True`, e.g.
            `{"image": mmkeras.preprocessing.image.augmentation()}`. Create
            layers once, outside any function passed here.
        seed: Shuffle seed.
        cache: Cache the dataset in memory.
        drop_remainder: Drop the last smaller batch (needed by some
            distribution strategies).
        bucketing: `False` (every batch has the stored, full length), `True`
            (bucket every variable-length modality), `"longest"` or
            `"boundaries"` (the same, padded that way), or the modality names
            to bucket.
        bucket_padding: How a bucketed batch is padded: `"longest"` (cut to
            its longest sample: the fewest steps, a new shape nearly every
            batch), `"boundaries"` (up to the next of the fixed lengths
            `bucketing.boundary_ladder(stored length)`: 1, 2, 3, 4, 6, 8, 12,
            16, 23, 32, 46, 64, then the stored length; a handful of shapes,
            so a compiled step is compiled a handful of times), or a list of
            boundaries (the stored length is always the last). `None`: the
            mode `bucketing` names, else
            `bucketing.best_padding()`: `"boundaries"` on JAX, `"longest"`
            on TensorFlow and torch.

    Returns:
        A `tf.data.Dataset` whose element keys match the builder's inputs.
    """
    import tensorflow as tf

    if isinstance(split, tuple):
        from mmkeras.datasets.multimodal_dataset import Split

        split = Split(*split[:2])
    if modalities is not None:
        split = split.select(modalities)
    if augment:
        unknown = sorted(set(augment) - set(split.x))
        if unknown:
            raise ValueError(
                f"`augment` names modalities not in the data. Received: {unknown}; "
                f"available: {sorted(split.x)}"
            )
    batch_size = validation.check_positive_int("batch_size", batch_size)
    x = {k: np.asarray(v) for k, v in split.x.items()}
    y = np.asarray(split.y)
    variable = bucketing_lib.check_bucketing(bucketing, x)
    if variable:
        boundaries = _boundaries(x, variable, bucketing_lib.check_padding(bucket_padding,
                                                                          bucketing))
        ds = _bucketed(x, y, variable, boundaries, batch_size, shuffle, seed, cache,
                       drop_remainder)
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if cache:
            ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if augment:
        import keras

        def apply(features, label):
            features = dict(features)
            for name, fn in augment.items():
                if isinstance(fn, keras.layers.Layer):
                    features[name] = fn(features[name], training=True)
                else:
                    features[name] = fn(features[name])
            return features, label

        ds = ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)



def _boundaries(x, variable, padding):
    """`{modality: boundaries}` to pad to, or `{}` to cut each batch to its longest."""
    stored = {m: x[m].shape[1] for m in variable}
    if padding == "longest":
        return {}
    if padding == "boundaries":
        return {m: bucketing_lib.boundary_ladder(stored[m]) for m in variable}
    return {m: bucketing_lib.check_boundaries(padding, stored[m]) for m in variable}


def _bucketed(x, y, variable, boundaries, batch_size, shuffle, seed, cache, drop_remainder):
    """Batches of samples of similar length, each cut to its longest sample
    or to the `boundaries` (`{modality: sorted lengths}`) next above it.

    Shuffled: every epoch the samples are shuffled, stably sorted by length
    bucket (so a bucket's samples come in a new random order), cut into
    batches, and the batches shuffled. The epoch has as many batches as
    without bucketing. Not shuffled: sorted by length.
    """
    import tensorflow as tf

    lengths, keys = bucketing_lib.bucket_keys(x, variable)
    buckets = bucketing_lib.bucket_ids(keys)
    if not shuffle:  # sorted by length: each batch pads as little as possible
        order = np.argsort(keys, kind="stable")
        x, y, buckets = {k: v[order] for k, v in x.items()}, y[order], buckets[order]
        lengths = {m: v[order] for m, v in lengths.items()}
    ds = tf.data.Dataset.from_tensor_slices((x, y, lengths, buckets))
    if cache:
        ds = ds.cache()
    if shuffle:
        # One epoch at a time: shuffle, sort by bucket (stable), batch, shuffle the batches.
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(len(y)).map(_sort_by_bucket).unbatch()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    cut = functools.partial(_cut_batch, boundaries=boundaries)
    ds = ds.map(cut, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    batches = len(y) // batch_size if drop_remainder else -(-len(y) // batch_size)
    if shuffle:
        ds = ds.shuffle(batches, seed=seed + 1, reshuffle_each_iteration=True)
    # Known length: Keras shows progress and does not warn at the first epoch's end.
    return ds.apply(tf.data.experimental.assert_cardinality(batches))


def _sort_by_bucket(features, label, lengths, buckets):
    import tensorflow as tf

    order = tf.argsort(buckets, stable=True)
    take = lambda t: tf.gather(t, order)  # noqa: E731
    return (tf.nest.map_structure(take, features), take(label),
            tf.nest.map_structure(take, lengths), take(buckets))


def _cut_batch(features, label, lengths, buckets, boundaries):
    """A batch's variable-length modalities cut to the batch's longest sample,
    or to the smallest of the modality's `boundaries` that holds it."""
    import tensorflow as tf

    features = dict(features)
    for name, length in lengths.items():
        steps = tf.reduce_max(length)
        if name in boundaries:
            ladder = tf.constant(boundaries[name], dtype=steps.dtype)
            steps = tf.gather(ladder, tf.searchsorted(ladder, steps[None])[0])
        features[name] = features[name][:, :steps]
    return features, label
