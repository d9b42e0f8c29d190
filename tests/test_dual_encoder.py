"""Dual encoder: contrastive loss against NumPy, temperature, round trip, learning on emoji."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import mmkeras
from mmkeras.datasets import load_pairs, unique_groups
from mmkeras.evaluation import retrieval_metrics
from mmkeras.tasks import (
    ContrastiveLoss,
    Retriever,
    SimilarityLogits,
    build_dual_encoder,
    contrastive_loss,
    embedding_model,
    temperature,
)
from mmkeras.training import fit_dual_encoder, seed_everything


def reference_loss(groups, logits):
    """Symmetric InfoNCE in plain NumPy, one pair at a time."""
    groups, logits = np.asarray(groups), np.asarray(logits, dtype="float64")
    n = len(groups)
    out = np.zeros(n)
    for i in range(n):
        targets = (groups == groups[i]).astype(float)
        targets /= targets.sum()
        row = logits[i] - np.log(np.sum(np.exp(logits[i])))
        column = logits[:, i] - np.log(np.sum(np.exp(logits[:, i])))
        out[i] = -(targets @ row + targets @ column) / 2
    return out


@pytest.mark.parametrize("groups", [[0, 1, 2, 3, 4], [0, 1, 1, 2, 0]])
def test_contrastive_loss_matches_numpy(groups):
    logits = np.random.default_rng(0).normal(size=(5, 5)) * 3
    got = keras.ops.convert_to_numpy(contrastive_loss(np.array(groups), logits))
    np.testing.assert_allclose(got, reference_loss(groups, logits), rtol=1e-5, atol=1e-6)


def test_distinct_groups_give_clip_loss():
    logits = np.random.default_rng(1).normal(size=(4, 4))
    ce = lambda z: -np.mean(np.diag(z - np.log(np.exp(z).sum(1, keepdims=True))))
    expected = (ce(logits) + ce(logits.T)) / 2
    assert float(ContrastiveLoss()(np.arange(4), logits)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_contrastive_loss_on_jax(tmp_path):
    pytest.importorskip("jax")
    script = textwrap.dedent("""
        import numpy as np, keras
        from mmkeras.tasks import contrastive_loss
        logits = np.arange(9, dtype="float32").reshape(3, 3) / 4
        print(keras.backend.backend(), np.asarray(contrastive_loss(np.array([0, 1, 0]), logits)).tolist())
    """)
    env = dict(os.environ, KERAS_BACKEND="jax", KERAS_HOME=str(tmp_path), JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    backend, values = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert backend == "jax"
    expected = reference_loss([0, 1, 0], np.arange(9).reshape(3, 3) / 4)
    np.testing.assert_allclose(eval(values), expected, rtol=1e-5)


def test_temperature_is_learnable_and_clipped():
    layer = SimilarityLogits(temperature=0.07, max_scale=100.0)
    a = np.eye(3, dtype="float32")
    layer([a, a])
    assert layer.log_scale.trainable
    assert layer.scale == pytest.approx(1 / 0.07, rel=1e-5)
    layer.log_scale.assign(10.0)  # exp(10) > 100
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer([a, a])), 100 * a, rtol=1e-5)
    fixed = SimilarityLogits(trainable_temperature=False)
    fixed([a, a])
    assert not fixed.log_scale.trainable
    assert SimilarityLogits.from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, match", [
    ({"temperature": 0}, "temperature"), ({"max_scale": 0.5}, "max_scale"),
    ({"trainable_temperature": "yes"}, "trainable_temperature")])
def test_similarity_logits_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SimilarityLogits(**kwargs)


def small_encoders():
    return {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,),
                                                embedding_dim=8),
            "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)}


def test_dual_encoder_shapes_and_round_trip(assert_round_trip):
    model = build_dual_encoder(small_encoders(), embedding_dim=6)
    rng = np.random.default_rng(0)
    x = {"audio": rng.normal(size=(10, 5, 3)).astype("float32"),
         "image": rng.random((10, 8, 8, 1)).astype("float32")}
    fit_dual_encoder(model, x, np.arange(10), epochs=1, batch_size=5)
    image = embedding_model(model, "image").predict(x["image"], verbose=0)
    assert image.shape == (10, 6)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1, rtol=1e-5)
    assert model.predict(x, batch_size=10, verbose=0).shape == (10, 10)
    loaded = assert_round_trip(model, x)
    np.testing.assert_array_equal(
        embedding_model(loaded, "audio").predict(x["audio"], verbose=0),
        embedding_model(model, "audio").predict(x["audio"], verbose=0))
    assert temperature(loaded) == pytest.approx(temperature(model))


@pytest.mark.slow
def test_saved_dual_encoder_and_matcher_load_after_import_mmkeras_alone(tmp_path):
    """`import mmkeras` registers the tasks' classes too: a fresh process loads a dual
    encoder and a matcher on its trunk with `keras.models.load_model` and nothing else."""
    from mmkeras.tasks import build_matcher_from_dual_encoder

    model = build_dual_encoder(small_encoders(), embedding_dim=6)
    model.save(tmp_path / "dual_encoder.keras")
    build_matcher_from_dual_encoder(model).save(tmp_path / "matcher.keras")
    script = textwrap.dedent(f"""
        import keras, mmkeras
        for name in ("dual_encoder", "matcher"):
            keras.models.load_model({str(tmp_path)!r} + f"/{{name}}.keras", safe_mode=True)
        print("loaded")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, KERAS_HOME=str(tmp_path)))
    assert result.returncode == 0 and "loaded" in result.stdout, result.stderr[-2000:]


def test_dual_encoder_bad_inputs():
    encoders = small_encoders()
    with pytest.raises(ValueError, match=r"exactly two modalities. Received: encoders for \['image'\]"):
        build_dual_encoder({"image": encoders["image"]})
    model = build_dual_encoder(small_encoders())
    with pytest.raises(ValueError, match="Received: modality='text'"):
        embedding_model(model, "text")
    with pytest.raises(ValueError, match=r"counts must be equal. Received: \{'audio': 4, 'image': 3\}"):
        fit_dual_encoder(model, {"audio": np.zeros((4, 5, 3)), "image": np.zeros((3, 8, 8, 1))},
                         np.arange(4))
    with pytest.raises(ValueError, match="Received: batch_size=1"):
        fit_dual_encoder(model, {"audio": np.zeros((4, 5, 3)), "image": np.zeros((4, 8, 8, 1))},
                         np.arange(4), batch_size=1)


@pytest.mark.slow
def test_dual_encoder_learns_to_match_unseen_emoji():
    """Trained briefly on the emoji names and pictures of one style, it finds the picture of
    unseen test emoji from their names far more often than chance."""
    data = load_pairs("emoji", styles=("google",))
    seed_everything(0)
    model = build_dual_encoder(
        {"image": mmkeras.encoders.image_cnn(input_shape=(32, 32, 3), embedding_dim=64),
         "text": mmkeras.encoders.text_conv1d(sequence_length=16, vocab_size=len(data.vocabulary),
                                             embedding_dim=32, filters=64, kernel_size=3)},
        embedding_dim=32)
    fit_dual_encoder(model, data.train.x, data.train.y, epochs=8, batch_size=128)
    retriever = Retriever(model, {"image": data.test.x["image"]})
    rows, groups = unique_groups(data.test)
    scores = retriever.scores({"text": data.test.x["text"][rows]})
    metrics = retrieval_metrics(scores, groups, data.test.y, ks=(5,))
    assert metrics["random_recall@5"] == pytest.approx(5 / 192)
    assert metrics["recall@5"] > 4 * metrics["random_recall@5"], metrics


def test_dual_encoder_weight_decay():
    model = build_dual_encoder(small_encoders(), optimizer="adamw", weight_decay=0.05)
    assert type(model.optimizer).__name__ == "AdamW"
    assert model.optimizer.weight_decay == pytest.approx(0.05)
    assert build_dual_encoder(small_encoders()).optimizer.weight_decay is None
    with pytest.raises(ValueError, match="Received: weight_decay=-0.1"):
        build_dual_encoder(small_encoders(), weight_decay=-0.1)
    with pytest.raises(ValueError, match="on the optimizer instance itself"):
        build_dual_encoder(small_encoders(), optimizer=keras.optimizers.Adam(), weight_decay=0.1)
