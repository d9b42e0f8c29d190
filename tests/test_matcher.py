"""Matcher: shapes, attention maps, any fusion, round trip; negatives and pairs."""

import numpy as np
import pytest

import mmkeras
from mmkeras.fusion import fusion_readout
from mmkeras.tasks import (
    PairFeatures,
    build_dual_encoder,
    build_matcher,
    build_matcher_from_dual_encoder,
    embedding_model,
    match_probabilities,
    set_towers_trainable,
)
from mmkeras.training import fit_matcher, matching_pairs, sample_negatives


def encoders():
    # 8x8 image, two pooling blocks -> a 2x2 map: 4 positions; 5 text tokens.
    return {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), filters=(4, 8),
                                                embedding_dim=8),
            "text": mmkeras.encoders.text_bigru(sequence_length=5, vocab_size=20, units=4)}


def pairs(n=6):
    rng = np.random.default_rng(0)
    text = rng.integers(1, 20, size=(n, 5)).astype("int32")
    text[:, 3:] = 0  # padding
    return {"image": rng.random((n, 8, 8, 1)).astype("float32"), "text": text}


def test_matcher_outputs_and_attention_maps():
    matcher = build_matcher(encoders(), fusion="cross_attention")
    x = pairs()
    probabilities = match_probabilities(matcher, x)
    assert probabilities.shape == (6,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    readout = fusion_readout(matcher, x)
    assert readout["fusion"] == "CrossModalAttentionFusion"
    assert readout["modalities"] == ["image", "text"]
    image_to_text, text_to_image = readout["attention_maps"]
    heads = 2
    assert image_to_text.shape == (6, heads, 4, 5)
    assert text_to_image.shape == (6, heads, 5, 4)
    # Image positions attend over real tokens only; each row is a distribution.
    np.testing.assert_allclose(image_to_text.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(image_to_text[..., 3:], 0, atol=1e-6)


@pytest.mark.parametrize("fusion", ["concat", "early", "gated"])
def test_matcher_on_other_fusions(fusion, assert_round_trip):
    matcher = build_matcher(encoders(), fusion=fusion)
    assert matcher.name == f"{fusion}_matcher"
    assert matcher.output.shape == (None, 1)
    assert_round_trip(matcher, pairs(), name=f"{fusion}.keras")


@pytest.mark.slow
def test_cross_attention_matcher_round_trip(assert_round_trip):
    matcher = build_matcher(encoders())
    x = pairs()
    fit_matcher(matcher, x, np.arange(6), negatives="random", epochs=1, batch_size=6)
    loaded = assert_round_trip(matcher, x)
    for a, b in zip(fusion_readout(loaded, x)["attention_maps"],
                    fusion_readout(matcher, x)["attention_maps"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_matcher_bad_arguments():
    with pytest.raises(ValueError, match=r"exactly two modalities. Received: encoders for \['image'\]"):
        build_matcher({"image": encoders()["image"]})
    with pytest.raises(ValueError, match="Received: fusion='late'"):
        build_matcher(encoders(), fusion="late")
    with pytest.raises(ValueError, match="foo"):
        build_matcher(encoders(), fusion="foo")


def test_negatives_are_wrong_and_hard_ones_are_the_most_similar():
    groups = np.array([0, 0, 1, 2, 3])
    for kind in ("random", "hard", "mixed"):
        rows = sample_negatives(groups, np.eye(5), kind=kind, seed=3)
        assert np.all(groups[rows] != groups)
    similarity = np.random.default_rng(0).normal(size=(5, 5))
    hard = sample_negatives(groups, similarity, kind="hard", temperature=1e-4)
    wrong = groups[:, None] != groups[None, :]
    np.testing.assert_array_equal(hard, np.where(wrong, similarity, -np.inf).argmax(1))


def test_matching_pairs_labels_and_partners():
    groups = np.array([0, 1, 2, 3])
    x = {"text": np.arange(4)[:, None] * np.ones((4, 5), int),
         "image": np.arange(4)[:, None, None, None] * np.ones((4, 8, 8, 1))}
    built, labels = matching_pairs(x, groups, negatives="random", seed=1)
    assert len(labels) == 12 and labels.sum() == 4
    same = built["text"][:, 0] == built["image"][:, 0, 0, 0]
    np.testing.assert_array_equal(same, labels == 1)


def test_negatives_bad_inputs():
    with pytest.raises(ValueError, match="Received: kind='easy'"):
        sample_negatives([0, 1], kind="easy")
    with pytest.raises(ValueError, match="similarity=None"):
        sample_negatives([0, 1], kind="hard")
    with pytest.raises(ValueError, match="a single group 0"):
        sample_negatives([0, 0])
    with pytest.raises(ValueError, match=r"Received: \{'image': 3, 'text': 4\} and 4 groups"):
        matching_pairs({"image": np.zeros((3, 8, 8, 1)), "text": np.zeros((4, 5))}, [0, 1, 2, 3])


# --- A matcher on a trained dual encoder's trunk (one trunk, two heads) ---

def dual_encoder():
    built = {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,),
                                                 embedding_dim=8),
             "text": mmkeras.encoders.text_conv1d(sequence_length=5, vocab_size=20, filters=8)}
    return build_dual_encoder(built, embedding_dim=6)


def tower_weights(model, modality):
    return [w.copy() for w in embedding_model(model, modality).get_weights()]


def test_trunk_matcher_starts_from_the_dual_encoders_towers():
    dual = dual_encoder()
    x = pairs()
    for head in ("product", "features"):
        matcher = build_matcher_from_dual_encoder(dual, head=head, trainable=True)
        assert matcher.name == f"{head}_trunk_matcher" and matcher.output.shape == (None, 1)
        for modality in ("image", "text"):
            copied = matcher.get_layer(f"{modality}_tower")
            for a, b in zip(copied.get_weights(), tower_weights(dual, modality)):
                np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(copied.predict(x[modality], verbose=0)[1],
                                       embedding_model(dual, modality).predict(x[modality],
                                                                               verbose=0),
                                       rtol=1e-6, atol=1e-6)
            # Copies: no variable is shared with the dual encoder.
            assert not {id(v) for v in copied.weights} & {id(v) for v in dual.weights}


def test_the_towers_of_a_frozen_dual_encoder_train_in_the_matcher_when_asked():
    """A dual encoder frozen by the caller (to use its towers as fixed features) still gives
    a matcher whose tower copies train with `trainable=True` and `set_towers_trainable`."""
    dual = dual_encoder()
    unfrozen = build_matcher_from_dual_encoder(dual, head="features", trainable=True)
    expected = {m: len(unfrozen.get_layer(f"{m}_tower").trainable_weights) for m in ("image",
                                                                                    "text")}
    for modality in ("image", "text"):
        embedding_model(dual, modality).trainable = False  # the dual encoder's own layers
    matcher = build_matcher_from_dual_encoder(dual, head="features", trainable=True)
    frozen = build_matcher_from_dual_encoder(dual, head="features", trainable=False)
    set_towers_trainable(frozen, True)
    for model in (matcher, frozen):
        for modality in ("image", "text"):
            tower = model.get_layer(f"{modality}_tower")
            assert len(tower.trainable_weights) == expected[modality] > 0, modality
            assert all(layer.trainable for layer in tower.layers)
    assert not embedding_model(dual, "image").trainable_weights  # the dual encoder: as it was


def test_training_the_trunk_matcher_leaves_the_dual_encoder_unchanged():
    dual = dual_encoder()
    before = {m: tower_weights(dual, m) for m in ("image", "text")}
    frozen = build_matcher_from_dual_encoder(dual, head="features", trainable=False)
    tuned = build_matcher_from_dual_encoder(dual, head="product", trainable=True,
                                            learning_rate=0.05)
    for matcher in (frozen, tuned):
        fit_matcher(matcher, pairs(), np.arange(6), negatives="random", epochs=2, batch_size=6)
    for modality, weights in before.items():
        for a, b in zip(tower_weights(dual, modality), weights):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(frozen.get_layer(f"{modality}_tower").get_weights(), weights):
            np.testing.assert_array_equal(a, b)  # frozen: unchanged
        changed = [not np.array_equal(a, b) for a, b in
                   zip(tuned.get_layer(f"{modality}_tower").get_weights(), weights)]
        assert any(changed), modality  # trainable: trained


@pytest.mark.parametrize("head", ["product", "features"])
def test_trunk_matcher_round_trip(head, assert_round_trip):
    matcher = build_matcher_from_dual_encoder(dual_encoder(), head=head, residual=head == "product")
    loaded = assert_round_trip(matcher, pairs(), name=f"{head}.keras")
    assert not loaded.get_layer("image_tower").trainable


def test_untrained_residual_head_ranks_like_the_dual_encoder():
    dual = dual_encoder()
    matcher = build_matcher_from_dual_encoder(dual, head_units=())
    matcher.get_layer("match_logit").set_weights([np.zeros((12, 1)), np.zeros(1)])
    x = pairs()
    cosine = np.sum(embedding_model(dual, "image").predict(x["image"], verbose=0)
                    * embedding_model(dual, "text").predict(x["text"], verbose=0), axis=1)
    scale = dual.get_layer("similarity").scale
    np.testing.assert_allclose(match_probabilities(matcher, x), 1 / (1 + np.exp(-scale * cosine)),
                               rtol=1e-5)


def test_trunk_matcher_bad_arguments():
    dual = dual_encoder()
    with pytest.raises(ValueError, match="Received: head='cross'"):
        build_matcher_from_dual_encoder(dual, head="cross")
    with pytest.raises(ValueError, match="Received: trainable='yes'"):
        build_matcher_from_dual_encoder(dual, trainable="yes")
    with pytest.raises(ValueError, match="Received: residual=1"):
        build_matcher_from_dual_encoder(dual, residual=1)
    with pytest.raises(ValueError, match="Received: 'gated_matcher'"):
        build_matcher_from_dual_encoder(build_matcher(encoders(), fusion="gated"))
    with pytest.raises(ValueError, match="Received: 'gated_matcher'"):
        set_towers_trainable(build_matcher(encoders(), fusion="gated"))
    with pytest.raises(ValueError, match="Received: scale=0"):
        PairFeatures(scale=0)
    with pytest.raises(ValueError, match="head_units"):
        build_matcher_from_dual_encoder(dual, head_units=(0,))
