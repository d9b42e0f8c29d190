"""The callbacks every mmkeras training run uses, in one place."""

import os

import keras


def standard_callbacks(run_dir=None, monitor="val_loss", patience=5, backup=True,
                       checkpoint=True, csv_log=True, tensorboard=False):
    """EarlyStopping (best weights), checkpoint, resume-after-kill, CSV log, TensorBoard.

    Args:
        run_dir: Folder for the run's files; `None` keeps only early stopping.
        monitor: Quantity early stopping and the checkpoint watch.
        patience: Epochs without improvement before stopping; `None` disables.
        backup: `BackupAndRestore` in `run_dir/backup`: a killed `fit` started
            again with the same `run_dir` resumes from its last epoch.
        checkpoint: Save the best model to `run_dir/best.keras`.
        csv_log: Append each epoch's metrics to `run_dir/history.csv`.
        tensorboard: Write TensorBoard logs to `run_dir/tensorboard`.
    """
    callbacks = []
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                       restore_best_weights=True))
    if run_dir is None:
        return callbacks
    os.makedirs(run_dir, exist_ok=True)
    if backup:
        callbacks.append(keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup")))
    if checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(
            os.path.join(run_dir, "best.keras"), monitor=monitor, save_best_only=True))
    if csv_log:
        callbacks.append(keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"),
                                                   append=True))
    if tensorboard:
        try:
            import tensorboard  # noqa: F401  (Keras needs it to write summaries)
        except ImportError as err:
            raise ImportError("tensorboard=True needs TensorBoard: pip install tensorboard") from err
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")))
    return callbacks
