"""Retrieval: metrics by hand, indexes, the Retriever and its errors, paired data."""

import math
import sys

import numpy as np
import pytest

import mmkeras
from mmkeras.datasets import load_pairs, unique_groups
from mmkeras.evaluation import first_relevant_rank, random_recall, retrieval_metrics
from mmkeras.tasks import (
    BruteForceIndex,
    Retriever,
    build_dual_encoder,
    build_matcher,
    make_index,
)


def test_metrics_against_a_hand_computed_case():
    # 3 queries, gallery of 4; query 0's relevant item (group 0) is ranked 2nd,
    # query 1 has two relevant items (group 1), the best ranked 1st, query 2's is last.
    scores = np.array([[0.5, 0.9, 0.1, 0.2],
                       [0.6, 0.3, 0.7, 0.1],
                       [0.4, 0.3, 0.2, 0.1]])
    gallery = [0, 1, 1, 2]
    np.testing.assert_array_equal(first_relevant_rank(scores, [0, 1, 2], gallery), [2, 1, 4])
    m = retrieval_metrics(scores, [0, 1, 2], gallery, ks=(1, 2, 4))
    assert m["recall@1"] == pytest.approx(1 / 3)
    assert m["recall@2"] == pytest.approx(2 / 3)
    assert m["recall@4"] == 1.0
    assert m["median_rank"] == 2.0
    assert m["mrr"] == pytest.approx((1 / 2 + 1 + 1 / 4) / 3)
    # random: one relevant -> k/N; two relevant of 4 -> 1 - C(2,1)/C(4,1) at k=1
    assert m["random_recall@1"] == pytest.approx((1 / 4 + 1 / 2 + 1 / 4) / 3)
    assert m["queries"] == 3 and m["gallery"] == 4


def test_ties_count_against_the_query():
    assert first_relevant_rank(np.ones((2, 5)), [0, 3], [0, 1, 2, 3, 4]).tolist() == [5, 5]


def test_random_recall_formula():
    assert random_recall(1, 100, 5) == pytest.approx(0.05)
    assert random_recall(2, 10, 3) == pytest.approx(1 - math.comb(8, 3) / math.comb(10, 3))
    rng = np.random.default_rng(0)
    hits = np.mean([np.any(rng.permutation(10)[:3] < 2) for _ in range(20000)])
    assert hits == pytest.approx(random_recall(2, 10, 3), abs=0.01)


def test_metrics_bad_inputs():
    with pytest.raises(ValueError, match=r"Received: scores.shape=\(2, 3\)"):
        retrieval_metrics(np.zeros((2, 3)), [0], [0, 1, 2])
    with pytest.raises(ValueError, match=r"Received: ks=\(1, 5\)"):
        retrieval_metrics(np.zeros((1, 3)), [0], [0, 1, 2], ks=(1, 5))
    with pytest.raises(ValueError, match=r"queries \[1\] \(groups \[7\]\) have none"):
        retrieval_metrics(np.zeros((2, 3)), [0, 7], [0, 1, 2])


def test_brute_force_search_and_k_errors():
    embeddings = np.random.default_rng(0).normal(size=(20, 4))
    queries = np.random.default_rng(1).normal(size=(3, 4))
    scores, rows = BruteForceIndex(embeddings).search(queries, k=5)
    full = queries @ embeddings.T
    np.testing.assert_array_equal(rows, np.argsort(-full, axis=1)[:, :5])
    np.testing.assert_allclose(scores, np.sort(full, axis=1)[:, ::-1][:, :5], rtol=1e-5)
    with pytest.raises(ValueError, match="Received: k=21 for a gallery of 20 items"):
        BruteForceIndex(embeddings).search(queries, k=21)
    with pytest.raises(ValueError, match=r"Received: shape \(3, 2\)"):
        BruteForceIndex(embeddings).search(queries[:, :2], k=1)
    with pytest.raises(ValueError, match="Received: index='annoy'"):
        make_index(embeddings, "annoy")


def test_faiss_index_gives_the_same_results():
    pytest.importorskip("faiss")
    embeddings = np.random.default_rng(0).normal(size=(50, 8))
    queries = np.random.default_rng(1).normal(size=(4, 8))
    expected = BruteForceIndex(embeddings).search(queries, k=10)
    got = make_index(embeddings, "faiss").search(queries, k=10)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5)


def test_faiss_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        make_index(np.eye(3), "faiss")


def models():
    encoders = lambda: {
        "image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,), embedding_dim=8),
        "text": mmkeras.encoders.text_conv1d(sequence_length=5, vocab_size=20, filters=8)}
    return build_dual_encoder(encoders(), embedding_dim=6), build_matcher(encoders())


def test_retriever_search_and_rerank():
    dual_encoder, matcher = models()
    rng = np.random.default_rng(0)
    images = rng.random((12, 8, 8, 1)).astype("float32")
    texts = rng.integers(1, 20, size=(3, 5)).astype("int32")
    retriever = Retriever(dual_encoder, {"image": images}, ids=[f"p{i}" for i in range(12)])
    assert retriever.gallery_modality == "image" and retriever.query_modality == "text"
    found = retriever.search({"text": texts}, k=4)
    scores = retriever.scores({"text": texts})
    np.testing.assert_array_equal(found.rows, np.argsort(-scores, axis=1)[:, :4])
    assert found.ids[0] == [f"p{j}" for j in found.rows[0]]
    reranked = retriever.search({"text": texts}, k=3, rerank=matcher, candidates=6)
    assert reranked.rows.shape == (3, 3)
    assert np.all(np.diff(reranked.scores, axis=1) <= 0)
    candidates = np.argsort(-scores, axis=1)[:, :6]
    assert all(set(r) <= set(c) for r, c in zip(reranked.rows, candidates))
    ranking = retriever.ranking_scores({"text": texts}, rerank=matcher, candidates=6)
    np.testing.assert_array_equal(np.argsort(-ranking, axis=1, kind="stable")[:, :3], reranked.rows)
    blended = retriever.search({"text": texts}, k=3, rerank=matcher, candidates=6, blend=True)
    ranking = retriever.ranking_scores({"text": texts}, rerank=matcher, candidates=6, blend=True)
    np.testing.assert_array_equal(np.argsort(-ranking, axis=1, kind="stable")[:, :3], blended.rows)
    probabilities = mmkeras.tasks.match_probabilities(
        matcher, {"text": np.repeat(texts[:1], 3, axis=0), "image": images[blended.rows[0]]})
    np.testing.assert_allclose(blended.scores[0], probabilities + scores[0, blended.rows[0]],
                               rtol=1e-5)


def test_retriever_bad_inputs():
    dual_encoder, _ = models()
    retriever = Retriever(dual_encoder, {"image": np.zeros((4, 8, 8, 1))})
    with pytest.raises(ValueError, match="same modality.*Received: query modality 'image', "
                                         "gallery modality 'image'"):
        retriever.search({"image": np.zeros((1, 8, 8, 1))})
    with pytest.raises(ValueError, match="Received: k=5 for a gallery of 4 items"):
        retriever.search({"text": np.ones((1, 5), "int32")}, k=5)
    with pytest.raises(ValueError, match="Received: 'audio'"):
        retriever.search({"audio": np.zeros((1, 3, 3))})
    with pytest.raises(ValueError, match="Received: 3 ids for 4 items"):
        Retriever(dual_encoder, {"image": np.zeros((4, 8, 8, 1))}, ids=["a", "b", "c"])
    with pytest.raises(ValueError, match="Received: dict with keys"):
        Retriever(dual_encoder, {"image": np.zeros((4, 8, 8, 1)), "text": np.zeros((4, 5))})


def test_emoji_pairs_have_match_groups():
    data = load_pairs("emoji")
    assert data.modalities == ["image", "text"]
    rows, groups = unique_groups(data.test)
    assert len(rows) == 192 and len(data.test) == 384
    assert set(data.test.y).isdisjoint(data.train.y)  # test emoji unseen
    # both pictures of a test emoji share the group and the name's ids
    first, second = np.flatnonzero(data.test.y == groups[0])
    np.testing.assert_array_equal(data.test.x["text"][first], data.test.x["text"][second])
    chars = load_pairs("emoji", tokenizer="characters")
    assert len({tuple(t) for t in chars.test.x["text"][rows]}) == 192
    assert len({tuple(t) for t in data.test.x["text"][rows]}) < 192  # unseen words -> <oov>
    speech = load_pairs("emoji", modalities=("text", "audio"))
    assert speech.modalities == ["audio", "text"]
    digits = load_pairs("av_digits")
    assert "Class-level" in digits.description and sorted(digits.modalities) == ["audio", "image"]


def test_load_pairs_bad_arguments():
    with pytest.raises(ValueError, match=r"Received: modalities=\['image', 'video'\]"):
        load_pairs("emoji", modalities=("image", "video"))
    with pytest.raises(ValueError, match="Received: dataset='spoken_words'"):
        load_pairs("spoken_words")
    with pytest.raises(ValueError, match="Received: tokenizer='bpe'"):
        load_pairs("emoji", tokenizer="bpe")
    from mmkeras.datasets.emoji import load_emoji

    with pytest.raises(ValueError, match="Received: tokenizer='jieba'"):
        load_emoji(tokenizer="jieba")


@pytest.mark.parametrize("tokenizer", ["regexp", "subwords"])
def test_retrieve_command(tokenizer, tmp_path, capsys, monkeypatch):
    """Plumbing of `python -m mmkeras retrieve` on an untrained model (no claim of quality):
    the saved model's own text converter reads the query."""
    from mmkeras.__main__ import main
    from mmkeras.experiments import retrieval as study
    from mmkeras.models import Task

    data = load_pairs("emoji", tokenizer=tokenizer)
    model = build_dual_encoder(study.pair_encoders(data), embedding_dim=8)
    path, png = str(tmp_path / "de.keras"), str(tmp_path / "top.png")
    Task(model, data.preprocessor).save(path)
    assert main(["retrieve", "--query", "red heart", "--model", path, "--top", "3",
                 "--split", "test", "--png", png]) == 0
    out = capsys.readouterr().out
    assert "Top 3 of 384 pictures (test) for 'red heart'" in out
    assert len([line for line in out.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]) == 3
    assert (tmp_path / "top.png").stat().st_size > 0
    assert main(["retrieve", "--query", "x", "--dataset", "av_digits"]) == 2
    assert "Received: 'av_digits'" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # no checkout here: no default model
    assert main(["retrieve", "--query", "x"]) == 2
    assert "subwords_dual_encoder.keras" in capsys.readouterr().err


def test_emoji_pairs_as_subwords():
    """Subwords keep all 192 unseen test names apart (words collapse them to fewer)."""
    data = load_pairs("emoji", tokenizer="subwords")
    assert data.input_shapes["text"] == (288,) and data.vocabulary is None
    rows, _ = unique_groups(data.test)
    assert len({tuple(t) for t in data.test.x["text"][rows]}) == 192
    words = load_pairs("emoji")
    np.testing.assert_array_equal(data.test.y, words.test.y)
    from mmkeras.experiments import retrieval as study

    built = study.pair_encoders(data, augment=True)
    assert built["text"].get_layer("subword_embedding").buckets == 2 ** 16
    assert built["image"].get_layer("image_augmentation") is not None


@pytest.mark.slow
def test_subword_dual_encoder_learns_unseen_emoji_with_early_stopping():
    """A few epochs of the study's best setting (subwords, augmented pictures, AdamW) find
    unseen test emoji from their names far more often than chance; early stopping reports
    the epochs it used."""
    from mmkeras.experiments import retrieval as study

    data = load_pairs("emoji", tokenizer="subwords")
    # Three epochs (recall@5 0.22 against chance 0.026 here; six gave 0.30 in 37 s, not 23).
    model, info = study.train_dual_encoder_early_stopping(data, seed=0, max_epochs=3,
                                                          patience=2, lr_patience=1)
    assert 1 <= info["best_epoch"] <= info["epochs_run"] <= 3
    # An epoch without improvement after the best one cuts Adam's 1e-3 by 0.3.
    if info["epochs_run"] > info["best_epoch"]:
        assert info["final_learning_rate"] == pytest.approx(3e-4, rel=1e-3), info
    else:
        assert info["final_learning_rate"] == pytest.approx(1e-3, rel=1e-3), info
    assert len(info["history"]) == info["epochs_run"] and info["seconds"] > 0
    metrics = study.evaluate_retrieval(model, data.test)["text_to_image"]
    assert metrics["recall@5"] > 3 * metrics["random_recall@5"], metrics


@pytest.mark.parametrize("arguments, message", [
    ({"patience": None, "lr_patience": 4}, "needs `patience`"),
    ({"lr_factor": 1.0}, "lr_factor"),
    ({"lr_factor": 0}, "lr_factor"),
    ({"lr_patience": 0}, "lr_patience"),
])
def test_learning_rate_cuts_are_checked_before_training(arguments, message, monkeypatch):
    from mmkeras.experiments import retrieval as study

    data = load_pairs("emoji", tokenizer="subwords")
    monkeypatch.setattr(study, "fit_dual_encoder", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=message) as error:
        study.train_dual_encoder_early_stopping(data, max_epochs=1, **arguments)
    assert "Received" in str(error.value)


def tiny_pairs(n, seed):
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    x = {"image": rng.random((n, 8, 8, 1)).astype("float32"),
         "text": rng.integers(1, 20, size=(n, 5)).astype("int32")}
    return SimpleNamespace(x=x, y=np.arange(n))


def test_train_matcher_from_dual_encoder_unfreezes_and_keeps_the_dual_encoder():
    from types import SimpleNamespace

    from mmkeras.experiments import retrieval as study

    dual_encoder, _ = models()
    before = [w.copy() for w in dual_encoder.get_weights()]
    data = SimpleNamespace(train=tiny_pairs(16, 0), validation=tiny_pairs(12, 1))
    matcher, info = study.train_matcher_from_dual_encoder(
        data, dual_encoder, head="features", epochs=3, frozen_epochs=1, patience=2,
        candidates=4, batch_size=16)
    assert info["epochs_run"] <= 3 and 1 <= info["best_epoch"] <= info["epochs_run"]
    assert all("score" in h and "loss" in h for h in info["history"])
    assert matcher.get_layer("image_tower").trainable  # unfrozen after the first epoch
    for a, b in zip(dual_encoder.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    separation = study.match_separation(matcher, dual_encoder, data.validation)
    assert set(separation) == {"p_true", "p_hard_wrong", "p_random_wrong", "auc_hard",
                               "auc_random"}
    assert all(0 <= v <= 1 for v in separation.values())
    with pytest.raises(ValueError, match="Received: frozen_epochs=-1"):
        study.train_matcher_from_dual_encoder(data, dual_encoder, frozen_epochs=-1)
