"""The retrieval study's parts: encoders for pairs, training, evaluation both ways, saving, figures.

Used by `scripts/retrieval_study.py`, the `retrieve` command and notebook 10.
"""

import json
import time

import keras
import numpy as np

from mmkeras import encoders
# The query and gallery sides of a split, re-exported for the scripts and notebook 10.
from mmkeras.datasets.pairs import directions, query_and_gallery  # noqa: F401
from mmkeras.evaluation.retrieval_metrics import retrieval_metrics
from mmkeras.preprocessing import SubwordTokenizer
from mmkeras.preprocessing.image import augmentation
from mmkeras.tasks import (
    Retriever,
    build_dual_encoder,
    build_matcher,
    build_matcher_from_dual_encoder,
    compile_matcher,
    embedding_model,
    set_towers_trainable,
)
from mmkeras.training.callbacks import RetrievalEarlyStopping
from mmkeras.training.matching import fit_dual_encoder, fit_matcher, matching_pairs
from mmkeras.training.seeding import seed_everything
from mmkeras.utils.training_state import build_training_state
from mmkeras.utils.validation import (
    check_float,
    check_non_negative_int,
    check_positive_int,
)

KS = (1, 5, 10)


def pair_encoders(data, augment=False):
    """Fresh encoders for a pair dataset's two modalities.

    Images: `image_cnn` (two blocks, 128-d), with `augment` after
    `emoji_augmentation()`; token ids: `text_conv1d` (kernel 3 over words,
    5 over characters: character n-grams); hashed subwords
    (`SubwordTokenizer`): `text_subword_bag`; frames: `sequence_lstm`.
    """
    built = {}
    for modality in data.modalities:
        shape = tuple(data.input_shapes[modality])
        converter = data.preprocessor.converters[modality]
        if len(shape) == 3:
            built[modality] = encoders.image_cnn(
                input_shape=shape, filters=(32, 64), embedding_dim=128,
                augmentation=emoji_augmentation() if augment else None)
        elif isinstance(converter, SubwordTokenizer):
            built[modality] = encoders.text_subword_bag(
                max_words=converter.max_words, max_ngrams=converter.max_ngrams,
                buckets=converter.buckets, embedding_dim=64, output_dim=128)
        elif len(shape) == 1:
            characters = converter.method == "characters"
            built[modality] = encoders.text_conv1d(
                sequence_length=shape[0], vocab_size=len(data.vocabulary), embedding_dim=64,
                filters=128, kernel_size=5 if characters else 3)
        else:
            built[modality] = encoders.sequence_lstm(input_shape=shape, units=64)
    return built


def emoji_augmentation():
    """Light picture augmentation for emoji (training only): shifts up to 8 %, zoom ±10 %,
    contrast ±20 %, the white background filled in."""
    return augmentation(rotation=0.0, zoom=0.1, translation=0.08, contrast=0.2, fill_value=1.0)


def train_dual_encoder(data, seed=0, epochs=15, batch_size=128, embedding_dim=64,
                       augment=False, weight_decay=None):
    """A dual encoder trained on `data.train` for `epochs`: `(model, seconds)`.

    `augment`: pictures through `emoji_augmentation()`; `weight_decay`:
    AdamW's decoupled decay (Adam without).
    """
    model, info = train_dual_encoder_early_stopping(
        data, seed, max_epochs=epochs, patience=None, lr_patience=None, batch_size=batch_size,
        embedding_dim=embedding_dim, augment=augment, weight_decay=weight_decay)
    return model, info["seconds"]


def train_dual_encoder_early_stopping(data, seed=0, max_epochs=100, patience=14,
                                      batch_size=128, embedding_dim=64, augment=True,
                                      weight_decay=0.05, lr_patience=4, lr_factor=0.3,
                                      verbose=False):
    """A dual encoder trained to convergence, selected on validation retrieval.

    Trains on `data.train` for at most `max_epochs`, scoring retrieval on
    `data.validation` after every epoch (`RetrievalEarlyStopping`: mean
    recall@1 of both directions + ½ MRR); stops after `patience` epochs
    without improvement and keeps the best epoch's weights. Before that,
    the learning rate is multiplied by `lr_factor` after every `lr_patience`
    epochs without improvement (`keras.callbacks.ReduceLROnPlateau` on the
    same score, down to 1e-5). The defaults are the study's best setting:
    pictures augmented, AdamW with weight decay 0.05, learning rate cut by
    0.3 after 4 flat epochs (with `load_pairs(tokenizer="subwords")`).

    Args:
        data: A pair dataset (`load_pairs`).
        seed: Seed of the weights, the shuffling and the augmentation.
        max_epochs: The most epochs.
        patience: Epochs without improvement before stopping; `None` trains
            `max_epochs` and keeps the last weights.
        batch_size: Pairs per batch (the in-batch negatives).
        embedding_dim: Width of the shared space.
        augment: Pictures through `emoji_augmentation()` while training.
        weight_decay: AdamW's decoupled weight decay; `None` or 0: Adam.
        lr_patience: Epochs without improvement before the learning rate is
            cut; `None`: a constant learning rate. Needs `patience`.
        lr_factor: What the learning rate is multiplied by at each cut.
        verbose: Print each epoch's validation recall.

    Returns:
        `(model, info)`: info `{"seconds", "best_epoch", "epochs_run",
        "history", "final_learning_rate"}` (history: the validation recall of
        every epoch; empty without early stopping, where best_epoch is the
        last).
    """
    if lr_patience is not None:
        if patience is None:
            raise ValueError("`lr_patience` cuts the learning rate on the early stopping's "
                             "validation score: it needs `patience`. Received: "
                             f"patience=None, lr_patience={lr_patience!r}")
        lr_patience = check_positive_int("lr_patience", lr_patience)
        lr_factor = check_float("lr_factor", lr_factor, minimum=0, maximum=1,
                                min_inclusive=False, max_inclusive=False)
    seed_everything(seed)
    optimizer = "adamw" if weight_decay else "adam"
    model = build_dual_encoder(pair_encoders(data, augment=augment),
                               embedding_dim=embedding_dim, optimizer=optimizer,
                               weight_decay=weight_decay or None)
    callbacks = []
    if patience is not None:
        callbacks.append(RetrievalEarlyStopping(data.validation.x, data.validation.y,
                                                patience=patience, verbose=verbose))
    if lr_patience is not None:
        # Reads the score RetrievalEarlyStopping (called before it) adds to the logs.
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_retrieval_score", mode="max", min_lr=1e-5, patience=lr_patience,
            factor=lr_factor))
    start = time.perf_counter()
    fit_dual_encoder(model, data.train.x, data.train.y, epochs=max_epochs,
                     batch_size=batch_size, callbacks=callbacks)
    seconds = time.perf_counter() - start
    if callbacks:
        stop = callbacks[0]
        info = {"best_epoch": stop.best_epoch, "epochs_run": stop.epochs_run,
                "history": stop.history}
    else:
        info = {"best_epoch": max_epochs, "epochs_run": max_epochs, "history": []}
    info["final_learning_rate"] = float(keras.ops.convert_to_numpy(
        model.optimizer.learning_rate))
    return model, {"seconds": seconds, **info}


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


def train_matcher_from_dual_encoder(data, dual_encoder, head="product", seed=0, epochs=10,
                                    frozen_epochs=None, learning_rate=1e-3,
                                    fine_tune_learning_rate=1e-4, patience=3, candidates=20,
                                    batch_size=128, negatives="hard", temperature=0.05,
                                    verbose=False):
    """A matcher on the dual encoder's trunk, trained on its hard negatives: `(matcher, info)`.

    `build_matcher_from_dual_encoder(dual_encoder, head)` with frozen
    towers; every epoch a fresh draw of negatives (`matching_pairs`: for
    hard ones, wrong partners sampled `∝ exp(sim / temperature)` from the
    dual encoder's similarities on the training pairs, ALBEF-style). After
    `frozen_epochs` the towers are unfrozen and training goes on at
    `fine_tune_learning_rate`. With `patience`, after every epoch the
    dual encoder's top `candidates` on `data.validation` are re-ranked by
    the matcher (score: mean R@1 of both directions + ½ mean MRR); training
    stops after `patience` epochs without a better score and the best
    epoch's weights are restored.

    Args:
        data: A pair dataset (`load_pairs`): `train` and, with `patience`,
            `validation` splits.
        dual_encoder: The trained dual encoder (left unchanged).
        head: `"product"` or `"features"` (`build_matcher_from_dual_encoder`).
        seed: Seed of the head's weights and the negatives.
        epochs: The most epochs.
        frozen_epochs: Epochs with frozen towers; `None`: all of them.
        learning_rate: Adam's learning rate while the towers are frozen.
        fine_tune_learning_rate: Adam's learning rate once they are not.
        patience: Epochs without improvement before stopping; `None`:
            train `epochs` and keep the last weights.
        candidates: How many of the dual encoder's results are re-ranked.
        batch_size: Pairs per batch.
        negatives: `"hard"`, `"random"` or `"mixed"`.
        temperature: Sharpness of the hard sampling.
        verbose: Print one line per epoch.

    Returns:
        `(matcher, info)`: info `{"seconds", "best_epoch", "epochs_run",
        "history"}` (history: one dict per epoch, its loss and, with
        `patience`, its validation score).
    """
    epochs = check_positive_int("epochs", epochs)
    frozen = epochs if frozen_epochs is None else check_non_negative_int("frozen_epochs",
                                                                         frozen_epochs)
    patience = check_positive_int("patience", patience, allow_none=True)
    seed_everything(seed)
    matcher = build_matcher_from_dual_encoder(
        dual_encoder, head=head, trainable=frozen == 0,
        learning_rate=learning_rate if frozen else fine_tune_learning_rate)
    similarity = None if negatives == "random" else pair_similarity(dual_encoder, data.train.x)
    variables, best, history = list(matcher.weights), None, []
    start = time.perf_counter()
    for epoch in range(epochs):
        if epoch == frozen and epoch > 0:
            _unfreeze(matcher, fine_tune_learning_rate)
        pairs, labels = matching_pairs(data.train.x, data.train.y, similarity, negatives,
                                       temperature, seed=seed * 1000 + 3 * epoch)
        build_training_state(matcher, pairs, labels)
        step = matcher.fit(pairs, labels, batch_size=batch_size, epochs=1, shuffle=True,
                           verbose=0)
        history.append({"epoch": epoch + 1, "loss": float(step.history["loss"][-1])})
        if patience is None:
            continue
        history[-1]["score"] = rerank_score(dual_encoder, data.validation, matcher, candidates)
        if verbose:
            print(f"matcher epoch {epoch + 1}: {history[-1]}", flush=True)
        if best is None or history[-1]["score"] > best[0]:
            best = (history[-1]["score"], epoch + 1, [v.numpy() for v in variables])
        elif epoch + 1 - best[1] >= patience:
            break
    if best is not None:
        for variable, value in zip(variables, best[2]):
            variable.assign(value)
    return matcher, {"seconds": time.perf_counter() - start, "history": history,
                     "best_epoch": best[1] if best else len(history),
                     "epochs_run": len(history)}


def _unfreeze(matcher, learning_rate):
    set_towers_trainable(matcher, True)
    compile_matcher(matcher, "adam", learning_rate)


def rerank_score(dual_encoder, split, matcher, candidates=20):
    """Mean R@1 of both directions + ½ mean MRR, the top `candidates` re-ranked by `matcher`."""
    results = evaluate_retrieval(dual_encoder, split, matcher, candidates=candidates).values()
    return float(np.mean([m["recall@1"] + 0.5 * m["mrr"] for m in results]))


def match_separation(matcher, dual_encoder, split, seed=0):
    """How well `p(match)` separates true pairs from hard and from random wrong ones.

    Hard wrong pairs are drawn from the dual encoder's similarities on
    `split` (`matching_pairs`, `negatives="hard"`), random ones uniformly.

    Returns:
        `{"p_true", "p_hard_wrong", "p_random_wrong", "auc_hard", "auc_random"}`:
        mean match probabilities and AUCs (the share of (true, wrong) pairs in
        which the true one scores higher, ties counting ½).
    """
    result = {}
    for kind, similarity in (("hard", pair_similarity(dual_encoder, split.x)),
                             ("random", None)):
        pairs, labels = matching_pairs(split.x, split.y, similarity, kind, seed=seed)
        p = np.asarray(matcher.predict(pairs, batch_size=256, verbose=0)).reshape(-1)
        true, wrong = p[labels == 1], p[labels == 0]
        result["p_true"] = float(true.mean())
        result[f"p_{kind}_wrong"] = float(wrong.mean())
        result[f"auc_{kind}"] = float(np.mean((true[:, None] > wrong[None, :])
                                              + 0.5 * (true[:, None] == wrong[None, :])))
    return result


def pair_similarity(dual_encoder, x):
    """`(n, n)` cosine similarities of the pairs' first modality to their second (sorted)."""
    a, b = sorted(x)
    embed = lambda m: embedding_model(dual_encoder, m).predict(x[m], batch_size=256, verbose=0)
    return embed(a) @ embed(b).T


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


def picture_gallery(data, splits):
    """`(images, ids)` of a pair dataset's pictures in `splits`, ids naming the item."""
    images = np.concatenate([data.splits[s].x["image"] for s in splits])
    ids = [f"{data.class_names[g].lower()} ({str(i).split('/')[-1]})"
           for s in splits for g, i in zip(data.splits[s].y, data.splits[s].ids)]
    return images, ids


def search_pictures(dual_encoder, query, images, ids, k=5, matcher=None):
    """The `k` pictures that best match one text: a `SearchResults` of one row.

    `dual_encoder` is a `Task` with the text preprocessor (as the study and
    `python -m mmkeras retrieve --train` save it); `matcher` re-ranks its top 20.
    """
    if getattr(dual_encoder, "preprocessor", None) is None or \
            "text" not in dual_encoder.preprocessor.modalities:
        raise ValueError("The dual encoder has no text preprocessor; save it as "
                         "mmkeras.models.Task(dual_encoder, data.preprocessor)")
    text, _ = dual_encoder.preprocessor.select(["text"])({"text": [query]})
    retriever = Retriever(dual_encoder, {"image": images}, ids=ids)
    return retriever.search(text, k=k, rerank=matcher)


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


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, default=float)
