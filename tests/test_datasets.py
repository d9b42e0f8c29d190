"""The embedded datasets: offline, fast, well split, and learnable as claimed."""

import keras
import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, encoders, training


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
def test_loads_offline_with_metadata_ids_and_preprocessor(name):
    # How fast it loads is measured in benchmarks, not asserted here.
    ds = datasets.load(name)
    assert set(ds.splits) == {"train", "validation", "test"}
    total = sum(len(s) for s in ds.splits.values())
    for split in ds.splits.values():
        assert set(split.x) == set(ds.input_shapes)
        for modality, array in split.x.items():
            assert len(array) == len(split.y)
            shape = ds.input_shapes[modality]
            assert all(d is None or d == a for d, a in zip(shape, array.shape[1:]))
        assert 0 <= split.y.min() and split.y.max() < ds.num_classes
        # stratified 80/10/10: every class in every split, shares close to the target
        assert len(np.unique(split.y)) == ds.num_classes
    assert abs(len(ds.train) / total - 0.8) < 0.03
    assert ds.description
    ids = np.concatenate([s.ids for s in ds.splits.values()])
    assert len(set(ids)) == total  # every sample traceable to one item
    assert ds.preprocessor.modalities == ds.modalities
    assert ds.preprocessor.class_names == ds.class_names
    for modality in ds.modalities:
        assert ds.preprocessor.input_shape(modality) == tuple(ds.input_shapes[modality])


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"'av_digits', 'emoji', 'spoken_words'. Received: name='mnist'"):
        datasets.load("mnist")


def _fingerprints(array):
    return {hash(row.tobytes()) for row in np.asarray(array)}


def test_av_digits_no_utterance_or_image_in_two_splits():
    ds = datasets.load("av_digits", image_energy_removed=0, audio_noise=0)
    for modality in ("image", "audio"):
        parts = [_fingerprints(ds.splits[s].x[modality]) for s in ("train", "validation", "test")]
        assert sum(len(p) for p in parts) == len(set().union(*parts)) == 3000


def test_av_digits_pairs_share_the_label_and_padding_is_zero():
    ds = datasets.load("av_digits", audio_noise=0)
    audio = ds.train.x["audio"]
    lengths = np.any(audio != 0, axis=-1).sum(1)
    assert lengths.min() >= 6 and lengths.max() == audio.shape[1] == 92
    # padding comes only after the real frames
    for clip, n in zip(audio[:50], lengths[:50]):
        assert np.all(np.any(clip[:n] != 0, axis=-1)) and np.all(clip[n:] == 0)


@pytest.mark.slow
def test_av_digits_difficulty_controls():
    clean = datasets.load("av_digits", image_energy_removed=0, audio_noise=0)
    hard = datasets.load("av_digits")
    assert not np.allclose(clean.train.x["image"], hard.train.x["image"])
    # noise only on real frames: the padding mask is unchanged
    np.testing.assert_array_equal(np.any(clean.train.x["audio"] != 0, -1),
                                  np.any(hard.train.x["audio"] != 0, -1))
    again = datasets.load("av_digits")
    np.testing.assert_array_equal(hard.test.x["audio"], again.test.x["audio"])
    with pytest.raises(ValueError, match="Received: image_energy_removed=1.0"):
        datasets.load("av_digits", image_energy_removed=1.0)
    with pytest.raises(ValueError, match="Received: audio_noise=-1"):
        datasets.load("av_digits", audio_noise=-1)


def test_pca_energy_removal_against_reference():
    from mmkeras.datasets.av_digits import remove_image_energy

    rng = np.random.default_rng(0)
    images = rng.normal(size=(200, 6, 6)) @ np.diag(np.linspace(3, 0.1, 6))
    out, keep = remove_image_energy(images, 0.5, images)
    flat = images.reshape(200, -1)
    centred = flat - flat.mean(0)
    eigvals, eigvecs = np.linalg.eigh(np.cov(centred.T))
    order = np.argsort(eigvals)[::-1]
    share = np.cumsum(eigvals[order]) / eigvals.sum()
    assert keep == int(np.argmax(share >= 0.5) + 1)
    basis = eigvecs[:, order[:keep]]
    expected = centred @ basis @ basis.T + flat.mean(0)
    np.testing.assert_allclose(out.reshape(200, -1), expected, atol=1e-4)


def test_emoji_split_by_emoji_and_text_vocabulary_from_train():
    raw = np.load(datasets.data_dir() / "emoji.npz")
    by_split = {s: set(raw["unified"][raw["split"] == s]) for s in ("train", "validation", "test")}
    assert not (by_split["train"] & by_split["test"]) and not (by_split["train"] & by_split["validation"])
    ds = datasets.load("emoji")
    assert len(ds.train) == 2 * len(by_split["train"])  # both styles of every emoji
    assert ds.num_classes == 9 and "Component" not in ds.class_names
    assert ds.vocabulary[:2] == ["<pad>", "<oov>"]
    # unseen test emoji bring out-of-vocabulary words, never ids past the vocabulary
    assert ds.test.x["text"].max() < len(ds.vocabulary)
    assert (ds.test.x["text"] == 1).any()
    sub = datasets.load("emoji", label="subcategory", styles="google", image_size=16)
    assert sub.num_classes == 98 and sub.train.x["image"].shape[1:] == (16, 16, 3)
    with pytest.raises(ValueError, match="Received: label='kind'"):
        datasets.load("emoji", label="kind")
    with pytest.raises(ValueError, match="Received: styles=\\['apple'\\]"):
        datasets.load("emoji", styles="apple")


@pytest.mark.parametrize("features, width", [("mfcc", 13), ("logmel", 40), ("waveform", None)])
def test_spoken_words_features(features, width):
    ds = datasets.load("spoken_words", features=features)
    x = ds.train.x["audio"]
    if width is None:
        assert x.ndim == 2
    else:
        assert x.shape[-1] == width
        real = np.any(x != 0, -1)
        # normalised per utterance: each clip's real frames have mean 0
        np.testing.assert_allclose(x[0][real[0]].mean(0), 0, atol=1e-4)
    assert ds.class_names[:3] == ["yes", "no", "up"]


def test_split_select_and_take():
    split = datasets.load("av_digits").train
    only = split.select("image")
    assert list(only.x) == ["image"] and len(only) == len(split)
    with pytest.raises(ValueError, match=r"Received: \['video'\]"):
        split.select(["video"])
    small = split.take(100)
    assert len(small) == 100 and small.x["audio"].shape[0] == 100


@pytest.mark.slow
def test_av_digits_fusion_beats_each_modality():
    """The defaults keep each modality alone clearly below the fused model."""
    ds = datasets.load("av_digits")
    make = {"image": lambda: encoders.image_cnn(input_shape=(28, 28, 1), filters=(16, 32)),
            "audio": lambda: encoders.sequence_lstm(input_shape=(None, 13), units=32)}
    accuracy = {}
    for modalities in (["image"], ["audio"], ["image", "audio"]):
        keras.utils.set_random_seed(0)
        model = mmkeras.build_model({m: make[m]() for m in modalities}, num_classes=10,
                                    head_units=(64,))
        train, test = ds.train.select(modalities), ds.test.select(modalities)
        # Length-bucketed batches, as mmkeras trains by default: the audio LSTM runs over each
        # batch's own frames, not all 92 (at five epochs 20 s against 28 s with `model.fit`,
        # measured alone). Three epochs: image 0.437, audio 0.273, both 0.553 (five: 0.477,
        # 0.363, 0.623; the three models 10 s against 16 s alone, 2026-12-07).
        training.fit_model(model, train, epochs=3, batch_size=64, verbose=0, seed=0)
        accuracy["+".join(modalities)] = model.evaluate(test.x, test.y, verbose=0)[1]
    assert max(accuracy["image"], accuracy["audio"]) > 0.3  # both modalities are informative
    assert accuracy["image+audio"] > max(accuracy["image"], accuracy["audio"]) + 0.08, accuracy


def test_emoji_with_synthetic_speech_as_third_modality():
    ds = datasets.load("emoji", speech=True, max_frames=120)
    assert ds.modalities == ["image", "text", "audio"]
    audio = ds.train.x["audio"]
    assert audio.shape[1:] == (120, 13)
    lengths = np.any(audio != 0, -1).sum(1)
    assert lengths.min() >= 20  # every name was spoken
    plain = datasets.load("emoji")
    np.testing.assert_array_equal(plain.train.y, ds.train.y)
    # both pictures of an emoji share its one spoken name
    np.testing.assert_array_equal(audio[0], audio[1])


@pytest.mark.parametrize("n", [-5, 0, 2.5, "3"])
def test_take_refuses_what_is_not_a_positive_count(n):
    split = datasets.load("av_digits").test
    with pytest.raises(ValueError, match=f"`n` must be a positive integer. Received: n={n!r}"):
        split.take(n)
    assert len(split.take(10**6)) == len(split)  # at most all of them
