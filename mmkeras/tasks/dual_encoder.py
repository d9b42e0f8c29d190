"""`build_dual_encoder`: two modalities embedded in one space, trained contrastively (CLIP)."""

import keras
from keras import layers

from mmkeras.models.builder import check_encoders, make_optimizer
from mmkeras.tasks.contrastive_loss import ContrastiveLoss
from mmkeras.tasks.similarity_logits import SimilarityLogits
from mmkeras.utils import layer_names, validation

SIMILARITY = "similarity"


def embedding_name(modality):
    """Name of the layer whose output is `modality`'s L2-normalised embedding."""
    return f"{modality}_embedding"


def build_dual_encoder(encoders, embedding_dim=64, temperature=0.07, max_scale=100.0,
                       compile=True, optimizer="adam", learning_rate=1e-3, weight_decay=None,
                       name="dual_encoder"):
    """Builds a dual encoder: one tower per modality, a shared embedding space.

    Each modality goes through its encoder and a linear projection to
    `embedding_dim`, then is L2-normalised (`UnitNormalization`):
    `e_m = P_m(f_m(x_m)) / ‖P_m(f_m(x_m))‖`. The model's output is the
    `(batch, batch)` matrix of scaled cosine similarities
    (`SimilarityLogits`, learnable temperature) that `ContrastiveLoss`
    trains: in-batch negatives, both directions. Train it with
    `model.fit(x, groups)`, where row `i` of the two inputs is a true pair
    and `groups[i]` its group id (`np.arange(n)` for one-to-one pairs);
    shuffle, since the negatives are the rest of the batch.

    The two towers share nothing, so any two modalities work (image–text,
    audio–image, audio–text). The towers are reached with
    `embedding_model(model, modality)` (for retrieval: `mmkeras.tasks.Retriever`).
    The full model's `predict` is not meaningful across batches (each batch
    gives its own `(batch, batch)` matrix).

    Args:
        encoders: Dict of exactly two `{modality: encoder}` (e.g. from
            `mmkeras.encoders`); fresh encoders, their layers are used.
        embedding_dim: Width of the shared space.
        temperature: Initial temperature (learned, log-parameterised).
        max_scale: Largest inverse temperature (CLIP: 100).
        compile: Compile with `ContrastiveLoss`.
        optimizer: Optimizer name or instance.
        learning_rate: Learning rate when `optimizer` is a name.
        weight_decay: Decoupled weight decay when `optimizer` is a name
            (`"adamw"` with 0.05 helps the small emoji dual encoder generalise
            to unseen names; see results/retrieval/).
        name: Model name.

    Returns:
        A `keras.Model` taking `{modality: tensor}` and returning
        `(batch, batch)` logits; row `i` is the first modality in sorted
        name order, column `j` the second.

    Example:

    >>> model = build_dual_encoder(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)},
    ...     embedding_dim=8)
    >>> [t.name for t in model.inputs], model.output.shape
    (['audio', 'image'], (None, None))
    >>> embedding_model(model, "image").output.shape
    (None, 8)
    """
    check_encoders(encoders)
    if len(encoders) != 2:
        raise ValueError("A dual encoder matches exactly two modalities. "
                         f"Received: encoders for {sorted(encoders)}")
    embedding_dim = validation.check_positive_int("embedding_dim", embedding_dim)
    optimizer = make_optimizer(optimizer, learning_rate, weight_decay)
    inputs, embeddings = {}, []
    for modality in sorted(encoders):
        encoder = encoders[modality]
        spec = encoder.inputs[0]
        inputs[modality] = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype,
                                       name=modality)
        tower = keras.Model(encoder.inputs[0], encoder.outputs[0],
                            name=layer_names.encoder_name(modality))
        x = tower(inputs[modality])
        x = layers.Dense(embedding_dim, name=f"{modality}_projection")(x)
        embeddings.append(layers.UnitNormalization(name=embedding_name(modality))(x))
    logits = SimilarityLogits(temperature, max_scale, name=SIMILARITY)(embeddings)
    model = keras.Model(inputs, logits, name=name)
    if compile:
        model.compile(optimizer=optimizer, loss=ContrastiveLoss())
        # Built now, not in the first trace of the train step, which TensorFlow would then
        # trace again (see mmkeras.utils.training_state).
        model.optimizer.build(model.trainable_variables)
    return model


def dual_encoder_modalities(model):
    """The two modalities of a dual encoder, in its (sorted) order."""
    if not isinstance(model, keras.Model) or not _has_layer(model, SIMILARITY):
        raise ValueError("Expected a dual encoder from build_dual_encoder (a model with a "
                         f"{SIMILARITY!r} layer). Received: {getattr(model, 'name', model)!r}")
    return sorted(t.name for t in model.inputs)


def embedding_model(model, modality):
    """The tower of `modality`: a model from its input to its L2-normalised embedding."""
    modalities = dual_encoder_modalities(model)
    if modality not in modalities:
        raise ValueError(f"Unknown modality for this dual encoder. Received: "
                         f"modality={modality!r}; expected one of {modalities}")
    tensor = next(t for t in model.inputs if t.name == modality)
    return keras.Model(tensor, model.get_layer(embedding_name(modality)).output,
                       name=f"{modality}_tower")


def temperature(model):
    """The dual encoder's current temperature `τ = 1/s` (a float)."""
    dual_encoder_modalities(model)
    return 1.0 / model.get_layer(SIMILARITY).scale


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)
