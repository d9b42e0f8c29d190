"""Modality balancing: OGM-GE, on-the-fly gradient modulation (Peng et al. 2022).

A jointly trained fusion model learns its easiest modality first; once that
one fits the training data, the others get little gradient and stay weak,
so the model collapses when the dominant modality is missing (Wang et al.
2020; Peng et al. 2022, "Balanced Multimodal Learning via On-the-fly
Gradient Modulation", CVPR). OGM-GE slows down the encoder of whichever
modality is ahead, batch by batch, and adds gradient noise to keep
generalisation.

The custom `train_step` is written with `keras.ops` except for the gradient
tape, which is TensorFlow's (`tf.GradientTape`): `OGMGE` runs on the
TensorFlow backend only.
"""

import keras
from keras import ops

from mmkeras.utils import layer_names, validation


def ogm_coefficients(scores, alpha):
    """OGM's modulation coefficient per modality, from the modalities' scores.

    For modality `m` with batch score `s_m = Σ_i softmax(g_m(x_i))[y_i]`,
    the discrepancy ratio is `ρ_m = s_m / mean_{j≠m} s_j` (for two modalities
    the paper's `s_a / s_v`), and

    `k_m = 1 − tanh(α ρ_m)` if `ρ_m > 1`, else `k_m = 1`:

    the modality ahead has its encoder's gradient scaled down, the others
    keep theirs.

    Args:
        scores: `(M,)` scores, `M >= 2`.
        alpha: `α > 0`, the strength of the modulation.

    Returns:
        `(M,)` coefficients in `(0, 1]`.

    Example:

    >>> k = ogm_coefficients(np.array([30.0, 10.0]), alpha=0.5)
    >>> np.round(keras.ops.convert_to_numpy(k), 4)  # 1 - tanh(0.5 * 3) = 0.0949
    array([0.0949, 1.    ], dtype=float32)
    """
    scores = ops.cast(ops.convert_to_tensor(scores), "float32")
    count = ops.shape(scores)[0]
    others = (ops.sum(scores) - scores) / ops.cast(count - 1, "float32")
    ratio = scores / ops.maximum(others, 1e-8)
    return ops.where(ratio > 1.0, 1.0 - ops.tanh(alpha * ratio), ops.ones_like(ratio))


@keras.saving.register_keras_serializable(package="mmkeras")
class OGMGE(keras.Model):
    """A functional model trained with OGM-GE gradient modulation.

    Build a model with `build_multitask_model(..., auxiliary_heads="probe")`
    (or `True`): its `"<modality>_aux"` outputs give each modality's own
    prediction `p_m`, from which each batch's scores `s_m = Σ_i p_m[i, y_i]`
    and coefficients `k_m` (`ogm_coefficients`) are computed. Then every
    gradient `g` of modality `m`'s encoder is replaced by

    `g' = k_m g + ε`, `ε ~ N(0, std(g)²)` (the GE term; `std` over the
    tensor's elements),

    while the fusion and heads get their plain gradients. Peng et al. read
    `p_m` from the fused linear classifier's weights for modality `m`; this
    implementation reads it from the probe heads, which works with any
    feature-level fusion and any head. The paper trains with SGD; Adam
    rescales each parameter's steps and so undoes part of a constant
    `k_m` (not of its changes nor of the noise).

    Args:
        inputs: As for a functional `keras.Model` (e.g.
            `OGMGE(model.input, model.output)` to retrain `model`'s layers).
        outputs: As for a functional `keras.Model`.
        alpha: Modulation strength `α` (the paper uses 0.1–0.8).
        generalisation_enhancement: Add the Gaussian noise `ε`.
        task: The output whose labels score the modalities; default the
            one output that is not an auxiliary head.
        seed: Seed of the noise.

    Example:

    >>> from mmkeras.tasks.multitask import build_multitask_model, compile_multitask
    >>> base = build_multitask_model(
    ...     {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 1), embedding_dim=4),
    ...      "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 3), units=4)},
    ...     tasks={"digit": 10}, auxiliary_heads="probe", compile=False)
    >>> model = OGMGE(base.input, base.output, alpha=0.5)
    >>> compile_multitask(model)
    """

    def __init__(self, inputs, outputs, alpha=0.5, generalisation_enhancement=True, task=None,
                 seed=None, **kwargs):
        super().__init__(inputs, outputs, **kwargs)
        self.alpha = validation.check_positive_float("alpha", alpha, owner="OGMGE")
        self.generalisation_enhancement = validation.check_bool(
            "generalisation_enhancement", generalisation_enhancement, owner="OGMGE")
        self.seed = seed
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.modalities = sorted(t.name for t in self.inputs)
        outputs = self.output if isinstance(self.output, dict) else {}
        missing = [m for m in self.modalities if f"{m}_aux" not in outputs]
        if missing:
            raise ValueError("OGMGE scores each modality with its auxiliary head: build the "
                             "model with build_multitask_model(auxiliary_heads='probe'). "
                             f"Received: outputs {sorted(outputs)}; missing "
                             f"{[f'{m}_aux' for m in missing]}")
        tasks = [n for n in outputs if not n.endswith("_aux")]
        if task is None and len(tasks) != 1:
            raise ValueError(f"Name the task that scores the modalities. Received: task=None; "
                             f"outputs {tasks}")
        if task is not None and task not in tasks:
            raise ValueError(f"Unknown task. Received: task={task!r}; expected one of {tasks}")
        self.task = task or tasks[0]

    def modality_scores(self, y, y_pred):
        """`(M,)`: `s_m = Σ_i p_m[i, y_i]`, each modality's probability of the truth."""
        labels = ops.reshape(ops.cast(y[self.task], "int32"), (-1,))
        scores = []
        for m in self.modalities:
            probabilities = ops.cast(y_pred[f"{m}_aux"], "float32")
            picked = ops.take_along_axis(probabilities, ops.expand_dims(labels, -1), axis=-1)
            scores.append(ops.sum(picked))
        return ops.stack(scores)

    def modulate(self, gradients, variables, coefficients):
        """`g' = k_m g (+ ε)` for the variables of modality `m`'s encoder."""
        owner = {}
        for i, m in enumerate(self.modalities):
            for v in self.get_layer(layer_names.encoder_name(m)).trainable_variables:
                owner[v.path] = i
        modulated = []
        for g, v in zip(gradients, variables):
            i = owner.get(v.path)
            if g is None or i is None:
                modulated.append(g)
                continue
            scaled = g * ops.cast(coefficients[i], g.dtype)
            if self.generalisation_enhancement:
                noise = keras.random.normal(ops.shape(g), seed=self.noise_seed)
                scaled = scaled + ops.cast(noise, g.dtype) * ops.std(g)
            modulated.append(scaled)
        return modulated

    def train_step(self, data):
        import tensorflow as tf

        if keras.backend.backend() != "tensorflow":
            raise RuntimeError("OGMGE's train_step uses tf.GradientTape: set KERAS_BACKEND="
                               f"tensorflow. Received: backend {keras.backend.backend()!r}")
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        variables = self.trainable_variables
        gradients = tape.gradient(loss, variables)
        coefficients = ogm_coefficients(self.modality_scores(y, y_pred), self.alpha)
        self.optimizer.apply(self.modulate(gradients, variables, coefficients), variables)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def get_config(self):
        # The graph as a plain functional model's config, plus OGM-GE's settings.
        config = keras.Model(self.input, self.output, name=self.name).get_config()
        config.update({"alpha": self.alpha,
                       "generalisation_enhancement": self.generalisation_enhancement,
                       "task": self.task, "seed": self.seed})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        settings = {k: config.pop(k) for k in ("alpha", "generalisation_enhancement", "task",
                                                "seed")}
        graph = keras.Model.from_config(config, custom_objects=custom_objects)
        return cls(graph.input, graph.output, name=graph.name, **settings)
