"""`fit_model`: one training run with the standard callbacks."""

import time

import numpy as np

from mmkeras.datasets.bucketing import PADDINGS, check_padding
from mmkeras.evaluation.prediction import bucketed_modalities
from mmkeras.training.callbacks import RunProgress, standard_callbacks
from mmkeras.utils.input_check import check_inputs
from mmkeras.utils.timing import median_seconds
from mmkeras.utils.training_state import build_training_state
from mmkeras.utils.validation import check_choice


def fit_model(model, train, validation=None, epochs=10, batch_size=64, run_dir=None,
              patience=5, verbose=0, tensorboard=False, checkpoint=True, bucketing=True,
              seed=None):
    """Trains `model` and returns `(history dict, seconds, epochs run)`.

    Args:
        model: A compiled model with named inputs.
        train: `(x dict, y)` NumPy arrays, a `mmkeras.datasets.Split`, or a
            `tf.data.Dataset` of batches; checked against the model first
            (`mmkeras.check_inputs`).
        validation: Same kinds as `train`; monitored by early stopping.
        epochs: Maximum epochs.
        batch_size: For NumPy inputs.
        run_dir: Where checkpoints, the CSV log and the resume backup go
            (see `standard_callbacks`); a killed run resumes from here.
        patience: Early-stopping patience (on `val_loss`, else `loss`).
        verbose: Keras verbosity.
        tensorboard: Also write TensorBoard logs.
        checkpoint: Save the best model to `run_dir/best.keras`.
        bucketing: For NumPy inputs: train on length-bucketed batches
            (`mmkeras.datasets.to_tf_dataset(..., bucketing=...)`), for every
            variable-length modality (token ids, frames) whose model input has
            a `None` steps axis; validation batches are sorted by length. A
            model's outputs do not depend on the padding (masks); training
            does change a little, as samples of similar length share a batch.
            `True`: padded the way that is fastest for the model
            (`mmkeras.datasets.bucketing.best_padding`): up to fixed
            boundaries when its step is compiled per shape (JAX), to each
            batch's longest sample otherwise (TensorFlow, torch). `"longest"`
            or `"boundaries"` chooses. `False`: Keras batches the arrays as
            given (padded to the stored length). A `tf.data.Dataset` is used
            as given.
        seed: Shuffle seed of the bucketed batches; `None` draws one from
            NumPy's global generator (set by `seed_everything`).

    A run resumed from `run_dir` after a crash reports the whole run: the
    history, seconds and epochs before the restart are added to this call's
    (kept in `run_dir/backup/progress.json` by `RunProgress`, which
    `standard_callbacks` adds). Early stopping starts its patience afresh
    after a restart (Keras keeps no state for it).
    """
    check_choice("bucketing", bucketing, (True, False, *PADDINGS), "fit_model")
    train, validation = _as_arrays(train), _as_arrays(validation)
    # Tuples as arrays, a tf.data.Dataset by its element spec.
    for data in (train, validation):
        if data is not None:
            check_inputs(model, *(data[:2] if isinstance(data, tuple) else (data,)))
    if isinstance(train, tuple):
        x, y = train[:2]
        variable = bucketed_modalities(model, x) if bucketing else []
        if variable:
            from mmkeras.datasets import to_tf_dataset

            if seed is None:
                seed = int(np.random.randint(2**31 - 1))
            bucketed = dict(bucketing=variable, bucket_padding=check_padding(
                None, bucketing, model))
            fit_args = dict(x=to_tf_dataset((x, y), batch_size, shuffle=True, seed=seed,
                                            **bucketed), shuffle=False)
            if isinstance(validation, tuple):
                validation = to_tf_dataset(validation[:2], batch_size, **bucketed)
        else:
            fit_args = dict(x=x, y=y, batch_size=batch_size)
    else:
        # A tf.data pipeline shuffles itself (to_tf_dataset(shuffle=True)).
        fit_args = dict(x=train, shuffle=False)
    callbacks = standard_callbacks(
        run_dir, monitor="val_loss" if validation is not None else "loss",
        patience=patience, tensorboard=tensorboard, checkpoint=checkpoint)
    progress = next((c for c in callbacks if isinstance(c, RunProgress)), None)
    start = time.perf_counter()
    build_training_state(model, fit_args["x"], fit_args.get("y"))
    history = model.fit(**fit_args, validation_data=validation, epochs=epochs,
                        callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - start
    history = dict(history.history)
    if progress is not None and progress.previous_history:
        # A run resumed from its backup: report the epochs before the restart too.
        seconds += progress.previous_seconds
        history = {k: progress.previous_history.get(k, []) + list(history.get(k, []))
                   for k in {**progress.previous_history, **history}}
    return history, seconds, len(history.get("loss", []))


def _as_arrays(data):
    """A `Split` becomes its `(x, y)`; anything else is returned as given."""
    if data is not None and not isinstance(data, (tuple, dict)) and hasattr(data, "y") \
            and hasattr(data, "x"):
        return data.x, data.y
    return data


def predict_latency(model, x, repeats=20):
    """Median seconds per sample of `predict_on_batch` on one sample."""
    one = {k: v[:1] for k, v in x.items()}
    return median_seconds(lambda: model.predict_on_batch(one), repeats)
