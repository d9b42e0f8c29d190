"""`fit_model`: one training run with the standard callbacks."""

import time


from mmkeras.input_check import check_inputs
from mmkeras.timing import median_seconds
from mmkeras.training.callbacks import standard_callbacks


def fit_model(model, train, validation=None, epochs=10, batch_size=64, run_dir=None,
              patience=5, verbose=0, tensorboard=False, checkpoint=True):
    """Trains `model` and returns `(history dict, seconds, epochs run)`.

    Args:
        model: A compiled model with named inputs.
        train: `(x dict, y)` NumPy arrays or a `tf.data.Dataset` of batches.
        validation: Same kinds as `train`; monitored by early stopping.
        epochs: Maximum epochs.
        batch_size: For NumPy inputs.
        run_dir: Where checkpoints, the CSV log and the resume backup go
            (see `standard_callbacks`); a killed run resumes from here.
        patience: Early-stopping patience (on `val_loss`, else `loss`).
        verbose: Keras verbosity.
        tensorboard: Also write TensorBoard logs.
        checkpoint: Save the best model to `run_dir/best.keras`.
    """
    if isinstance(train, tuple):
        check_inputs(model, train[0])
        x, y = train
        fit_args = dict(x=x, y=y, batch_size=batch_size)
    else:
        # A tf.data pipeline shuffles itself (to_tf_dataset(shuffle=True)).
        fit_args = dict(x=train, shuffle=False)
    if isinstance(validation, tuple):
        check_inputs(model, validation[0])
    callbacks = standard_callbacks(
        run_dir, monitor="val_loss" if validation is not None else "loss",
        patience=patience, tensorboard=tensorboard, checkpoint=checkpoint)
    start = time.perf_counter()
    history = model.fit(**fit_args, validation_data=validation, epochs=epochs,
                        callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - start
    return dict(history.history), seconds, len(history.history.get("loss", []))


def predict_latency(model, x, repeats=20):
    """Median seconds per sample of `predict_on_batch` on one sample."""
    one = {k: v[:1] for k, v in x.items()}
    return median_seconds(lambda: model.predict_on_batch(one), repeats)
