"""Splits as `tf.data` pipelines of `({modality: tensor}, label)` batches."""

import numpy as np


def to_tf_dataset(split, batch_size=32, shuffle=False, modalities=None, augment=None,
                  seed=0, cache=True, drop_remainder=False):
    """Turns a `Split` into a batched, prefetched `tf.data.Dataset`.

    The order follows the keras-io recipe: `cache()` the decoded arrays, then
    shuffle, batch, apply random augmentation in parallel
    (`num_parallel_calls=AUTOTUNE`, after the cache so each epoch sees new
    draws), and `prefetch`.

    Args:
        split: A `Split` (e.g. `mmkeras.datasets.load("av_digits").train`).
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

    Returns:
        A `tf.data.Dataset` whose element keys match the builder's inputs.
    """
    import tensorflow as tf

    if modalities is not None:
        split = split.select(modalities)
    if augment:
        unknown = sorted(set(augment) - set(split.x))
        if unknown:
            raise ValueError(
                f"`augment` names modalities not in the data. Received: {unknown}; "
                f"available: {sorted(split.x)}"
            )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: {batch_size!r}")
    x = {k: np.asarray(v) for k, v in split.x.items()}
    ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(split.y)))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
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
