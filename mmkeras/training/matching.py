"""Training for matching: negatives for a matcher (random and hard), fitting both models."""

import numpy as np

from mmkeras.utils import validation
from mmkeras.utils.training_state import build_training_state
from mmkeras.utils.validation import (
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
)

NEGATIVES = ("random", "hard", "mixed")


def sample_negatives(groups, similarity=None, kind="random", temperature=0.05, seed=0):
    """For each item `a_i`, the row `j` of a wrong partner `b_j` (`groups[j] ≠ groups[i]`).

    `"random"`: uniform over the wrong items. `"hard"`: drawn with
    probability `∝ exp(sim_ij / temperature)` over the wrong items, as
    ALBEF samples its matching negatives from the contrastive similarities,
    so the dual encoder's most similar wrong items are drawn most often
    (`temperature → 0` always gives the most similar one). `"mixed"`: each
    negative is hard or random with probability ½.

    Args:
        groups: `(n,)` group ids of the pairs.
        similarity: `(n, n)` similarities of `a_i` to `b_j` (needed unless
            `kind="random"`), e.g. from a dual encoder.
        kind: One of `NEGATIVES`.
        temperature: Sharpness of the hard sampling.
        seed: Random seed.

    Returns:
        `(n,)` integer rows.

    Example:

    >>> sim = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.1], [0.1, 0.5, 1.0]])
    >>> sample_negatives([0, 1, 2], sim, kind="hard", temperature=0.01).tolist()
    [1, 0, 1]
    """
    groups = np.asarray(groups)
    validation.check_choice("kind", kind, NEGATIVES)
    temperature = check_positive_float("temperature", temperature)
    wrong = groups[:, None] != groups[None, :]
    empty = np.flatnonzero(~wrong.any(axis=1))
    if len(empty):
        raise ValueError("Every item needs a wrong partner (another group). Received: "
                         f"a single group {groups[empty[0]].item()!r} for all {len(groups)} items")
    rng = np.random.default_rng(check_non_negative_int("seed", seed))
    uniform = wrong / wrong.sum(axis=1, keepdims=True)
    if kind == "random":
        return _draw(uniform, rng)
    if similarity is None:
        raise ValueError(f"Hard negatives need the similarity matrix. Received: kind={kind!r}, "
                         "similarity=None")
    similarity = np.asarray(similarity, dtype="float64")
    if similarity.shape != wrong.shape:
        raise ValueError(f"`similarity` must be (n, n) = {wrong.shape}. "
                         f"Received: shape {similarity.shape}")
    logits = np.where(wrong, similarity / temperature, -np.inf)
    hard = np.exp(logits - logits.max(axis=1, keepdims=True))
    hard /= hard.sum(axis=1, keepdims=True)
    if kind == "hard":
        return _draw(hard, rng)
    return np.where(rng.random(len(groups)) < 0.5, _draw(hard, rng), _draw(uniform, rng))


def _draw(probabilities, rng):
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random((len(probabilities), 1)) * cumulative[:, -1:]
    return np.minimum((cumulative < u).sum(axis=1), probabilities.shape[1] - 1)


def matching_pairs(x, groups, similarity=None, negatives="hard", temperature=0.05, seed=0):
    """True pairs (label 1) and, for each, two negatives (label 0), shuffled.

    As ALBEF's matching head: for each true pair `(a_i, b_i)`, one negative
    keeps `a_i` with a wrong `b`, the other keeps `b_i` with a wrong `a`
    (`sample_negatives`, both directions).

    Args:
        x: `{modality a: (n, ...), modality b: (n, ...)}`; row `i` a true pair.
        groups: `(n,)` group ids (same group = a match).
        similarity: `(n, n)` similarities `a_i · b_j` (sorted modality
            order), for hard negatives.
        negatives: `"random"`, `"hard"` or `"mixed"`.
        temperature: Sharpness of the hard sampling.
        seed: Random seed.

    Returns:
        `(pairs {modality: (3n, ...)}, labels (3n,) float32)`.
    """
    a, b = _two_modalities(x, groups)
    groups = np.asarray(groups)
    sim_t = None if similarity is None else np.asarray(similarity).T
    wrong_b = sample_negatives(groups, similarity, negatives, temperature, seed)
    wrong_a = sample_negatives(groups, sim_t, negatives, temperature, seed + 1)
    n = len(groups)
    rows_a = np.concatenate([np.arange(n), np.arange(n), wrong_a])
    rows_b = np.concatenate([np.arange(n), wrong_b, np.arange(n)])
    labels = np.concatenate([np.ones(n), np.zeros(2 * n)]).astype("float32")
    order = np.random.default_rng(seed + 2).permutation(3 * n)
    return ({a: np.asarray(x[a])[rows_a[order]], b: np.asarray(x[b])[rows_b[order]]},
            labels[order])


def fit_dual_encoder(model, x, groups, epochs=10, batch_size=64, validation=None, verbose=0,
                     callbacks=None):
    """Trains a dual encoder on true pairs `x` with in-batch negatives; returns the history.

    Args:
        model: A compiled model from `mmkeras.tasks.build_dual_encoder`.
        x: `{modality: array}`; row `i` of both is a true pair.
        groups: `(n,)` group ids (pairs of one group are not negatives).
        epochs: Epochs.
        batch_size: Batch size: the number of candidates each item is
            contrasted with (larger is harder and usually better).
        validation: Optional `(x, groups)`.
        verbose: Keras verbosity.
        callbacks: Keras callbacks, e.g. `RetrievalEarlyStopping` on the
            validation pairs (then `epochs` is the most it may train).
    """
    _two_modalities(x, groups)
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    if batch_size < 2:
        raise ValueError(f"A contrastive batch needs at least 2 pairs. Received: batch_size={batch_size}")
    groups = np.asarray(groups)
    build_training_state(model, x, groups)
    history = model.fit(x, groups, epochs=epochs, batch_size=batch_size,
                        shuffle=True, validation_data=validation, verbose=verbose,
                        callbacks=callbacks)
    return history.history


def fit_matcher(matcher, x, groups, similarity=None, negatives="hard", epochs=5,
                batch_size=64, temperature=0.05, seed=0, verbose=0):
    """Trains a matcher, with fresh negatives every epoch; returns the history.

    Args:
        matcher: A compiled model from `mmkeras.tasks.build_matcher`.
        x: `{modality: array}`; row `i` of both is a true pair.
        groups: `(n,)` group ids.
        similarity: `(n, n)` dual-encoder similarities for hard negatives.
        negatives: `"random"`, `"hard"` or `"mixed"`.
        epochs: Epochs (each sees every true pair and two new negatives).
        batch_size: Batch size.
        temperature: Sharpness of the hard sampling.
        seed: Random seed of the negatives.
        verbose: Keras verbosity.
    """
    epochs = check_positive_int("epochs", epochs)
    history = {}
    for epoch in range(epochs):
        pairs, labels = matching_pairs(x, groups, similarity, negatives, temperature,
                                       seed=seed * 1000 + 3 * epoch)
        build_training_state(matcher, pairs, labels)
        step = matcher.fit(pairs, labels, batch_size=batch_size, epochs=1, shuffle=True,
                           verbose=verbose)
        for key, values in step.history.items():
            history.setdefault(key, []).extend(values)
    return history


def _two_modalities(x, groups):
    if not isinstance(x, dict) or len(x) != 2:
        raise ValueError("Matching needs a dict of exactly two modalities. Received: "
                         f"{sorted(x) if isinstance(x, dict) else type(x).__name__}")
    a, b = sorted(x)
    counts = {m: len(x[m]) for m in (a, b)}
    if len(set(counts.values())) != 1 or len(groups) != counts[a]:
        raise ValueError("Every pair needs both items and a group: the counts must be equal. "
                         f"Received: {counts} and {len(groups)} groups")
    return a, b
