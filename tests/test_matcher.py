"""Matcher: shapes, attention maps, any fusion, round trip; negatives and pairs."""

import numpy as np
import pytest

import mmkeras
from mmkeras.fusion import fusion_readout
from mmkeras.tasks import build_matcher, match_probabilities
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
