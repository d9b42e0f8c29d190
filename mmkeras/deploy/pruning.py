"""Magnitude pruning for Keras 3 models, with any backend.

tensorflow-model-optimization prunes only `tf_keras` models, so this is a
small re-implementation of its recipe (Zhu & Gupta, 2017): during
fine-tuning, after every `frequency` training steps, each prunable kernel
keeps its largest-magnitude weights and the rest are set to zero; the share
set to zero follows a schedule up to the target sparsity. After every batch
the masks are applied again, so weights once pruned stay zero while the
optimizer updates the others. The model is never wrapped: `strip_pruning`
returns a plain copy that saves and loads in safe mode.
"""

import gzip
import warnings

import keras
import numpy as np
from keras import ops

from mmkeras.utils.validation import check_int, check_positive_int, check_rate

# Weight names that are pruned: dense/conv/attention kernels, recurrent kernels, embeddings.
PRUNABLE = ("kernel", "recurrent_kernel", "embeddings")


def _check_sparsity(name, value, owner):
    return check_rate(name, value, owner=owner)


class ConstantSparsity:
    """The target sparsity from `begin_step` on (0 before).

    Args:
        target_sparsity: Share of each kernel's weights set to zero, in [0, 1).
        begin_step: First training step at which weights are pruned.
    """

    def __init__(self, target_sparsity, begin_step=0):
        self.target_sparsity = _check_sparsity("target_sparsity", target_sparsity,
                                               "ConstantSparsity")
        self.begin_step = check_int("begin_step", begin_step, minimum=0, owner="ConstantSparsity")

    def __call__(self, step):
        return self.target_sparsity if step >= self.begin_step else 0.0


class PolynomialSparsity:
    """Sparsity rising from `initial_sparsity` to `target_sparsity`:

    `s(t) = s_f + (s_i - s_f) · (1 - (t - t_0) / (t_1 - t_0))^power` for
    `t_0 ≤ t ≤ t_1`, `s_f` after `t_1`, 0 before `t_0` — fast at first,
    slowly at the end, so the network recovers between steps.

    Args:
        target_sparsity: Final sparsity, in [0, 1).
        end_step: Step at which the target is reached (> begin_step).
        initial_sparsity: Sparsity at `begin_step`, in [0, 1).
        begin_step: First pruning step.
        power: Exponent of the decay (3 as in tfmot).
    """

    def __init__(self, target_sparsity, end_step, initial_sparsity=0.0, begin_step=0, power=3):
        owner = "PolynomialSparsity"
        self.target_sparsity = _check_sparsity("target_sparsity", target_sparsity, owner)
        self.initial_sparsity = _check_sparsity("initial_sparsity", initial_sparsity, owner)
        self.begin_step = check_int("begin_step", begin_step, minimum=0, owner=owner)
        self.end_step = check_int("end_step", end_step, minimum=self.begin_step + 1, owner=owner)
        self.power = check_positive_int("power", power, owner=owner)

    def __call__(self, step):
        if step < self.begin_step:
            return 0.0
        progress = min(1.0, (step - self.begin_step) / (self.end_step - self.begin_step))
        return self.target_sparsity + (self.initial_sparsity - self.target_sparsity) * (
            1.0 - progress) ** self.power


def prunable_weights(model):
    """The model's kernels, recurrent kernels and embeddings (2-D or more)."""
    return [w for w in model.trainable_weights
            if w.name in PRUNABLE and len(w.shape) >= 2]


def magnitude_mask(weight, sparsity_level):
    """A 0/1 mask keeping the `round((1 - s)·n)` largest |w| of `weight`.

    Exactly that many are kept (ties broken by position), computed with
    keras.ops so that it runs on any backend.
    """
    size = int(np.prod(weight.shape))
    keep = size - int(round(sparsity_level * size))
    flat = ops.reshape(ops.abs(weight), (-1,))
    if keep >= size:
        return ops.ones(weight.shape, dtype=weight.dtype)
    _, kept = ops.top_k(flat, k=keep, sorted=False)
    mask = ops.scatter(ops.expand_dims(kept, -1), ops.ones((keep,), dtype=weight.dtype), (size,))
    return ops.reshape(mask, weight.shape)


class MagnitudePruning(keras.callbacks.Callback):
    """Prunes the smallest weights of every prunable kernel while the model trains.

    Works with every backend; on JAX it syncs the training state to the
    variables after each batch, which slows training down.

    Args:
        schedule: A `ConstantSparsity` / `PolynomialSparsity`, or a number in
            [0, 1) meaning `ConstantSparsity(number)`.
        frequency: Training steps between two mask updates (masks are applied
            after every batch in between).
        weights: The variables to prune; by default `prunable_weights(model)`,
            the trainable ones (frozen kernels stay dense, named in a warning).

    Example:

    ```python
    pruning = MagnitudePruning(PolynomialSparsity(0.75, end_step=200))
    model.fit(x, y, epochs=4, callbacks=[pruning])
    small = strip_pruning(model)
    ```
    """

    def __init__(self, schedule, frequency=10, weights=None):
        super().__init__()
        if not callable(schedule):
            schedule = ConstantSparsity(schedule)
        self.schedule = schedule
        self.frequency = check_positive_int("frequency", frequency, owner="MagnitudePruning")
        self._chosen = weights
        self.step = 0
        self.masks = None

    def on_train_begin(self, logs=None):
        self.pruned = list(self._chosen) if self._chosen is not None else prunable_weights(
            self.model)
        # Only trainable kernels are pruned: frozen ones (a clone of a frozen model, frozen
        # encoders) would stay dense and the model end far less sparse than asked.
        frozen = [] if self._chosen is not None else [
            w.path for w in self.model.non_trainable_weights
            if w.name in PRUNABLE and len(w.shape) >= 2]
        if not self.pruned:
            hint = (f"; {len(frozen)} are frozen (unfreeze their layers, `layer.trainable = "
                    "True`, and compile again)") if frozen else ""
            raise ValueError(f"Model {self.model.name!r} has no trainable prunable weights "
                             f"{PRUNABLE}{hint}.")
        if frozen:
            warnings.warn(
                f"{len(frozen)} prunable weights of model {self.model.name!r} are frozen "
                f"(trainable=False) and stay dense, e.g. {frozen[0]!r}: the model will be "
                "less sparse than the schedule asks. Unfreeze their layers (`layer.trainable = "
                "True`; a clone of a frozen model keeps its layers frozen) and compile again "
                "to prune them too, or pass `weights=` to choose.", stacklevel=2)
        if self.masks is None:
            self.masks = [ops.ones(w.shape, dtype=w.dtype) for w in self.pruned]
        self.update_masks()

    def update_masks(self):
        level = self.schedule(self.step)
        self.masks = [magnitude_mask(w * m, level) for w, m in zip(self.pruned, self.masks)]
        self.apply_masks()

    def apply_masks(self):
        for weight, mask in zip(self.pruned, self.masks):
            weight.assign(weight * mask)

    def on_train_batch_end(self, batch, logs=None):
        # Reading self.model attaches JAX's in-flight training state to the variables (a
        # no-op elsewhere); the step after a callback's assign then reads them back.
        _ = self.model
        self.step += 1
        if self.step % self.frequency == 0:
            self.update_masks()
        else:
            self.apply_masks()

    def on_train_end(self, logs=None):
        self.update_masks()


def sparsity(model, weights=None):
    """Share of exact zeros in each prunable weight: `{path: share}`."""
    weights = prunable_weights(model) if weights is None else weights
    return {w.path: float(np.mean(keras.ops.convert_to_numpy(w) == 0)) for w in weights}


def strip_pruning(model):
    """A plain copy of a pruned model (same architecture and weights, zeros
    included), without callbacks or optimizer state; compile it to train on."""
    # From its config, not `keras.models.clone_model`, which (Keras 3.15) compiles the copy
    # of a compiled model, optimizer variables included.
    stripped = type(model).from_config(model.get_config())
    stripped.set_weights(model.get_weights())
    return stripped


def gzipped_size(model):
    """Bytes of the model's weights after gzip (level 9): zeros compress.

    The weights alone, as the raw bytes of each array in `model.get_weights()`
    order: not the `.weights.h5` file, which also holds the optimizer's state
    (Adam's two moments per weight in a trained model, none in a stripped
    copy) and would make a pruned copy look several times smaller than
    pruning made it.

    Example:

    >>> import keras, numpy as np
    >>> dense = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64)])
    >>> before = gzipped_size(dense)
    >>> dense.set_weights([np.zeros((64, 64), "float32"), np.zeros(64, "float32")])
    >>> gzipped_size(dense) < before / 10
    True
    """
    raw = b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())
    return len(gzip.compress(raw, compresslevel=9))
