"""Length-bucketed batches: lengths, batches, invariance of predictions, determinism."""

import keras
import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, encoders, training
from mmkeras.datasets import bucketing
from mmkeras.datasets.multimodal_dataset import Split


def _sequences(n=150, steps=30, features=4, seed=0):
    """Frames padded with zeros at the end, lengths 1..steps; labels are the sample index."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, steps + 1, size=n)
    lengths[:3] = (steps, 1, 7)
    frames = rng.normal(size=(n, steps, features)).astype("float32")
    frames[np.arange(steps)[None, :] >= lengths[:, None]] = 0.0
    image = rng.normal(size=(n, 8, 8, 1)).astype("float32")
    return {"audio": frames, "image": image}, np.arange(n), lengths


def test_sequence_lengths_of_frames_and_tokens():
    x, _, lengths = _sequences()
    np.testing.assert_array_equal(bucketing.sequence_lengths(x["audio"]), lengths)
    tokens = np.array([[5, 3, 0, 0], [0, 0, 0, 0], [2, 0, 9, 0], [1, 1, 1, 1]])
    # An all-zero sample (a missing modality) keeps one step; inner zeros are not the end.
    assert bucketing.sequence_lengths(tokens).tolist() == [2, 1, 3, 4]
    assert bucketing.variable_modalities(
        {"audio": x["audio"], "image": x["image"], "text": tokens}) == ["audio", "text"]
    with pytest.raises(ValueError, match=r"Received: shape=\(4,\)"):
        bucketing.sequence_lengths(np.zeros(4))


def test_bad_bucketing_names():
    x, y, _ = _sequences(n=10)
    with pytest.raises(ValueError, match=r"Received: bucketing=\['image'\]"):
        datasets.to_tf_dataset(Split(x, y), bucketing=["image"])
    with pytest.raises(ValueError, match="Received: bucketing='nope'"):
        datasets.to_tf_dataset(Split(x, y), bucketing="nope")


def _epoch(pipeline):
    batches = [(f["audio"].numpy(), f["image"].numpy(), y.numpy()) for f, y in pipeline]
    return batches, np.concatenate([b[2] for b in batches])


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_sample_once_each_batch_cut_to_its_longest(shuffle):
    x, y, lengths = _sequences()
    pipeline = datasets.to_tf_dataset(Split(x, y), batch_size=16, shuffle=shuffle, seed=3,
                                      bucketing=True)
    assert pipeline.cardinality().numpy() == 10
    orders = []
    for _ in range(2):
        batches, order = _epoch(pipeline)
        assert len(batches) == 10
        np.testing.assert_array_equal(np.sort(order), y)  # none dropped, none repeated
        for audio, image, index in batches:
            assert audio.shape[1] == lengths[index].max()  # padded to its own longest
            np.testing.assert_array_equal(audio, x["audio"][index, :audio.shape[1]])
            np.testing.assert_array_equal(image, x["image"][index])  # fixed size: unchanged
        orders.append(order)
    total_steps = sum(b[0].shape[0] * b[0].shape[1] for b in batches)
    assert total_steps < 0.75 * len(y) * x["audio"].shape[1]
    if shuffle:  # a new order every epoch
        assert not np.array_equal(orders[0], orders[1])
    else:  # sorted by length, the same every epoch
        np.testing.assert_array_equal(orders[0], orders[1])
        assert np.all(np.diff(lengths[orders[0]]) >= 0)


def test_same_seed_same_batches_other_seed_others():
    x, y, _ = _sequences()

    def orders(seed):
        pipeline = datasets.to_tf_dataset(Split(x, y), batch_size=16, shuffle=True, seed=seed,
                                          bucketing=["audio"])
        return [_epoch(pipeline)[1] for _ in range(2)]

    first = orders(5)
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(orders(5)))
    assert not np.array_equal(np.concatenate(first), np.concatenate(orders(6)))


def test_bucketing_off_is_the_stored_padding():
    x, y, _ = _sequences()
    off = datasets.to_tf_dataset(Split(x, y), batch_size=16)
    batches, order = _epoch(off)
    np.testing.assert_array_equal(order, y)
    assert {b[0].shape[1] for b in batches} == {30}


def test_batches_of_embedded_text_and_audio():
    emoji = datasets.load("emoji").test.take(200)
    pipeline = datasets.to_tf_dataset(emoji, batch_size=32, shuffle=True, bucketing=True)
    widths = [f["text"].shape[1] for f, _ in pipeline]
    lengths = bucketing.sequence_lengths(emoji.x["text"])
    assert max(widths) == lengths.max() and np.mean(widths) < emoji.x["text"].shape[1] / 2


def _model(fusion):
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,), embedding_dim=8),
         "audio": encoders.sequence_lstm(input_shape=(None, 4), units=8)},
        fusion=fusion, num_classes=3, head_units=(8,))


@pytest.mark.parametrize("fusion", ["concat", "early", "cross_attention"])
def test_predictions_do_not_depend_on_the_bucket(fusion):
    x, y, _ = _sequences(n=96)
    keras.utils.set_random_seed(0)
    model = _model(fusion)
    padded = model.predict(x, batch_size=96, verbose=0)  # all at the stored length
    for shuffle, batch_size in [(False, 16), (True, 8), (True, 32)]:
        pipeline = datasets.to_tf_dataset(Split(x, y), batch_size=batch_size, shuffle=shuffle,
                                          seed=batch_size, bucketing=True)
        for features, index in pipeline:
            np.testing.assert_allclose(model.predict_on_batch(features), padded[index.numpy()],
                                       rtol=1e-4, atol=1e-5)


def test_text_model_of_any_length_is_bucketed_a_fixed_one_is_not():
    tokens = np.array([[3, 4, 0, 0, 0, 0]] * 4)
    for length, expected in [(None, ["text"]), (6, [])]:
        model = mmkeras.build_model(
            {"text": encoders.text_bigru(sequence_length=length, vocab_size=10, units=4)},
            num_classes=2)
        assert training.bucketed_modalities(model, {"text": tokens}) == expected


def _fit(x, y, global_seed, **options):
    training.seed_everything(global_seed)
    model = _model("concat")
    history, _, _ = training.fit_model(model, (x, y), (x, y), epochs=2, batch_size=16,
                                       patience=None, checkpoint=False, **options)
    return history


@pytest.mark.slow
def test_fit_model_same_seed_same_losses_and_off_is_keras_fit():
    x, _, _ = _sequences(n=64)
    y = np.arange(64) % 3
    first = _fit(x, y, 4)
    np.testing.assert_allclose(first["loss"], _fit(x, y, 4)["loss"], rtol=1e-6)
    # Padded to fixed boundaries: the same batches, more masked steps, the same updates.
    np.testing.assert_allclose(first["loss"], _fit(x, y, 4, bucketing="boundaries")["loss"],
                               rtol=1e-4)
    assert not np.allclose(first["loss"], _fit(x, y, 4, seed=1)["loss"])
    # Off: exactly what model.fit on the arrays does.
    off = _fit(x, y, 4, bucketing=False)
    training.seed_everything(4)
    model = _model("concat")
    keras_fit = model.fit(x, y, validation_data=(x, y), epochs=2, batch_size=16, verbose=0)
    np.testing.assert_allclose(off["loss"], keras_fit.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(off["val_loss"], keras_fit.history["val_loss"], rtol=1e-6)


@pytest.mark.slow
def test_steps_per_execution_makes_the_same_updates():
    x, _, _ = _sequences(n=64)
    y = np.arange(64) % 3
    losses = []
    for steps in (1, 4):
        training.seed_everything(2)
        model = mmkeras.build_model(
            {"image": encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,), embedding_dim=8),
             "audio": encoders.sequence_lstm(input_shape=(None, 4), units=8)},
            num_classes=3, head_units=(8,), steps_per_execution=steps)
        assert model.steps_per_execution == steps
        history, _, _ = training.fit_model(model, (x, y), epochs=2, batch_size=16, seed=0,
                                           patience=None, checkpoint=False)
        losses.append(history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_boundary_ladder_and_bad_boundaries():
    assert bucketing.boundary_ladder(92) == [1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64, 92]
    assert bucketing.boundary_ladder(16, ratio=2) == [1, 2, 4, 8, 16]
    assert bucketing.boundary_ladder(1) == [1]
    for stored in range(1, 200):  # sorted, unique, ends at the stored length
        ladder = bucketing.boundary_ladder(stored)
        assert ladder == sorted(set(ladder)) and ladder[-1] == stored
    with pytest.raises(ValueError, match="Received: ratio=1"):
        bucketing.boundary_ladder(10, ratio=1)
    assert bucketing.check_boundaries([8, 4, 4, 50], 30) == [4, 8, 30]
    assert bucketing.check_boundaries(np.array([2, 4], "int64"), 4) == [2, 4]
    for bad in ([], [0, 3], [2.5], [[2, 3]]):
        with pytest.raises(ValueError, match="Received: bucket_padding="):
            bucketing.check_boundaries(bad, 30)


def test_padding_per_backend_and_model():
    assert bucketing.best_padding(backend="jax") == "boundaries"
    assert bucketing.best_padding(backend="tensorflow") == "longest"
    assert bucketing.best_padding(backend="torch") == "longest"

    class Compiled:
        jit_compile = True

    assert bucketing.best_padding(Compiled()) == "boundaries"
    Compiled.jit_compile = False
    assert bucketing.best_padding(Compiled(), backend="jax") == "longest"
    assert bucketing.check_padding(None, "boundaries") == "boundaries"
    assert bucketing.check_padding("longest", True) == "longest"
    assert bucketing.check_padding([4, 8], True) == [4, 8]
    assert bucketing.check_padding(None, True) == bucketing.best_padding()
    with pytest.raises(ValueError, match="Received: bucket_padding='widest'"):
        bucketing.check_padding("widest")


@pytest.mark.parametrize("padding", ["boundaries", [5, 20]])
def test_batches_padded_to_fixed_boundaries(padding):
    x, y, lengths = _sequences()
    ladder = (bucketing.boundary_ladder(30) if padding == "boundaries"
              else bucketing.check_boundaries(padding, 30))
    pipeline = datasets.to_tf_dataset(Split(x, y), batch_size=16, shuffle=True, seed=3,
                                      bucketing=True, bucket_padding=padding)
    batches, order = _epoch(pipeline)
    np.testing.assert_array_equal(np.sort(order), y)
    for audio, _, index in batches:
        longest = lengths[index].max()
        # the smallest boundary that holds the batch's longest sample
        assert audio.shape[1] == min(b for b in ladder if b >= longest)
        np.testing.assert_array_equal(audio, x["audio"][index, :audio.shape[1]])
    assert {b[0].shape[1] for b in batches} <= set(ladder)
    # bucketing="boundaries" is the same mode
    same = datasets.to_tf_dataset(Split(x, y), batch_size=16, shuffle=True, seed=3,
                                  bucketing="boundaries")
    if padding == "boundaries":
        assert [b[0].shape for b in _epoch(same)[0]] == [b[0].shape for b in batches]


def test_fit_and_predict_refuse_unknown_padding_modes():
    x, y, _ = _sequences(n=8)
    model = _model("concat")
    with pytest.raises(ValueError, match="Received: bucketing='widest'"):
        training.fit_model(model, (x, y), epochs=1, bucketing="widest")
    with pytest.raises(ValueError, match="Received: bucketing='widest'"):
        mmkeras.evaluation.predict(model, x, bucketing="widest")
    for mode in ("longest", "boundaries"):
        np.testing.assert_allclose(mmkeras.evaluation.predict(model, x, bucketing=mode),
                                   model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
