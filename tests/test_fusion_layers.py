"""Every fusion layer against a NumPy reference; configs, saving, masks, mixed precision.

Backend-agnostic on purpose: tests/test_backends.py runs this file again
under KERAS_BACKEND=jax.
"""

import json
import os

import keras
import numpy as np
import pytest
from keras import ops

from mmkeras import fusion
from mmkeras.fusion import (
    ConcatFusion,
    CrossModalAttentionFusion,
    EarlyFusion,
    FiLMFusion,
    GatedFusion,
    LateFusion,
    LowRankFusion,
    ModalityAttentionFusion,
    ModalityDropout,
    SelfAttentionFusion,
    SumFusion,
    TensorFusion,
    WeightedSumFusion,
)

RNG = np.random.default_rng(0)
WIDTHS = [3, 5, 4]


def np_(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def embeddings(count, batch=4):
    return [RNG.normal(size=(batch, w)).astype("float32") for w in WIDTHS[:count]]


def dense(layer, x):
    kernel, bias = (np_(w) for w in layer.weights)
    return x @ kernel + bias


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def layer_norm(layer, x, eps=1e-6):
    gamma, beta = (np_(w) for w in layer.weights)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def mha(layer, query, value, mask=None):
    """keras.layers.MultiHeadAttention in NumPy; returns (output, scores)."""
    wq, bq, wk, bk, wv, bv, wo, bo = (np_(w) for w in layer.weights)
    q = np.einsum("btd,dhk->bthk", query, wq) + bq
    k = np.einsum("bsd,dhk->bshk", value, wk) + bk
    v = np.einsum("bsd,dhk->bshk", value, wv) + bv
    scores = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(wq.shape[-1])
    if mask is not None:
        scores = np.where(mask[:, None], scores, -1e9)
    scores = softmax(scores)
    out = np.einsum("bhts,bshk->bthk", scores, v)
    return np.einsum("bthk,hkd->btd", out, wo) + bo, scores


def assert_close(actual, expected, tol=1e-4):
    np.testing.assert_allclose(np_(actual), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("count", [2, 3])
def test_concat_sum_weighted(count):
    h = embeddings(count)
    assert_close(ConcatFusion()(h), np.concatenate(h, -1))
    layer = SumFusion(units=6)
    out = layer(h)
    assert_close(out, sum(dense(p, x) for p, x in zip(layer.projections, h)))
    layer = WeightedSumFusion(units=6, alpha=[1.0, 3.0, 4.0][:count])
    out = layer(h)
    alpha = np.array([1.0, 3.0, 4.0][:count]) / sum([1.0, 3.0, 4.0][:count])
    np.testing.assert_allclose(layer.modality_weights(), alpha, rtol=1e-5)
    assert_close(out, sum(a * dense(p, x) for a, p, x in zip(alpha, layer.projections, h)))


@pytest.mark.parametrize("count", [2, 3])
def test_modality_attention(count):
    h = embeddings(count)
    layer = ModalityAttentionFusion(units=6)
    out = layer(h)
    alpha = softmax(dense(layer.scorer, np.concatenate(h, -1)))
    assert_close(layer.attention_weights(h), alpha)
    projected = np.stack([dense(p, x) for p, x in zip(layer.projections, h)], 1)
    assert_close(out, (projected * alpha[..., None]).sum(1))


@pytest.mark.parametrize("count", [2, 3])
def test_self_attention(count):
    h = embeddings(count)
    layer = SelfAttentionFusion(units=8, num_heads=2)
    out = layer(h)
    tokens = np.stack([dense(p, x) for p, x in zip(layer.projections, h)], 1)
    tokens = tokens + np_(layer.modality_embeddings)[None]
    attended, scores = mha(layer.attention, tokens, tokens)
    assert_close(out, layer_norm(layer.norm, tokens + attended).mean(1))
    assert_close(layer.attention_scores(h), scores)


def sequences(count, batch=3):
    lengths = [6, 5, 4][:count]
    seqs = [RNG.normal(size=(batch, t, w)).astype("float32") for t, w in zip(lengths, WIDTHS)]
    masks = [np.ones((batch, t), bool) for t in lengths]
    masks[-1][:, -2:] = False  # padded steps at the end of the last modality
    for s, m in zip(seqs, masks):
        s[~m] = 0
    return seqs, masks


@pytest.mark.parametrize("count", [2, 3])
def test_cross_modal_attention(count):
    seqs, masks = sequences(count)
    layer = CrossModalAttentionFusion(units=8, num_heads=2)
    out = layer(seqs, mask=masks)
    projected = [dense(p, s) for p, s in zip(layer.projections, seqs)]
    pooled, maps = [], []
    for i in range(count):
        others = [j for j in range(count) if j != i]
        keys = np.concatenate([projected[j] for j in others], 1)
        key_mask = np.concatenate([masks[j] for j in others], 1)
        joint = masks[i][:, :, None] & key_mask[:, None, :]
        attended, scores = mha(layer.attentions[i], projected[i], keys, joint)
        y = layer_norm(layer.norms[i], projected[i] + attended)
        m = masks[i][..., None]
        pooled.append((y * m).sum(1) / m.sum(1))
        maps.append(scores)
        # padded keys get zero attention
        assert np.all(scores[..., ~key_mask[0]][:, :, masks[i][0]] < 1e-6)
    assert_close(out, np.concatenate(pooled, -1))
    for got, want, i in zip(layer.attention_maps(seqs, mask=masks), maps, range(count)):
        real = masks[i][0]
        assert_close(np_(got)[:, :, real], want[:, :, real])


def test_cross_attention_padding_does_not_change_output():
    seqs, masks = sequences(2)
    layer = CrossModalAttentionFusion(units=8)
    out = np_(layer(seqs, mask=masks))
    longer = [seqs[0], np.concatenate([seqs[1], RNG.normal(size=(3, 3, WIDTHS[1]))], 1)]
    longer_masks = [masks[0], np.concatenate([masks[1], np.zeros((3, 3), bool)], 1)]
    assert_close(layer(longer, mask=longer_masks), out)
    with pytest.raises(ValueError, match="at least 2 modalities. Received: 1"):
        CrossModalAttentionFusion()([seqs[0]])


@pytest.mark.parametrize("count", [2, 3])
def test_tensor_fusion(count):
    h = embeddings(count)
    layer = TensorFusion(units=3)
    out = layer(h)
    product = None
    for p, x in zip(layer.projections, h):
        z = np.concatenate([dense(p, x), np.ones((len(x), 1))], -1)
        product = z if product is None else np.einsum("bi,bj->bij", product, z).reshape(len(x), -1)
    assert_close(out, product)
    assert np_(out).shape[1] == 4**count
    raw = TensorFusion(units=None)(h)
    assert np_(raw).shape[1] == np.prod([w + 1 for w in WIDTHS[:count]])


def test_tensor_fusion_warns_and_refuses_explosions():
    h = [np.ones((1, 64), "float32")] * 3
    with pytest.raises(ValueError, match="274,625 features, over max_size=100,000"):
        TensorFusion(units=None, max_size=100_000)(h)
    with pytest.warns(UserWarning, match="274,625 features"):
        TensorFusion(units=None, warn_size=1000)(h)


@pytest.mark.parametrize("count", [2, 3])
def test_low_rank_fusion(count):
    h = embeddings(count)
    layer = LowRankFusion(units=5, rank=3)
    out = layer(h)
    fused = 1.0
    for x, factor in zip(h, layer.factors):
        z = np.concatenate([x, np.ones((len(x), 1))], -1)
        fused = fused * np.einsum("bd,rdu->bru", z, np_(factor))
    assert_close(out, fused.sum(1) + np_(layer.bias))


def test_low_rank_equals_a_linear_map_of_the_tensor_product():
    h = embeddings(2)
    layer = LowRankFusion(units=2, rank=2)
    out = np_(layer(h))
    a, b = (np_(f) for f in layer.factors)
    full = np.einsum("riu,rju->iju", a, b)  # the rank-2 weight tensor
    z1 = np.concatenate([h[0], np.ones((4, 1))], -1)
    z2 = np.concatenate([h[1], np.ones((4, 1))], -1)
    assert_close(out, np.einsum("bi,bj,iju->bu", z1, z2, full) + np_(layer.bias))


@pytest.mark.parametrize("count", [2, 3])
def test_gated_fusion(count):
    h = embeddings(count)
    layer = GatedFusion(units=6)
    out = layer(h)
    candidates = np.stack([np.tanh(dense(c, x)) for c, x in zip(layer.candidates, h)], 1)
    gates = softmax(dense(layer.gate, np.concatenate(h, -1)).reshape(4, count, 6), axis=1)
    assert_close(layer.gates(h), gates)
    assert_close(out, (gates * candidates).sum(1))


@pytest.mark.parametrize("count", [2, 3])
def test_film(count):
    h = embeddings(count)
    layer = FiLMFusion(units=6, conditioning=0)
    layer(h)  # build, then give gamma/beta non-zero weights
    for sub in (layer.to_gamma, layer.to_beta):
        sub.set_weights([RNG.normal(size=w.shape) for w in sub.get_weights()])
    out = layer(h)
    gamma = dense(layer.to_gamma, h[0]) + 1
    beta = dense(layer.to_beta, h[0])
    expected = [gamma * dense(p, x) + beta for p, x in zip(layer.projections, h[1:])]
    assert_close(out, np.concatenate(expected, -1))
    with pytest.raises(ValueError, match="Received: conditioning=5"):
        FiLMFusion(conditioning=5)(h)


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("combine", ["mean", "weighted", "stacker"])
def test_late_fusion(count, combine):
    logits = [RNG.normal(size=(4, 5)).astype("float32") for _ in range(count)]
    layer = LateFusion(combine)
    out = np_(layer(logits))
    probs = [softmax(l.astype("float64")) for l in logits]
    if combine == "mean":
        expected = np.mean(probs, 0)
    elif combine == "weighted":
        expected = np.tensordot(np_(layer.modality_weights()), np.stack(probs), 1)
    else:
        expected = softmax(dense(layer.stacker, np.concatenate(logits, -1)))
    assert_close(out, expected)
    np.testing.assert_allclose(out.sum(-1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="logits of one width"):
        LateFusion(combine)([logits[0], logits[1][:, :2]])
    binary = np_(LateFusion("mean", binary=True)([l[:, :1] for l in logits]))
    assert_close(binary, np.mean([1 / (1 + np.exp(-l[:, :1])) for l in logits], 0))


def test_early_fusion_masks_and_shapes():
    seqs, masks = sequences(3)
    layer = EarlyFusion(units=8, num_heads=2, ff_dim=16, dropout=0.0)
    out = np_(layer(seqs, mask=masks))
    assert out.shape == (3, 8)
    changed = [s.copy() for s in seqs]
    changed[-1][~masks[-1]] = 9.0  # padded steps hold garbage now
    assert_close(layer(changed, mask=masks), out)


def test_modality_dropout():
    h = [np.ones((2000, 3), "float32"), 2 * np.ones((2000, 3), "float32")]
    layer = ModalityDropout(0.3, modalities=["audio", "image"], seed=1)
    assert_close(layer(h)[0], h[0])  # inference: identity
    dropped = [np_(o) for o in layer(h, training=True)]
    rate = [(d[:, 0] == 0).mean() for d in dropped]
    assert all(0.2 < r < 0.4 for r in rate), rate
    assert not np.any((dropped[0][:, 0] == 0) & (dropped[1][:, 0] == 0))
    layer.set_missing(["image"])
    out = [np_(o) for o in layer(h)]
    assert_close(out[0], h[0])
    assert np.all(out[1] == 0)
    layer.set_missing()
    assert_close(layer(h)[1], h[1])
    learned = ModalityDropout(0.5, missing="learned", modalities=["a", "b"])
    learned(h)
    learned.missing_vectors[1].assign([7.0, 8.0, 9.0])
    learned.set_missing([1])
    assert_close(learned(h)[1], np.tile([7.0, 8.0, 9.0], (2000, 1)))
    with pytest.raises(ValueError, match="Received: 'video'"):
        learned.set_missing(["video"])
    with pytest.raises(ValueError, match="Received: rate=1"):
        ModalityDropout(1)


LAYERS = [
    SumFusion(units=4, activation="relu"), WeightedSumFusion(units=4, alpha=[1, 2], learn_alpha=False),
    ModalityAttentionFusion(units=4), SelfAttentionFusion(units=4, num_heads=1, dropout=0.1),
    TensorFusion(units=2, warn_size=10, max_size=100), LowRankFusion(units=4, rank=2),
    GatedFusion(units=4), FiLMFusion(units=4, conditioning=0), LateFusion("stacker", binary=True),
    EarlyFusion(units=4, num_heads=1, ff_dim=8, num_layers=2),
    CrossModalAttentionFusion(units=4, num_heads=1), ConcatFusion(),
    ModalityDropout(0.2, missing="learned", modalities=["a", "b"], seed=3),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: type(l).__name__)
def test_json_config_round_trip(layer):
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


def _widths(layer):
    return (3, 3) if isinstance(layer, LateFusion) else (3, 5)


def _functional(layer, rank):
    widths = _widths(layer)
    if rank == 3:
        inputs = [keras.Input((None, w)) for w in widths]
    else:
        inputs = [keras.Input((w,)) for w in widths]
    out = layer(inputs)
    if isinstance(out, (list, tuple)):
        out = keras.layers.Concatenate()(list(out))
    return keras.Model(inputs, out)


@pytest.mark.parametrize("name", sorted(fusion.FUSIONS))
def test_keras_round_trip_safe_mode(name, tmp_path):
    layer = fusion.get(name)
    rank = 3 if layer.fusion_level in ("early", "sequence") else 2
    model = _functional(layer, rank)
    x = ([RNG.normal(size=(2, 4, w)).astype("float32") for w in _widths(layer)] if rank == 3
         else [RNG.normal(size=(2, w)).astype("float32") for w in _widths(layer)])
    expected = np_(model(x))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert_close(loaded(x), expected, tol=1e-6)


@pytest.mark.parametrize("name", sorted(fusion.FUSIONS))
def test_a_frozen_fusion_is_still_frozen_when_loaded(name, tmp_path):
    """Keras 3.15 reloads a frozen layer's sublayers trainable (`CompositeLayer`)."""
    layer = fusion.get(name)
    model = _functional(layer, 3 if layer.fusion_level in ("early", "sequence") else 2)
    layer.trainable = False
    model.save(tmp_path / "frozen.keras")
    loaded = keras.models.load_model(tmp_path / "frozen.keras")
    assert len(model.trainable_weights) == 0 and loaded.trainable_weights == []
    assert len(loaded.weights) == len(model.weights)


@pytest.mark.parametrize("name", sorted(fusion.FUSIONS))
def test_mixed_precision_forward(name):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = fusion.get(name)
        rank = 3 if layer.fusion_level in ("early", "sequence") else 2
        x = ([RNG.normal(size=(2, 4, w)).astype("float16") for w in _widths(layer)] if rank == 3
             else [RNG.normal(size=(2, w)).astype("float16") for w in _widths(layer)])
        out = np_(layer(x))
        assert np.all(np.isfinite(out))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_registry_lists_every_issue_name():
    expected = {"sum", "weighted", "attention", "self_attention", "cross_attention", "tensor",
                "low_rank", "gated", "film", "late", "concat", "early"}
    assert expected <= set(fusion.FUSIONS)


def test_runs_on_the_requested_backend():
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def test_concat_with_units_projects_first():
    h = embeddings(2)
    layer = ConcatFusion(units=4)
    assert_close(layer(h), np.concatenate([dense(p, x) for p, x in zip(layer.projections, h)], -1))
    assert layer.compute_output_shape([(None, 3), (None, 5)]) == (None, 8)


# One bad constructor argument for every registered fusion: each must fail at
# construction with an error that echoes the value. A fusion registered
# without an entry here fails test_every_fusion_rejects_a_bad_argument.
BAD_ARGUMENTS = {
    "early": {"units": 10, "num_heads": 3},
    "concat": {"units": 0},
    "sum": {"units": -4},
    "weighted": {"alpha": [1.0, -1.0]},
    "attention": {"units": "64"},
    "self_attention": {"num_heads": 0},
    "cross_attention": {"dropout": 1.5},
    "tensor": {"max_size": 0},
    "low_rank": {"rank": 0},
    "gated": {"units": 2.5},
    "film": {"conditioning": 1.5},
    "late": {"combine": "max"},
    "late_weighted": {"binary": "yes"},
    "late_stacker": {"units": 8},
}


@pytest.mark.parametrize("name", sorted(fusion.FUSIONS))
def test_every_fusion_rejects_a_bad_argument(name):
    cls, defaults = fusion.FUSIONS[name]
    assert issubclass(cls, fusion.Fusion)
    bad = BAD_ARGUMENTS[name]
    key = next(iter(bad))
    with pytest.raises(ValueError, match=f"Received: {key}="):
        cls(**{**defaults, **bad})


@pytest.mark.parametrize("cls", [EarlyFusion, SelfAttentionFusion, CrossModalAttentionFusion])
def test_heads_must_divide_units_no_silent_clamp(cls):
    with pytest.raises(ValueError, match="divisible by `num_heads`.*Received: units=4"):
        cls(units=4, num_heads=8)
    assert cls(units=8, num_heads=4).key_dim == 2


def test_early_fusion_loads_configs_saved_with_width():
    config = EarlyFusion(units=8).get_config()
    config["width"] = config.pop("units")
    assert EarlyFusion.from_config(config).units == 8


def test_late_fusion_binary_must_match_the_logits():
    logits = [np.zeros((2, 3), "float32")] * 2
    with pytest.raises(ValueError, match="binary=True.*Received: input_shape"):
        LateFusion(binary=True)(logits)
    single = [np.zeros((2, 1), "float32")] * 2
    assert_close(LateFusion()(single), np.full((2, 1), 0.5))  # one logit: sigmoid


def test_readouts_equal_the_layers_own_quantities():
    h = embeddings(2)
    weighted = WeightedSumFusion(units=4, alpha=[1.0, 3.0])
    weighted(h)
    np.testing.assert_allclose(weighted.readout()["modality_weights"], [0.25, 0.75], rtol=1e-5)
    attention = ModalityAttentionFusion(units=4)
    attention(h)
    assert attention.readout() == {}  # per-sample: needs inputs
    assert_close(attention.readout(h)["attention_weights"], np_(attention.attention_weights(h)))
    gated = GatedFusion(units=4)
    gated(h)
    assert_close(gated.readout(h)["gates"], np_(gated.gates(h)))
    film = FiLMFusion(units=4, conditioning=1)
    film(h)
    assert_close(film.readout(h)["gamma"], dense(film.to_gamma, h[1]) + 1)
    assert_close(film.readout(h)["beta"], dense(film.to_beta, h[1]))
    seqs, masks = sequences(2)
    cross = CrossModalAttentionFusion(units=4)
    cross(seqs, mask=masks)
    maps = cross.readout(seqs, mask=masks)["attention_maps"]
    assert [m.shape for m in maps] == [(3, 2, 6, 5), (3, 2, 5, 6)]
    for layer in (SumFusion(4), ConcatFusion(), TensorFusion(2), LowRankFusion(4)):
        layer(h)
        assert layer.readout(h) == {}


def test_film_conditioning_by_name_gives_a_copy():
    layer = FiLMFusion(units=4, conditioning="audio", name="film")
    copy = layer.for_modalities(["audio", "image"])
    assert copy is not layer and copy.conditioning == 0 and layer.conditioning == "audio"
    assert FiLMFusion(units=4).for_modalities(["a", "b"]).conditioning == -1
    with pytest.raises(ValueError, match="Received: conditioning='audio'"):
        layer.for_modalities(["image", "text"])
