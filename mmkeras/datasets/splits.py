"""Stratified, seeded train/validation/test splits (scikit-learn's `train_test_split`)."""

import numpy as np


def stratified_split(labels, seed=0, fractions=(0.8, 0.1, 0.1)):
    """A `"train"`/`"validation"`/`"test"` name for each sample, stratified by label.

    Two stratified cuts with scikit-learn's `train_test_split`: the test
    fraction off the whole, then the validation fraction off the rest.

    Args:
        labels: One label per sample (any hashable values).
        seed: Seed of the shuffles.
        fractions: `(train, validation, test)`, each > 0, summing to 1.

    Returns:
        An array of split names, one per sample.

    Example:

    >>> names = stratified_split(["a"] * 10 + ["b"] * 10, seed=0)
    >>> sorted((str(n), int(c)) for n, c in zip(*np.unique(names, return_counts=True)))
    [('test', 2), ('train', 16), ('validation', 2)]
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    rows = np.arange(len(labels))
    rest, test = train_test_split(rows, test_size=fractions[2], stratify=labels,
                                  random_state=seed)
    train, validation = train_test_split(rest, test_size=fractions[1] / (1 - fractions[2]),
                                         stratify=labels[rest], random_state=seed)
    names = np.empty(len(labels), dtype="<U10")
    names[train], names[validation], names[test] = "train", "validation", "test"
    return names
