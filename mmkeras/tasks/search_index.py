"""Search indexes over a gallery of embeddings: brute force (NumPy) or FAISS."""

import numpy as np

from mmkeras.utils import validation

INDEXES = ("brute_force", "faiss")


class BruteForceIndex:
    """Exact inner-product search: every query against every gallery item.

    One `(queries, gallery)` matrix product; the right choice up to galleries
    of a few hundred thousand items. For L2-normalised embeddings the inner
    product is the cosine similarity.

    Args:
        embeddings: `(gallery, d)` float array.

    Example:

    >>> index = BruteForceIndex(np.eye(3))
    >>> scores, rows = index.search(np.array([[0.0, 1.0, 0.2]]), k=2)
    >>> rows.tolist(), np.round(scores.astype(float), 2).tolist()
    ([[1, 2]], [[1.0, 0.2]])
    """

    def __init__(self, embeddings):
        self.embeddings = _as_matrix("embeddings", embeddings)

    def __len__(self):
        return len(self.embeddings)

    def scores(self, queries):
        """All `(queries, gallery)` scores."""
        return _as_matrix("queries", queries, self.embeddings.shape[1]) @ self.embeddings.T

    def search(self, queries, k):
        """`(scores, rows)`, each `(queries, k)`, best first."""
        k = check_k(k, len(self))
        scores = self.scores(queries)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        return (np.take_along_axis(top_scores, order, axis=1),
                np.take_along_axis(top, order, axis=1))


class FaissIndex:
    """The same interface over FAISS (`pip install faiss-cpu`), for large galleries.

    `IndexFlatIP` (exact inner product) by default; pass any FAISS index
    factory string (e.g. `"HNSW32"` for approximate search, built with the
    inner-product metric) as `factory`.

    Args:
        embeddings: `(gallery, d)` float array.
        factory: FAISS index factory string.
    """

    def __init__(self, embeddings, factory="Flat"):
        faiss = _faiss()
        self.embeddings = _as_matrix("embeddings", embeddings)
        self.index = faiss.index_factory(self.embeddings.shape[1], factory,
                                         faiss.METRIC_INNER_PRODUCT)
        if not self.index.is_trained:
            self.index.train(self.embeddings)
        self.index.add(self.embeddings)

    def __len__(self):
        return self.index.ntotal

    def scores(self, queries):
        """All `(queries, gallery)` scores (exact, from the stored embeddings)."""
        return _as_matrix("queries", queries, self.embeddings.shape[1]) @ self.embeddings.T

    def search(self, queries, k):
        """`(scores, rows)`, each `(queries, k)`, best first."""
        k = check_k(k, len(self))
        scores, rows = self.index.search(
            _as_matrix("queries", queries, self.embeddings.shape[1]), k)
        return scores, rows.astype("int64")


def make_index(embeddings, index="brute_force"):
    """An index by name: `"brute_force"` or `"faiss"`."""
    if index == "brute_force":
        return BruteForceIndex(embeddings)
    if index == "faiss":
        return FaissIndex(embeddings)
    raise ValueError(f"Unknown index. Received: index={index!r}; expected one of {INDEXES}")


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("index='faiss' needs the optional `faiss-cpu` package: "
                          "pip install faiss-cpu (or use index='brute_force', exact and "
                          "fine up to a few hundred thousand items)") from None
    return faiss


def _as_matrix(name, values, width=None):
    values = np.ascontiguousarray(values, dtype="float32")
    if values.ndim != 2 or (width is not None and values.shape[1] != width):
        wanted = f"(n, {width})" if width is not None else "(n, d)"
        raise ValueError(f"`{name}` must be a {wanted} array. Received: shape {values.shape}")
    return values


def check_k(k, size):
    """`k` as an `int` from 1 to the gallery's `size`."""
    k = validation.check_positive_int("k", k)
    if k > size:
        raise ValueError(f"`k` is larger than the gallery. Received: k={k} for a gallery of "
                         f"{size} items")
    return int(k)
