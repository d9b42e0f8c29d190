"""The retrieval study's parts: encoders for pairs, training, evaluation both ways, saving, figures.

Used by `scripts/retrieval_study.py`, the `retrieve` command and notebook 10.
"""

import json
import time

import keras
import numpy as np

from mmkeras import encoders
from mmkeras.datasets.pairs import unique_groups
from mmkeras.evaluation.retrieval_metrics import retrieval_metrics
from mmkeras.predictor import read_preprocessor, write_preprocessor
from mmkeras.tasks import Retriever, build_dual_encoder, build_matcher, embedding_model
from mmkeras.training.matching import fit_dual_encoder, fit_matcher
from mmkeras.training.seeding import seed_everything

KS = (1, 5, 10)


def pair_encoders(data):
    """Fresh encoders for a pair dataset's two modalities.

    Images: `image_cnn` (two blocks, 128-d); token ids: `text_conv1d`
    (kernel 3 over words, 5 over characters: character n-grams); frames:
    `sequence_lstm`.
    """
    built = {}
    for modality in data.modalities:
        shape = tuple(data.input_shapes[modality])
        if len(shape) == 3:
            built[modality] = encoders.image_cnn(input_shape=shape, filters=(32, 64),
                                                 embedding_dim=128)
        elif len(shape) == 1:
            characters = data.preprocessor.inputs[modality].get("tokenizer") == "characters"
            built[modality] = encoders.text_conv1d(
                sequence_length=shape[0], vocab_size=len(data.vocabulary), embedding_dim=64,
                filters=128, kernel_size=5 if characters else 3)
        else:
            built[modality] = encoders.sequence_lstm(input_shape=shape, units=64)
    return built


def train_dual_encoder(data, seed=0, epochs=15, batch_size=128, embedding_dim=64):
    """A dual encoder trained on `data.train`: `(model, seconds)`."""
    seed_everything(seed)
    model = build_dual_encoder(pair_encoders(data), embedding_dim=embedding_dim)
    start = time.perf_counter()
    fit_dual_encoder(model, data.train.x, data.train.y, epochs=epochs, batch_size=batch_size)
    return model, time.perf_counter() - start


def train_matcher(data, fusion, dual_encoder=None, negatives="hard", seed=0, epochs=4,
                  batch_size=128):
    """A matcher on `fusion` trained on `data.train` with negatives: `(model, seconds)`.

    Hard negatives come from `dual_encoder`'s similarities on the training pairs.
    """
    seed_everything(seed)
    matcher = build_matcher(pair_encoders(data), fusion=fusion)
    similarity = None
    if negatives != "random":
        similarity = pair_similarity(dual_encoder, data.train.x)
    start = time.perf_counter()
    fit_matcher(matcher, data.train.x, data.train.y, similarity, negatives=negatives,
                epochs=epochs, batch_size=batch_size, seed=seed)
    return matcher, time.perf_counter() - start


def pair_similarity(dual_encoder, x):
    """`(n, n)` cosine similarities of the pairs' first modality to their second (sorted)."""
    a, b = sorted(x)
    embed = lambda m: embedding_model(dual_encoder, m).predict(x[m], batch_size=256, verbose=0)
    return embed(a) @ embed(b).T


def shared_modalities(split):
    """Modalities whose items repeat within a group (emoji names, one per picture style)."""
    shared = []
    for modality, values in split.x.items():
        first = {}
        same = True
        for value, group in zip(values, split.y):
            if group in first:
                same = same and np.array_equal(first[group], value)
            else:
                first[group] = value
        if same and len(first) < len(split.y):
            shared.append(modality)
    return shared


def directions(split):
    """`[(query modality, gallery modality)]` both ways, named like `"text_to_image"`."""
    a, b = sorted(split.x)
    return [(a, b), (b, a)]


def query_and_gallery(split, query_modality, gallery_modality):
    """`(query x, query groups, gallery x, gallery groups)`; a shared modality once per group."""
    shared = shared_modalities(split)

    def side(modality):
        rows = unique_groups(split)[0] if modality in shared else np.arange(len(split.y))
        return split.x[modality][rows], split.y[rows]

    (qx, qg), (gx, gg) = side(query_modality), side(gallery_modality)
    return {query_modality: qx}, qg, {gallery_modality: gx}, gg


def evaluate_retrieval(dual_encoder, split, matcher=None, candidates=20, blend=False, ks=KS):
    """Recall@k, median rank and MRR in both directions.

    Returns:
        `{"text_to_image": metrics, "image_to_text": metrics}` (see
        `retrieval_metrics`); with `matcher`, the dual encoder's top
        `candidates` re-ranked by it.
    """
    results = {}
    for query_modality, gallery_modality in directions(split):
        query, query_groups, gallery, gallery_groups = query_and_gallery(
            split, query_modality, gallery_modality)
        retriever = Retriever(dual_encoder, gallery)
        scores = retriever.ranking_scores(query, rerank=matcher, candidates=candidates,
                                          blend=blend)
        results[f"{query_modality}_to_{gallery_modality}"] = retrieval_metrics(
            scores, query_groups, gallery_groups, ks)
    return results


def save_with_preprocessor(model, path, preprocessor):
    """Saves a model with its preprocessor's JSON inside the `.keras` file (as `Predictor`)."""
    model.save(path)
    write_preprocessor(path, preprocessor)


def load_with_preprocessor(path):
    """`(model, Preprocessor or None)` from a `.keras` file, in safe mode."""
    preprocessor = read_preprocessor(path)
    return keras.models.load_model(path, safe_mode=True), preprocessor


def summarize_runs(rows):
    """Mean ± std over seeds of every metric column, per method and direction."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    metrics = [c for c in frame.columns if c.startswith(("recall@", "random_recall@"))
               or c in ("median_rank", "mrr", "train_seconds")]
    grouped = frame.groupby(["method", "direction"], sort=False)[metrics]
    summary = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=0).add_suffix("_std"))
    summary["seeds"] = grouped.size()
    return summary.reset_index()


def plot_recall_bars(summary, direction, path=None, ks=KS):
    """Grouped bars of recall@k per method (mean ± std over seeds), random baseline dashed."""
    import matplotlib.pyplot as plt  # the caller's backend: inline in a notebook

    part = summary[summary["direction"] == direction]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(part) + 3), 3.8))
    width = 0.8 / len(ks)
    x = np.arange(len(part))
    for i, k in enumerate(ks):
        ax.bar(x + (i - (len(ks) - 1) / 2) * width, part[f"recall@{k}_mean"], width,
               yerr=part[f"recall@{k}_std"], capsize=3, label=f"recall@{k}")
        ax.hlines(part[f"random_recall@{k}_mean"].iloc[0], -0.5, len(part) - 0.5,
                  colors=f"C{i}", linestyles="dashed", linewidth=1)
    ax.set_xticks(x, part["method"], rotation=20, ha="right")
    ax.set_ylabel("recall (dashed: random)")
    ax.set_title(f"emoji, unseen test emoji: {direction.replace('_', ' ')}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def plot_top_matches(queries, images, rows, titles=None, path=None, correct=None):
    """A grid: one row per text query, its top-k pictures (green frame: the right emoji).

    Args:
        queries: Query strings (row labels).
        images: `(gallery, h, w, 3)` pictures in [0, 1].
        rows: `(queries, k)` gallery rows, best first.
        titles: Optional `(queries, k)` strings under the pictures (scores).
        path: Save here (PNG) when given.
        correct: Optional `(queries, k)` booleans.
    """
    import matplotlib.pyplot as plt  # the caller's backend: inline in a notebook

    n, k = np.shape(rows)
    fig, axes = plt.subplots(n, k + 1, figsize=(1.3 * (k + 1) + 1.6, 1.35 * n), squeeze=False)
    for i in range(n):
        axes[i, 0].text(1.0, 0.5, queries[i], ha="right", va="center", fontsize=8, wrap=True,
                        transform=axes[i, 0].transAxes)
        axes[i, 0].axis("off")
        for j in range(k):
            ax = axes[i, j + 1]
            ax.imshow(images[rows[i][j]])
            ax.set_xticks([])
            ax.set_yticks([])
            if correct is not None:
                color = "green" if correct[i][j] else "lightgrey"
                for spine in ax.spines.values():
                    spine.set_edgecolor(color)
                    spine.set_linewidth(3 if correct[i][j] else 1)
            if titles is not None:
                ax.set_title(titles[i][j], fontsize=7)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, default=float)
