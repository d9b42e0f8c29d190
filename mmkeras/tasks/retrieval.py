"""`Retriever`: a gallery embedded once, searched by queries of the other modality."""

import dataclasses

import numpy as np

from mmkeras.tasks.dual_encoder import dual_encoder_modalities, embedding_model
from mmkeras.tasks.matcher import match_probabilities
from mmkeras.tasks.search_index import check_k, make_index
from mmkeras.utils.validation import check_positive_int


@dataclasses.dataclass
class SearchResults:
    """The top matches of each query, best first.

    Attributes:
        rows: `(queries, k)` gallery rows.
        scores: `(queries, k)` scores: cosine similarities, or match
            probabilities after re-ranking.
        ids: `[[gallery id, ...k], ...]` per query.
    """

    rows: np.ndarray
    scores: np.ndarray
    ids: list

    def __len__(self):
        return len(self.rows)


class Retriever:
    """Cross-modal search with a dual encoder, optionally re-ranked by a matcher.

    The gallery (say, pictures) is embedded once by its tower of the dual
    encoder and put in an index; each query of the other modality (say, a
    name) is embedded by the other tower and compared with the whole
    gallery by cosine similarity. With `rerank=matcher`, the dual encoder's
    top `candidates` are scored again by the matcher, which sees both items
    together (cross-attention) and is too slow to score the whole gallery;
    the top `k` of those are returned (ALBEF's retrieve-then-re-rank).

    Args:
        dual_encoder: A model from `build_dual_encoder`.
        gallery: `{modality: array}`, one modality of the dual encoder.
        ids: One id per gallery item (names, file paths); default the rows.
        index: `"brute_force"` (NumPy, exact) or `"faiss"` (needs
            `faiss-cpu`).
        batch_size: Batch size when embedding.

    Example:

    >>> model = mmkeras.tasks.build_dual_encoder(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)})
    >>> retriever = Retriever(model, {"image": np.zeros((6, 8, 8, 1))})
    >>> retriever.search({"audio": np.zeros((2, 5, 3))}, k=3).rows.shape
    (2, 3)
    """

    def __init__(self, dual_encoder, gallery, ids=None, index="brute_force", batch_size=256):
        self.modalities = dual_encoder_modalities(dual_encoder)
        self.gallery_modality, values = _one_modality("gallery", gallery, self.modalities)
        self.query_modality = next(m for m in self.modalities if m != self.gallery_modality)
        self.dual_encoder = dual_encoder
        self.batch_size = batch_size
        # One tower per modality, kept: a new tower per call would trace its
        # predict function again every time.
        self._towers = {}
        self.gallery = np.asarray(values)
        self.ids = list(range(len(self.gallery))) if ids is None else list(ids)
        if len(self.ids) != len(self.gallery):
            raise ValueError(f"One id per gallery item. Received: {len(self.ids)} ids for "
                             f"{len(self.gallery)} items")
        self.embeddings = self.embed({self.gallery_modality: self.gallery})
        self.index = make_index(self.embeddings, index)

    def __len__(self):
        return len(self.gallery)

    def embed(self, x):
        """`{modality: array}` (either modality) → `(n, d)` L2-normalised embeddings."""
        modality, values = _one_modality("x", x, self.modalities)
        if modality not in self._towers:
            self._towers[modality] = embedding_model(self.dual_encoder, modality)
        return np.asarray(self._towers[modality].predict(values, batch_size=self.batch_size,
                                                         verbose=0))

    def scores(self, query):
        """`(queries, gallery)` cosine similarities of `query = {other modality: array}`."""
        return self.index.scores(self.embed(self._check_query(query)))

    def search(self, query, k=5, rerank=None, candidates=20, blend=False):
        """The top `k` gallery items for each query.

        Args:
            query: `{query modality: array}`, the modality the gallery is not.
            k: How many matches per query (at most the gallery size).
            rerank: Optional matcher (`build_matcher`) that re-scores the
                top `candidates` of the dual encoder.
            candidates: How many of the dual encoder's best to re-rank
                (at least `k`; cut to the gallery size).
            blend: Re-rank by `p(match) + cosine similarity` instead of
                `p(match)` alone.

        Returns:
            `SearchResults`.
        """
        query = self._check_query(query)
        k = check_k(k, len(self))
        if rerank is None:
            scores, rows = self.index.search(self.embed(query), k)
        else:
            candidates = min(max(check_positive_int("candidates", candidates), k), len(self))
            cosine, rows = self.index.search(self.embed(query), candidates)
            scores, rows = self.rerank(query, rows, rerank, cosine if blend else None)
            scores, rows = scores[:, :k], rows[:, :k]
        return SearchResults(rows, scores, [[self.ids[j] for j in row] for row in rows])

    def ranking_scores(self, query, rerank=None, candidates=20, blend=False):
        """`(queries, gallery)` scores that rank the whole gallery as `search` does.

        Without `rerank`, the cosine similarities. With it, the top
        `candidates` get `3 + ` their re-ranking score and the rest keep
        their cosine similarity, so they follow in the dual encoder's order:
        what `mmkeras.evaluation.retrieval_metrics` needs to score re-ranking.
        """
        scores = self.scores(query)
        if rerank is None:
            return scores
        candidates = min(check_positive_int("candidates", candidates), len(self))
        rows = np.argsort(-scores, axis=1, kind="stable")[:, :candidates]
        cosine = np.take_along_axis(scores, rows, axis=1) if blend else None
        reranked, rows = self.rerank(query, rows, rerank, cosine)
        ranked = scores.copy()
        np.put_along_axis(ranked, rows, 3.0 + reranked, axis=1)
        return ranked

    def rerank(self, query, rows, matcher, cosine=None):
        """Matcher scores for each query against its candidate `rows`, best first.

        Args:
            query: `{query modality: array}`.
            rows: `(queries, candidates)` gallery rows.
            matcher: A model from `build_matcher`.
            cosine: Optional `(queries, candidates)` similarities to add to
                the match probabilities (a blend of both models).

        Returns:
            `(scores, rows)`, each shaped like `rows`.
        """
        query = self._check_query(query)
        queries = np.asarray(query[self.query_modality])
        rows = np.asarray(rows)
        pairs = {self.query_modality: np.repeat(queries, rows.shape[1], axis=0),
                 self.gallery_modality: self.gallery[rows.reshape(-1)]}
        scores = match_probabilities(matcher, pairs, self.batch_size).reshape(rows.shape)
        if cosine is not None:
            scores = scores + np.asarray(cosine).reshape(rows.shape)
        order = np.argsort(-scores, axis=1, kind="stable")
        return (np.take_along_axis(scores, order, axis=1),
                np.take_along_axis(rows, order, axis=1))

    def _check_query(self, query):
        modality, values = _one_modality("query", query, self.modalities)
        if modality == self.gallery_modality:
            raise ValueError(
                "The query and the gallery are of the same modality; a query must be of the "
                f"other one ({self.query_modality!r}). Received: query modality {modality!r}, "
                f"gallery modality {self.gallery_modality!r}")
        return {modality: values}


def _one_modality(what, x, modalities):
    if not isinstance(x, dict) or len(x) != 1:
        raise ValueError(f"`{what}` must be a dict with one modality, one of {modalities}. "
                         f"Received: {type(x).__name__}"
                         + (f" with keys {sorted(x)}" if isinstance(x, dict) else ""))
    (modality, values), = x.items()
    if modality not in modalities:
        raise ValueError(f"Unknown modality in `{what}`. Received: {modality!r}; the dual "
                         f"encoder takes {modalities}")
    return modality, values
