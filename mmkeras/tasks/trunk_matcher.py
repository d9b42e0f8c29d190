"""`build_matcher_from_dual_encoder`: one trunk, two heads. A matcher on a dual encoder's towers."""

import keras
from keras import layers, ops

from mmkeras.models.builder import make_optimizer
from mmkeras.models.head import check_head_arguments
from mmkeras.tasks.dual_encoder import (
    SIMILARITY,
    dual_encoder_modalities,
    embedding_name,
)
from mmkeras.tasks.matcher import compile_matcher
from mmkeras.utils import validation

TRUNK_HEADS = ("product", "features")


@keras.saving.register_keras_serializable(package="mmkeras")
class PairFeatures(keras.layers.Layer):
    """Features of a pair of embeddings: `[s · a ⊙ b, s · |a − b|]`.

    The element-wise product (whose sum is the cosine for unit vectors) and
    the absolute difference, as sentence-pair classifiers (InferSent, SBERT)
    feed them to a classifier; `scale` brings the entries of unit vectors
    (about `1/√d` each) to order one, easier for a `Dense` layer to use.

    Args:
        scale: Factor applied to both features.
        **kwargs: Standard layer keyword arguments.

    Call arguments:
        inputs: `[a, b]`, two `(batch, d)` tensors.

    Returns:
        `(batch, 2 d)`.

    Example:

    >>> layer = PairFeatures(scale=2.0)
    >>> keras.ops.convert_to_numpy(layer([np.array([[1.0, 0.0]]), np.array([[0.5, 1.0]])]))
    array([[1., 0., 1., 2.]], dtype=float32)
    """

    def __init__(self, scale=8.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = validation.check_positive_float("scale", scale)

    def call(self, inputs):
        a, b = inputs
        return self.scale * ops.concatenate([a * b, ops.abs(a - b)], axis=-1)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[0])
        return shape[:-1] + (None if shape[-1] is None else 2 * shape[-1],)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def tower_name(modality):
    """Name of the matcher's copy of the dual encoder's `modality` tower."""
    return f"{modality}_tower"


def build_matcher_from_dual_encoder(dual_encoder, head="product", trainable=False,
                                    head_units=(64,), dropout=0.0, residual=True,
                                    feature_scale=8.0, compile=True, optimizer="adam",
                                    learning_rate=1e-3, name=None):
    """Builds a matcher on copies of a trained dual encoder's towers (one trunk, two heads).

    As keras-hub shares one backbone between tasks and ALBEF puts its
    image–text matching head on the encoders its contrastive loss trained,
    the matcher starts from what the dual encoder learned: each modality
    goes through a copy of the dual encoder's tower (the encoder, then the
    projection to the unit-norm embedding `e_m`). They are copies: training
    the matcher never changes the dual encoder. The head sees, per pair:

    - `"product"`: `PairFeatures(e_a, e_b)`, `[8 e_a ⊙ e_b, 8 |e_a − e_b|]`;
    - `"features"`: those and the encoders' own features (before the
      projection, layer-normalised), which the projection may have lost.

    With `residual`, the dual encoder's logit `s · cos(e_a, e_b)` (`s`: its
    learned inverse temperature, a constant here) is added to the head's logit, so an
    untrained head already ranks pairs as the dual encoder does and training
    learns a correction; `p(match) = σ(head(x) + s · cos)`.

    Args:
        dual_encoder: A trained model from `build_dual_encoder`.
        head: One of `TRUNK_HEADS`.
        trainable: Whether the tower copies train (else frozen; unfreeze
            later with `set_towers_trainable`).
        head_units: Hidden widths of the head (ReLU).
        dropout: Dropout after each hidden layer.
        residual: Add the dual encoder's scaled cosine to the logit.
        feature_scale: `PairFeatures`' scale.
        compile: Compile with binary cross-entropy, accuracy and AUC.
        optimizer: Optimizer name or instance.
        learning_rate: Learning rate when `optimizer` is a name.
        name: Model name; defaults to `"<head>_trunk_matcher"`.

    Returns:
        A `keras.Model` taking `{modality: tensor}` (row `i` of both inputs
        is one pair) and returning `(batch, 1)` match probabilities; usable
        wherever a `build_matcher` model is (`Retriever.search(rerank=...)`).

    Example:

    >>> dual = mmkeras.tasks.build_dual_encoder(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "text": mmkeras.encoders.text_bigru(sequence_length=5, vocab_size=20, units=4)},
    ...     embedding_dim=8)
    >>> matcher = build_matcher_from_dual_encoder(dual, head="features")
    >>> matcher.output.shape, matcher.get_layer("image_tower").trainable
    ((None, 1), False)
    """
    modalities = dual_encoder_modalities(dual_encoder)
    validation.check_choice("head", head, TRUNK_HEADS)
    trainable = validation.check_bool("trainable", trainable)
    residual = validation.check_bool("residual", residual)
    units, dropout = check_head_arguments(head_units, dropout, units_name="head_units")
    optimizer = make_optimizer(optimizer, learning_rate)
    inputs, features, embeddings = {}, [], []
    for modality in modalities:
        spec = next(t for t in dual_encoder.inputs if t.name == modality)
        inputs[modality] = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype,
                                       name=modality)
        tower = copy_tower(dual_encoder, modality)
        set_trainable_throughout(tower, trainable)
        feature, embedding = tower(inputs[modality])
        if head == "features":
            features.append(layers.LayerNormalization(name=f"{modality}_feature_norm")(feature))
        embeddings.append(embedding)
    logit = _head_logit(embeddings, features, units, dropout, feature_scale)
    if residual:
        cosine = layers.Dot(axes=-1, name="cosine")(embeddings)
        scale = float(dual_encoder.get_layer(SIMILARITY).scale)
        logit = layers.Add(name="residual_logit")(
            [logit, layers.Rescaling(scale, name="dual_encoder_logit")(cosine)])
    probability = layers.Activation("sigmoid", name="match_probability")(logit)
    model = keras.Model(inputs, probability, name=name or f"{head}_trunk_matcher")
    if compile:
        compile_matcher(model, optimizer)
    return model


def _head_logit(embeddings, features, units, dropout, feature_scale):
    """The head's logit from `PairFeatures` of the embeddings (and the encoders' features)."""
    x = PairFeatures(feature_scale, name="pair_features")(embeddings)
    if features:
        x = layers.Concatenate(name="head_features")(features + [x])
    for i, width in enumerate(units):
        x = layers.Dense(width, activation="relu", name=f"match_hidden_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"match_dropout_{i}")(x)
    return layers.Dense(1, name="match_logit")(x)


def copy_tower(dual_encoder, modality):
    """A copy (same weights, own variables) of the dual encoder's `modality` tower.

    Returns a model from the modality's input to `[encoder features,
    unit-norm embedding]`, named `tower_name(modality)`.
    """
    tensor = next(t for t in dual_encoder.inputs if t.name == modality)
    source = keras.Model(
        tensor, [dual_encoder.get_layer(f"{modality}_projection").input,
                 dual_encoder.get_layer(embedding_name(modality)).output])
    tower = keras.models.clone_model(source)
    tower.set_weights(source.get_weights())
    return keras.Model(tower.inputs, tower.outputs, name=tower_name(modality))


def set_towers_trainable(matcher, trainable=True):
    """Freezes or unfreezes a trunk matcher's towers (recompile the matcher afterwards)."""
    towers = [layer for layer in matcher.layers if layer.name.endswith("_tower")]
    if not towers:
        raise ValueError("Expected a matcher from build_matcher_from_dual_encoder (with "
                         f"'<modality>_tower' layers). Received: {matcher.name!r}")
    trainable = validation.check_bool("trainable", trainable)
    for tower in towers:
        set_trainable_throughout(tower, trainable)
    return towers


def set_trainable_throughout(model, trainable):
    """Sets `trainable` on `model` and on every layer inside it, whatever their flags were.

    `model.trainable = True` alone does nothing to a model already marked trainable that
    holds frozen layers (a copy of a frozen dual encoder's tower): on the TensorFlow backend a
    layer is an `AutoTrackable`, whose `__setattr__` skips assigning the object an attribute
    already holds, so Keras' setter, which passes the flag on to the layers, never runs.
    """
    model.trainable = not trainable
    model.trainable = trainable
