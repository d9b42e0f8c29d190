"""Several named targets on one trunk, and auxiliary unimodal heads.

`build_multitask_model` puts one classification head per task on the fused
representation (e.g. emoji `category`, 9 classes, and `subcategory`, 98) and,
optionally, one classifier per modality on that modality's own embedding:
the auxiliary (unimodal) heads with which the modality-imbalance literature
starts (Wang et al. 2020, "What makes training multimodal classification
networks hard?"). The model's outputs are a dict keyed by task and by
`"<modality>_aux"`; `single_output` cuts out one of them (the fused head for
inference and evaluation). `build_model`, the single-task builder, is left as
it is.
"""

import keras
from keras import ops

from mmkeras import fusion as fusion_lib
from mmkeras.models.builder import (
    build_backbone,
    check_encoders,
    check_missing,
    drop_modalities,
    make_optimizer,
    modality_inputs,
)
from mmkeras.models.head import check_head_arguments, classification_head
from mmkeras.utils import validation

AUXILIARY_MODES = ("joint", "probe")


def auxiliary_output(modality):
    """The output key of a modality's auxiliary head: `"<modality>_aux"`."""
    return f"{modality}_aux"


@keras.saving.register_keras_serializable(package="mmkeras")
class StopGradient(keras.layers.Layer):
    """Passes its input forward and no gradient back: `y = x`, `∂L/∂x = 0`.

    Puts a probe head on an embedding without the probe's loss training the
    encoder (`build_multitask_model(auxiliary_heads="probe")`).

    Example:

    >>> tuple(StopGradient()(np.ones((1, 2))).shape)
    (1, 2)
    """

    def call(self, inputs):
        return ops.stop_gradient(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_multitask_model(encoders, tasks, fusion="concat", *, loss_weights=None,
                          auxiliary_heads=False, auxiliary_weight=1.0, head_units=(128,),
                          dropout=0.0, modality_dropout=0.0, missing="zeros", compile=True,
                          optimizer="adam", learning_rate=1e-3, name=None):
    """A fused classifier with one head per task, and optionally one per modality.

    Each task `t` gets a head on the fused representation `z`; with
    auxiliary heads each modality `m` also gets a head `g_m` on its own
    embedding `h_m` for the first (main) task. Training minimises

    `L = Σ_t w_t CE(y_t, f_t(z)) + Σ_m w_aux CE(y_1, g_m(h_m))`.

    With `auxiliary_heads="joint"` (or `True`) the unimodal losses reach the
    encoders, so every encoder must learn to classify on its own — the remedy
    for a fused model that leans on one modality. With `"probe"` the heads
    sit behind `StopGradient`: they only read how well each modality does
    alone (what `mmkeras.training.OGMGE` needs) and leave the encoders alone.

    Args:
        encoders: `{modality: encoder}` as in `build_model`.
        tasks: `{task name: number of classes}`, main task first (e.g.
            `dataset.tasks`). Names must be identifiers and differ from the
            modalities.
        fusion: A feature-level fusion name or layer; early and sequence
            fusions work without auxiliary heads; decision-level fusions are
            refused (they have no fused representation).
        loss_weights: `{task: weight}`; missing tasks weigh 1.
        auxiliary_heads: `False`, `True`/`"joint"` or `"probe"`.
        auxiliary_weight: Loss weight `w_aux` of each auxiliary head.
        head_units: As in `build_model`.
        dropout: As in `build_model`.
        modality_dropout: As in `build_model`. The auxiliary heads see the
            embeddings before modality dropout.
        missing: As in `build_model`.
        optimizer: As in `build_model`.
        learning_rate: As in `build_model`.
        compile: Compile with sparse cross-entropy and accuracy per output.
        name: Model name; default `"<fusion>_multitask"`.

    Returns:
        A `keras.Model` whose outputs are a dict `{task: probabilities,
        "<modality>_aux": probabilities}`; fit it with a dict of labels
        (`Split.labels(main)` gives the tasks; repeat the main label for
        each auxiliary output, see `task_labels`).

    Example:

    >>> model = build_multitask_model(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)},
    ...     tasks={"digit": 10, "parity": 2}, auxiliary_heads=True)
    >>> sorted(model.output)
    ['audio_aux', 'digit', 'image_aux', 'parity']
    """
    check_encoders(encoders)
    tasks = _check_tasks(tasks, encoders)
    mode = _check_auxiliary(auxiliary_heads)
    units, dropout = check_head_arguments(head_units, dropout, units_name="head_units")
    modality_dropout = validation.check_rate("modality_dropout", modality_dropout)
    auxiliary_weight = validation.check_positive_float("auxiliary_weight", auxiliary_weight)
    weights = _check_loss_weights(loss_weights, tasks)
    optimizer = make_optimizer(optimizer, learning_rate)
    encoders = {m: encoders[m] for m in sorted(encoders)}
    fusion_layer = fusion_lib.get(fusion).for_modalities(list(encoders))
    level = fusion_layer.fusion_level
    if level == "decision" or (mode and level != "feature"):
        raise ValueError(
            "build_multitask_model needs a fused representation (any non-decision fusion), "
            "and auxiliary heads need the modalities' embeddings (a feature-level fusion). "
            f"Received: fusion={fusion_lib.name_of(fusion_layer)!r} (level {level!r}), "
            f"auxiliary_heads={auxiliary_heads!r}")
    outputs = {}
    if mode:
        inputs, fused, embeddings = _feature_trunk(encoders, fusion_layer, modality_dropout,
                                                  missing)
        main = next(iter(tasks))
        for m, h in zip(encoders, embeddings):
            if mode == "probe":
                h = StopGradient(name=f"{m}_stop_gradient")(h)
            outputs[auxiliary_output(m)] = classification_head(
                tasks[main], units=units, dropout=dropout, name=f"{m}_aux_head")(h)
            weights[auxiliary_output(m)] = auxiliary_weight
    else:
        backbone = build_backbone(encoders, fusion_layer, modality_dropout=modality_dropout,
                                  missing=missing)
        inputs, fused = backbone.input, backbone.output
    for task, classes in tasks.items():
        outputs[task] = classification_head(classes, units=units, dropout=dropout,
                                            name=f"{task}_head")(fused)
    model = keras.Model(inputs, outputs,
                        name=name or f"{fusion_lib.name_of(fusion_layer)}_multitask")
    if compile:
        compile_multitask(model, optimizer, loss_weights=weights)
    return model


def compile_multitask(model, optimizer="adam", learning_rate=1e-3, loss_weights=None):
    """Sparse cross-entropy and accuracy for every output, with `loss_weights`."""
    optimizer = make_optimizer(optimizer, learning_rate)
    names = list(model.output)
    model.compile(optimizer=optimizer,
                  loss={n: "sparse_categorical_crossentropy" for n in names},
                  loss_weights={n: float((loss_weights or {}).get(n, 1.0)) for n in names},
                  metrics={n: ["accuracy"] for n in names})


def task_labels(model, labels):
    """The label dict `model.fit` needs: `labels` (`{task: y}`) plus the main
    task's labels for every auxiliary head.

    Args:
        model: From `build_multitask_model`.
        labels: `{task: integer labels}` (e.g. `split.labels("category")`);
            its first key is the main task.
    """
    labels = dict(labels)
    if not labels:
        raise ValueError("`labels` is empty; give {task: labels}. Received: labels={}")
    main = next(iter(labels))
    expected = [n for n in model.output if not n.endswith("_aux")]
    unknown = sorted(set(labels) - set(expected))
    lacking = sorted(set(expected) - set(labels))
    if unknown or lacking:
        raise ValueError(f"Labels do not match the model's tasks. Received: {sorted(labels)}; "
                         f"expected: {sorted(expected)}")
    return {n: labels.get(n, labels[main]) for n in model.output}


def single_output(model, output):
    """A model with one of `model`'s outputs (same layers, same weights).

    The fused head for inference (`single_output(model, "category")`), or a
    modality's auxiliary head (`"image_aux"`); evaluation and robustness
    functions take it like any classifier.
    """
    if not isinstance(model.output, dict) or output not in model.output:
        names = sorted(model.output) if isinstance(model.output, dict) else []
        raise ValueError(f"Unknown output. Received: output={output!r}; the model has {names}")
    return keras.Model(model.input, model.output[output], name=f"{model.name}_{output}")


def _feature_trunk(encoders, fusion_layer, modality_dropout, missing):
    """`(inputs, fused, embeddings)`: embeddings taken before modality dropout."""
    check_missing(missing, modality_dropout)
    inputs, embeddings, _ = modality_inputs(encoders, fusion_layer, 0.0, "zeros")
    tensors = embeddings
    if modality_dropout:  # the same layers as build_model's, so robustness tests find them
        tensors = drop_modalities(inputs, embeddings, modality_dropout, missing)
    return inputs, fusion_layer(tensors), embeddings


def _check_tasks(tasks, encoders):
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError("`tasks` must be a non-empty dict {task name: number of classes}. "
                         f"Received: tasks={tasks!r}")
    checked = {}
    for task, classes in tasks.items():
        if not isinstance(task, str) or not task.isidentifier() or task in encoders \
                or task.endswith("_aux"):
            raise ValueError("Task names must be identifiers, differ from the modalities "
                             f"{sorted(encoders)} and not end in '_aux'. Received: {task!r}")
        checked[task] = validation.check_int(f"tasks[{task!r}]", classes, minimum=2)
    return checked


def _check_auxiliary(auxiliary_heads):
    if auxiliary_heads is False or auxiliary_heads is None:
        return None
    if auxiliary_heads is True:
        return "joint"
    if not isinstance(auxiliary_heads, str) or auxiliary_heads not in AUXILIARY_MODES:
        raise ValueError("`auxiliary_heads` must be False, True, 'joint' or 'probe'. "
                         f"Received: auxiliary_heads={auxiliary_heads!r}")
    return auxiliary_heads


def _check_loss_weights(loss_weights, tasks):
    loss_weights = dict(loss_weights or {})
    unknown = sorted(set(loss_weights) - set(tasks))
    if unknown:
        raise ValueError(f"Loss weights for unknown tasks. Received: {unknown}; tasks: "
                         f"{list(tasks)}")
    return {t: validation.check_positive_float(f"loss_weights[{t!r}]", loss_weights.get(t, 1.0))
            for t in tasks}
