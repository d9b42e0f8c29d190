import keras
import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, deploy, encoders


@pytest.fixture(scope="module")
def digits():
    ds = datasets.load("av_digits")
    train = ds.train.take(256)
    return _Images({"image": train.x["image"]}, train.y), ds.num_classes


class _Images:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def take(self, n):
        return _Images({k: v[:n] for k, v in self.x.items()}, self.y[:n])


def _model(num_classes):
    mmkeras.training.seed_everything(0)
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8,), embedding_dim=16)},
        num_classes=num_classes, head_units=(32,))


def test_schedules():
    poly = deploy.PolynomialSparsity(0.8, end_step=10, begin_step=2)
    assert poly(0) == 0.0 and poly(2) == 0.0
    assert poly(10) == pytest.approx(0.8) and poly(50) == pytest.approx(0.8)
    assert 0 < poly(4) < poly(6) < poly(8) < 0.8
    assert poly(6) == pytest.approx(0.8 - 0.8 * 0.5 ** 3)
    assert deploy.ConstantSparsity(0.5, begin_step=3)(2) == 0.0
    assert deploy.ConstantSparsity(0.5, begin_step=3)(3) == 0.5


def test_magnitude_mask_keeps_the_largest_weights():
    w = np.array([[0.1, -3.0, 0.5], [2.0, -0.2, 0.0]], "float32")
    mask = keras.ops.convert_to_numpy(deploy.pruning.magnitude_mask(w, 0.5))
    np.testing.assert_array_equal(mask, [[0, 1, 1], [1, 0, 0]])


@pytest.mark.parametrize("target", [0.5, 0.9])
def test_pruning_reaches_and_keeps_the_sparsity(digits, target):
    train, num_classes = digits
    model = _model(num_classes)
    pruning = deploy.MagnitudePruning(
        deploy.PolynomialSparsity(target, end_step=8), frequency=2)
    model.fit(train.x, train.y, epochs=2, batch_size=32, callbacks=[pruning], verbose=0)
    reached = deploy.sparsity(model)
    assert len(reached) == 4  # conv kernel, encoder dense, head dense, logits
    for path, share in reached.items():
        assert share == pytest.approx(target, abs=0.02), path
    zeros = [keras.ops.convert_to_numpy(w) == 0 for w in pruning.pruned]
    # Fine-tuning on with the mask: the same weights stay zero, the others move.
    before = [keras.ops.convert_to_numpy(w).copy() for w in pruning.pruned]
    model.fit(train.x, train.y, epochs=1, batch_size=32, callbacks=[pruning], verbose=0)
    for was_zero, old, w in zip(zeros, before, pruning.pruned):
        now = keras.ops.convert_to_numpy(w)
        assert np.all(now[was_zero] == 0)
        assert not np.allclose(now[~was_zero], old[~was_zero])


def test_stripped_model_round_trips_in_safe_mode(digits, assert_round_trip):
    train, num_classes = digits
    model = _model(num_classes)
    model.fit(train.x, train.y, epochs=1, batch_size=64, verbose=0,
              callbacks=[deploy.MagnitudePruning(0.75)])
    stripped = deploy.strip_pruning(model)
    assert not stripped.compiled and getattr(stripped, "optimizer", None) is None
    loaded = assert_round_trip(stripped, train.take(8).x)
    assert all(s == pytest.approx(0.75, abs=0.01) for s in deploy.sparsity(loaded).values())
    np.testing.assert_allclose(stripped.predict(train.take(8).x, verbose=0),
                               model.predict(train.take(8).x, verbose=0), atol=1e-6)
    assert deploy.gzipped_size(stripped) < deploy.gzipped_size(_model(num_classes))


def test_gzipped_size_counts_the_weights_not_the_optimizer_state(digits):
    train, num_classes = digits
    model = _model(num_classes)
    model.fit(train.x, train.y, epochs=1, batch_size=64, verbose=0)  # Adam's moments exist
    copy = keras.models.clone_model(model)  # uncompiled: no optimizer state
    copy.set_weights(model.get_weights())
    assert deploy.gzipped_size(model) == deploy.gzipped_size(copy)
    raw = sum(w.nbytes for w in model.get_weights())
    assert deploy.gzipped_size(model) < raw * 1.01  # float32 noise barely compresses


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, "half", True])
def test_sparsity_outside_the_interval_is_named(bad):
    with pytest.raises(ValueError, match=r"target_sparsity.*\[0, 1\).*Received: target_sparsity="):
        deploy.ConstantSparsity(bad)
    with pytest.raises(ValueError, match=r"Received: target_sparsity="):
        deploy.PolynomialSparsity(bad, end_step=10)
    with pytest.raises(ValueError, match=r"Received: target_sparsity="):
        deploy.MagnitudePruning(bad)


def test_bad_schedule_steps_and_frequency():
    with pytest.raises(ValueError, match="end_step"):
        deploy.PolynomialSparsity(0.5, end_step=3, begin_step=3)
    with pytest.raises(ValueError, match="frequency"):
        deploy.MagnitudePruning(0.5, frequency=0)


def test_frozen_kernels_are_named_not_silently_left_dense(digits):
    train, num_classes = digits
    model = _model(num_classes)
    model.layers[1].trainable = False  # the image encoder: its conv and dense kernels
    model.compile("adam", "sparse_categorical_crossentropy")
    pruning = deploy.MagnitudePruning(0.5)
    with pytest.warns(UserWarning,
                      match=r"2 prunable weights .* are frozen .*layer.trainable = True"):
        model.fit(train.x, train.y, epochs=1, batch_size=128, callbacks=[pruning], verbose=0)
    assert len(pruning.pruned) == 2  # the head's kernels only
    model.trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError,
                       match=r"no trainable prunable weights .* 4 are frozen .*trainable = True"):
        model.fit(train.x, train.y, epochs=1, batch_size=128,
                  callbacks=[deploy.MagnitudePruning(0.5)], verbose=0)
