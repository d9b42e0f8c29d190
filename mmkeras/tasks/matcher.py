"""`build_matcher`: does this pair belong together? A binary classifier on fused pairs."""

import keras
import numpy as np

from mmkeras import fusion as fusion_lib
from mmkeras.models.builder import build_backbone, make_optimizer
from mmkeras.models.head import check_head_arguments, classification_head

MATCH_HEAD = "match_head"


def build_matcher(encoders, fusion="cross_attention", head_units=(64,), dropout=0.0,
                  compile=True, optimizer="adam", learning_rate=1e-3, name=None):
    """Builds a matcher: two modalities in, the probability that they match out.

    The source articles' cross-modal attention network decides whether an
    image and a sentence belong together; this is that network as a task:
    `build_backbone(encoders, fusion)` (by default `CrossModalAttentionFusion`:
    image positions attend to text tokens and text tokens to image
    positions), then a one-unit sigmoid head, `p(match | a, b)`. It is
    ALBEF's image–text matching head on this library's encoders and fusions:
    train it on true pairs (label 1) and negatives (label 0), random or hard
    (`mmkeras.training.matching_pairs`), and use it to re-rank a dual
    encoder's top candidates (`mmkeras.tasks.Retriever.search(rerank=...)`).

    Any feature-, sequence- or early-level fusion works by name; with
    `"cross_attention"`, `mmkeras.fusion.fusion_readout(matcher, x)` gives
    the attention maps, one `(batch, heads, T_m, T_other)` per modality
    (sorted modality order): which text tokens each image position looked
    at, and which image positions each token looked at.

    Args:
        encoders: Dict of exactly two `{modality: encoder}` (fresh ones).
        fusion: A fusion name (not decision-level) or layer.
        head_units: Hidden widths of the head.
        dropout: Dropout in the head.
        compile: Compile with binary cross-entropy, accuracy and AUC.
        optimizer: Optimizer name or instance.
        learning_rate: Learning rate when `optimizer` is a name.
        name: Model name; defaults to `"<fusion>_matcher"`.

    Returns:
        A `keras.Model` taking `{modality: tensor}` (row `i` of both inputs
        is one pair) and returning `(batch, 1)` match probabilities.

    Example:

    >>> matcher = build_matcher(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "text": mmkeras.encoders.text_bigru(sequence_length=5, vocab_size=20, units=4)},
    ...     fusion="cross_attention")
    >>> matcher.output.shape
    (None, 1)
    """
    if not isinstance(encoders, dict) or len(encoders) != 2:
        raise ValueError("A matcher compares exactly two modalities. Received: encoders for "
                         f"{sorted(encoders) if isinstance(encoders, dict) else encoders!r}")
    units, dropout = check_head_arguments(head_units, dropout, units_name="head_units")
    optimizer = make_optimizer(optimizer, learning_rate)
    backbone = build_backbone(encoders, fusion)
    head = classification_head(2, binary=True, units=tuple(units), dropout=dropout,
                               name=MATCH_HEAD)
    if name is None:
        name = f"{fusion_lib.name_of(fusion_lib.get(fusion))}_matcher"
    model = keras.Model(backbone.input, head(backbone.output), name=name)
    if compile:
        compile_matcher(model, optimizer)
    return model


def compile_matcher(model, optimizer="adam", learning_rate=1e-3):
    """Compiles a matcher: binary cross-entropy, accuracy and AUC, the optimizer built.

    The metrics are objects and the optimizer is built for the weights that train now, so
    that nothing is made while TensorFlow traces the first train step, which it would then
    trace again (see `mmkeras.utils.training_state`). After freezing or unfreezing towers,
    compile again.
    """
    model.compile(optimizer=make_optimizer(optimizer, learning_rate), loss="binary_crossentropy",
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy"),
                           keras.metrics.AUC(name="auc")])
    model.optimizer.build(model.trainable_variables)


def match_probabilities(matcher, x, batch_size=256):
    """`(pairs,)` match probabilities for the pairs `x = {modality: array}`."""
    return np.asarray(matcher.predict(x, batch_size=batch_size, verbose=0)).reshape(-1)
