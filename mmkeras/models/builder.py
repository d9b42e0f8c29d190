"""`build_model` and `build_backbone`: the same encoders, any fusion strategy, one head.

The backbone is the trunk every task shares: inputs named after the
modalities, each modality's encoder, the fusion. `build_model` puts a
classification head on it (or, for decision-level fusion, one head per
modality under the fusion). The models' layer names are listed in
`mmkeras.utils.layer_names`.
"""

import math

import keras
from keras import layers

from mmkeras import fusion as fusion_lib
from mmkeras.encoders.views import encoder_view
from mmkeras.layers import ModalityPresence, PaddingMask
from mmkeras.models.head import check_head_arguments, check_num_classes, classification_head
from mmkeras.utils import layer_names, validation

# Early fusion reads image feature maps as tokens; larger maps are average
# pooled down to at most this many positions so the joint attention stays cheap.
MAX_IMAGE_TOKENS = 64
# What replaces a dropped modality's embedding (`ModalityDropout`).
MISSING = ("zeros", "learned")


def build_model(encoders, fusion="concat", num_classes=2, *, binary=False,
                head_units=(128,), dropout=0.0, modality_dropout=0.0, missing="zeros",
                compile=True, optimizer="adam", learning_rate=1e-3, steps_per_execution=1,
                name=None):
    """Builds a functional multimodal classifier.

    Each modality's input goes through its encoder; the fusion joins them at
    its level (see `mmkeras.fusion`); a classification head gives class
    probabilities. With one encoder it builds the unimodal baseline.

    Args:
        encoders: Dict `{modality name: encoder}`; each encoder is a
            functional `keras.Model` with one input, e.g. from
            `mmkeras.encoders`. The model's inputs get the modality names, so
            it takes a dict keyed like the encoders (and like the tf.data
            elements of `mmkeras.datasets`). The model uses the encoders'
            layers (under the names `"<modality>_encoder"`) without changing
            the encoder objects: build fresh ones for each model unless you
            want to share weights.
        fusion: A name from `mmkeras.fusion.FUSIONS` or a fusion layer.
            Modalities reach the fusion in sorted name order (the order
            Keras flattens dict inputs in), whatever the dict order.
        num_classes: Number of classes (>= 2).
        binary: One sigmoid output (`num_classes` must be 2).
        head_units: Hidden widths of the classification head(s).
        dropout: Dropout rate in the head(s).
        modality_dropout: Probability of replacing a whole modality's
            embedding per training sample (`mmkeras.fusion.ModalityDropout`),
            for feature- and decision-level fusions.
        missing: What replaces a dropped modality: `"zeros"` or `"learned"`.
        compile: Compile with `optimizer`, sparse categorical (or binary)
            cross-entropy on integer labels, and accuracy. The optimizer is
            built for the weights that train now, so that TensorFlow traces
            the train step once: after freezing or unfreezing layers, compile
            again (as Keras asks anyway).
        optimizer: Optimizer name or instance.
        learning_rate: Learning rate when `optimizer` is a name.
        steps_per_execution: Batches per call of the compiled train step
            (`keras.Model.compile`); the same updates, less overhead per batch
            for small models (`compare` uses 4: about 20 % faster on a 2-core
            CPU, see `benchmarks/results/bucketing.md`).
        name: Model name; defaults to `"<fusion>_fusion"` or
            `"<modality>_only"`.

    Returns:
        A `keras.Model`.

    Example:

    ```python
    model = mmkeras.build_model(
        encoders={"image": mmkeras.encoders.image_cnn(input_shape=(28, 28, 1)),
                  "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 13))},
        fusion="concat", num_classes=10)
    model.fit({"image": x_image, "audio": x_audio}, y, epochs=5)
    ```
    """
    check_encoders(encoders)
    num_classes = check_num_classes(num_classes, binary)
    head_units, dropout = check_head_arguments(head_units, dropout, units_name="head_units")
    modality_dropout = validation.check_rate("modality_dropout", modality_dropout)
    optimizer = make_optimizer(optimizer, learning_rate)
    steps_per_execution = validation.check_positive_int("steps_per_execution",
                                                        steps_per_execution)
    encoders = {m: encoders[m] for m in sorted(encoders)}
    fusion_layer = fusion_lib.get(fusion).for_modalities(list(encoders))
    head_kwargs = dict(num_classes=num_classes, binary=binary, units=tuple(head_units),
                       dropout=dropout)
    if fusion_layer.fusion_level == "decision":
        inputs, embeddings, _ = modality_inputs(encoders, fusion_layer, modality_dropout, missing)
        logits = [classification_head(**head_kwargs, output="logits",
                                      name=layer_names.head_name(m))(h)
                  for m, h in zip(encoders, embeddings)]
        outputs = fusion_layer(logits)
    else:
        backbone = build_backbone(encoders, fusion_layer, modality_dropout=modality_dropout,
                                  missing=missing)
        inputs = backbone.input
        outputs = classification_head(**head_kwargs, name=layer_names.HEAD)(backbone.output)
    if name is None:
        name = (f"{next(iter(encoders))}_only" if len(encoders) == 1
                else f"{fusion_lib.name_of(fusion_layer)}_fusion")
    model = keras.Model(inputs, outputs, name=name)
    if compile:
        _compile(model, optimizer, binary, steps_per_execution)
    return model


def build_backbone(encoders, fusion="concat", *, modality_dropout=0.0, missing="zeros",
                   name=None):
    """The encoders-plus-fusion trunk: modality inputs in, fused representation out.

    The part of a multimodal model that does not depend on the task:
    `build_model` puts a classification head on it, and other tasks
    (matching, several heads) can put theirs. Arguments as in `build_model`;
    decision-level fusions combine predictions, so they have no backbone.

    Returns:
        A `keras.Model` taking a dict `{modality: tensor}` and returning
        the fused `(batch, features)` tensor.

    Example:

    >>> backbone = build_backbone(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)},
    ...     fusion="concat")
    >>> backbone.output.shape
    (None, 8)
    """
    check_encoders(encoders)
    encoders = {m: encoders[m] for m in sorted(encoders)}
    fusion_layer = fusion_lib.get(fusion).for_modalities(list(encoders))
    if fusion_layer.fusion_level == "decision":
        raise ValueError(
            "A decision-level fusion combines per-modality predictions and has no fused "
            "representation: use build_model. Received: "
            f"fusion={fusion_lib.name_of(fusion_layer)!r}")
    inputs, features, masks = modality_inputs(encoders, fusion_layer, modality_dropout, missing)
    fused = fusion_layer(features) if masks is None else fusion_layer(features, mask=masks)
    if name is None:
        name = f"{fusion_lib.name_of(fusion_layer)}_backbone"
    return keras.Model(inputs, fused, name=name)


def modality_inputs(encoders, fusion_layer, modality_dropout, missing):
    """The model's inputs and what the fusion receives: `(inputs, tensors, masks)`.

    One `keras.Input` per modality (named after it), and each encoder's output
    at the fusion's level: stem tokens (early), sequences with their padding
    masks (sequence) or embeddings (feature, decision), after
    `ModalityDropout` when `modality_dropout` > 0.
    """
    level = fusion_layer.fusion_level
    if modality_dropout and level in ("early", "sequence"):
        raise ValueError(
            f"modality_dropout works on embeddings, before feature- or decision-level "
            f"fusion. Received: fusion={fusion_lib.name_of(fusion_layer)!r} (level {level!r})"
        )
    check_missing(missing, modality_dropout)
    inputs = {}
    for modality, encoder in encoders.items():
        spec = encoder.inputs[0]
        inputs[modality] = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype,
                                       name=modality)
    tensors, masks = _LEVEL_INPUTS[level](encoders, inputs)
    if modality_dropout:
        tensors = drop_modalities(inputs, tensors, modality_dropout, missing)
    return inputs, tensors, masks


def check_missing(missing, modality_dropout):
    """`missing` is one of `MISSING`, and means something: with `modality_dropout=0`
    nothing is dropped, so only the default `"zeros"` is accepted."""
    validation.check_choice("missing", missing, MISSING)
    if missing != "zeros" and not modality_dropout:
        raise ValueError(
            "`missing` says what replaces a modality dropped by modality dropout, and "
            "modality_dropout is 0: nothing would be dropped. Received: "
            f"missing={missing!r}, modality_dropout={modality_dropout!r}; give "
            "modality_dropout > 0 (e.g. 0.3) or leave missing='zeros'")
    return missing


def drop_modalities(inputs, embeddings, rate, missing="zeros"):
    """`ModalityDropout` on the embeddings (one per input, in `inputs`' order), told
    per sample which inputs are all zeros: a modality missing from the data (a
    blank caption) is replaced as a dropped one is. Layer names from `layer_names`."""
    drop = fusion_lib.ModalityDropout(rate, missing=missing, modalities=list(inputs),
                                      name=layer_names.MODALITY_DROPOUT)
    present = [ModalityPresence(name=layer_names.presence_name(m))(x) for m, x in inputs.items()]
    return drop(embeddings, present=present)


def _embeddings(encoders, inputs):
    """Feature and decision levels: each encoder's `(batch, features)` embedding."""
    named = {m: keras.Model(e.inputs[0], e.outputs[0], name=layer_names.encoder_name(m))
             for m, e in encoders.items()}
    return [named[m](inputs[m]) for m in encoders], None


def _sequences(encoders, inputs):
    """Sequence level: each encoder's `(batch, steps, features)` view, with masks."""
    sequences, masks = [], []
    for modality, encoder in encoders.items():
        view = encoder_view(encoder, "sequence", name=layer_names.encoder_name(modality))
        sequence = view(inputs[modality])
        sequences.append(sequence)
        masks.append(_step_mask(modality, inputs[modality], sequence))
    return sequences, masks


def _tokens(encoders, inputs):
    """Early level: each encoder's stem features as tokens, with masks."""
    tokens, masks = [], []
    for modality, encoder in encoders.items():
        token_seq, mask = _early_tokens(modality, encoder, inputs[modality])
        tokens.append(token_seq)
        masks.append(mask)
    return tokens, masks


_LEVEL_INPUTS = {"early": _tokens, "sequence": _sequences, "feature": _embeddings,
                 "decision": _embeddings}


def make_optimizer(optimizer="adam", learning_rate=1e-3, weight_decay=None):
    """`optimizer` itself, or for a name the optimizer it names at `learning_rate` (checked),
    with decoupled `weight_decay` when given (Keras applies it as AdamW does)."""
    if weight_decay is not None:
        weight_decay = validation.check_float("weight_decay", weight_decay, minimum=0)
    if not isinstance(optimizer, str):
        if weight_decay:
            raise ValueError("Set the weight decay on the optimizer instance itself. Received: "
                             f"optimizer={optimizer!r} and weight_decay={weight_decay}")
        return optimizer
    learning_rate = validation.check_positive_float("learning_rate", learning_rate)
    config = {"learning_rate": learning_rate}
    if weight_decay:
        config["weight_decay"] = weight_decay
    return keras.optimizers.get({"class_name": optimizer, "config": config})


def _compile(model, optimizer, binary, steps_per_execution=1):
    # The accuracy metric and the optimizer's variables are made here rather than while
    # TensorFlow traces the first train step, which it would then trace a second time
    # (see `mmkeras.utils.training_state`). Same metric, name and numbers as "accuracy".
    accuracy = (keras.metrics.BinaryAccuracy if binary
                else keras.metrics.SparseCategoricalAccuracy)(name="accuracy")
    model.compile(
        optimizer=optimizer,
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        metrics=[accuracy],
        steps_per_execution=steps_per_execution,
    )
    model.optimizer.build(model.trainable_variables)


def check_encoders(encoders):
    """Raises unless `encoders` is a non-empty dict of one-input, one-embedding models
    keyed by identifiers (they name the model's inputs)."""
    if not isinstance(encoders, dict):
        raise TypeError(
            "`encoders` must be a dict {modality name: encoder model}. "
            f"Received: encoders of type {type(encoders).__name__}"
        )
    if not encoders:
        raise ValueError(
            "`encoders` is empty; give at least one, e.g. "
            "{'image': mmkeras.encoders.image_cnn()}. Received: encoders={}"
        )
    for modality, encoder in encoders.items():
        if not isinstance(modality, str) or not modality.isidentifier():
            raise ValueError(
                "Modality names must be identifiers (they name the model's inputs). "
                f"Received: {modality!r}"
            )
        if not isinstance(encoder, keras.Model):
            raise TypeError(
                f"The encoder for {modality!r} must be a keras.Model (see "
                f"mmkeras.encoders). Received: {type(encoder).__name__}"
            )
        if len(encoder.inputs) != 1:
            raise ValueError(
                f"The encoder for {modality!r} must have exactly one input. "
                f"Received: {len(encoder.inputs)} inputs"
            )
        if len(encoder.outputs) != 1 or len(encoder.outputs[0].shape) != 2:
            raise ValueError(
                f"The encoder for {modality!r} must output one (batch, features) "
                f"embedding. Received: outputs {[tuple(o.shape) for o in encoder.outputs]}"
            )


def _early_tokens(modality, encoder, inputs):
    """An encoder's stem features as `(batch, tokens, features)` plus a mask."""
    x = encoder_view(encoder, "stem", name=layer_names.stem_name(modality))(inputs)
    mask = None
    if len(x.shape) == 4:
        height, width = x.shape[1], x.shape[2]
        if height is None or width is None:
            raise ValueError(
                f"Early fusion needs a fixed image size for {modality!r}. "
                f"Received: stem shape {tuple(x.shape)}"
            )
        if height * width > MAX_IMAGE_TOKENS:
            side = math.isqrt(MAX_IMAGE_TOKENS)
            pool = (math.ceil(height / side), math.ceil(width / side))
            x = layers.AveragePooling2D(pool, padding="same", name=f"{modality}_token_pool")(x)
        x = layers.Reshape((-1, x.shape[-1]), name=f"{modality}_tokens")(x)
    elif len(x.shape) == 3:
        mask = _step_mask(modality, inputs, x)
    elif len(x.shape) == 2:
        x = layers.Reshape((1, x.shape[-1]), name=f"{modality}_tokens")(x)
    else:
        raise ValueError(
            f"Early fusion cannot turn {modality!r}'s stem into tokens. "
            f"Received: stem shape {tuple(x.shape)}"
        )
    return x, mask


def _step_mask(modality, inputs, sequence):
    """The raw input's padding mask, when `sequence` keeps one step per input step.

    Token and frame encoders (text, audio) keep their input's steps, so a
    padded token or frame is a padded position of the sequence too. Image
    and video sequences have no padding.
    """
    if len(inputs.shape) in (2, 3) and inputs.shape[1] == sequence.shape[1]:
        return PaddingMask(name=layer_names.padding_mask_name(modality))(inputs)
    return None
