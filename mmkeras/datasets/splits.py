"""Stratified train/validation/test splits."""

import numpy as np


def stratified_split(labels, rng, fractions=(0.8, 0.1, 0.1)):
    """A `"train"`/`"validation"`/`"test"` name for each sample, stratified by label.

    Within each class the samples are shuffled with `rng` and cut at the
    rounded fractions; the test split takes the rest.
    """
    labels = np.asarray(labels)
    split = np.empty(len(labels), dtype="<U10")
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        a = int(round(fractions[0] * len(idx)))
        b = a + int(round(fractions[1] * len(idx)))
        split[idx[:a]], split[idx[a:b]], split[idx[b:]] = "train", "validation", "test"
    return split
