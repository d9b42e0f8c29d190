"""Retrieval metrics: recall@k, median rank, mean reciprocal rank, and the random baseline."""

import math

import numpy as np


def first_relevant_rank(scores, query_groups, gallery_groups):
    """The 1-based rank of the best-scored relevant gallery item of each query.

    Gallery item `j` is relevant to query `i` when their groups are equal.
    Ties count against the query: the rank is one plus the number of
    irrelevant items scored at least as high as the best relevant one, so
    a model that gives every item the same score ranks it last, not first.

    Args:
        scores: `(queries, gallery)` similarities, higher is better.
        query_groups: `(queries,)` group ids.
        gallery_groups: `(gallery,)` group ids.

    Returns:
        `(queries,)` integer ranks in `[1, gallery]`.

    Example:

    >>> scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.3]])
    >>> first_relevant_rank(scores, [0, 2], [0, 1, 2])
    array([1, 2])
    """
    scores = np.asarray(scores, dtype="float64")
    query_groups, gallery_groups = np.asarray(query_groups), np.asarray(gallery_groups)
    if scores.ndim != 2 or scores.shape != (len(query_groups), len(gallery_groups)):
        raise ValueError("`scores` must be (queries, gallery) = "
                         f"({len(query_groups)}, {len(gallery_groups)}). "
                         f"Received: scores.shape={scores.shape}")
    relevant = query_groups[:, None] == gallery_groups[None, :]
    without = np.flatnonzero(~relevant.any(axis=1))
    if len(without):
        raise ValueError("Every query needs at least one relevant gallery item. Received: "
                         f"queries {without[:10].tolist()} (groups "
                         f"{query_groups[without[:10]].tolist()}) have none")
    best = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)
    return 1 + np.sum(~relevant & (scores >= best), axis=1)


def random_recall(num_relevant, gallery_size, k):
    """Expected recall@k of a random ranking: `1 − C(N−r, k) / C(N, k)` (`k/N` for r = 1)."""
    return 1.0 - math.comb(gallery_size - num_relevant, k) / math.comb(gallery_size, k)


def retrieval_metrics(scores, query_groups, gallery_groups, ks=(1, 5, 10)):
    """Recall@k, median rank and MRR of a score matrix, with the random baseline.

    Recall@k is the share of queries with a relevant item in the top k;
    `random_recall@k` is what a random ranking scores on average with the
    same gallery and the same number of relevant items per query (k/N when
    each query has one).

    Args:
        scores: `(queries, gallery)` similarities.
        query_groups: `(queries,)` group ids.
        gallery_groups: `(gallery,)` group ids (equal group = relevant).
        ks: The k of recall@k; each at most the gallery size.

    Returns:
        A dict: `"recall@k"`, `"random_recall@k"` for each k,
        `"median_rank"`, `"mrr"`, `"queries"`, `"gallery"`.

    Example:

    >>> m = retrieval_metrics([[0.9, 0.1, 0.5], [0.2, 0.3, 0.3]], [0, 2], [0, 1, 2], ks=(1, 2))
    >>> m["recall@1"], m["recall@2"], m["mrr"], round(m["random_recall@1"], 3)
    (0.5, 1.0, 0.75, 0.333)
    """
    ranks = first_relevant_rank(scores, query_groups, gallery_groups)
    gallery_groups = np.asarray(gallery_groups)
    size = len(gallery_groups)
    ks = tuple(ks)
    bad = [k for k in ks if not isinstance(k, (int, np.integer)) or k < 1 or k > size]
    if bad:
        raise ValueError(f"Each k must be in [1, gallery size {size}]. Received: ks={ks}")
    counts = np.array([np.sum(gallery_groups == g) for g in np.asarray(query_groups)])
    metrics = {"queries": len(ranks), "gallery": size}
    for k in ks:
        metrics[f"recall@{k}"] = float(np.mean(ranks <= k))
        metrics[f"random_recall@{k}"] = float(np.mean(
            [random_recall(int(r), size, k) for r in counts]))
    metrics["median_rank"] = float(np.median(ranks))
    metrics["mrr"] = float(np.mean(1.0 / ranks))
    return metrics
