"""The callbacks every mmkeras training run uses, in one place."""

import json
import os
import time

import keras


class RunProgress(keras.callbacks.Callback):
    """Keeps each epoch's logs and the elapsed time on disk, so a resumed run reports it all.

    `BackupAndRestore` brings back the weights and the epoch after a crash,
    but the new `fit` returns a history of the post-restart epochs only.
    This callback writes `path` (JSON) after every epoch; when the next `fit`
    starts at epoch `k`, the first `k` records are the epochs already run.
    Put it before `BackupAndRestore` in the callback list: an epoch is then
    never in the backup without being in this record.

    Attributes (after `fit`):
        previous_history: `{metric: [values]}` of the epochs run before the restart.
        previous_seconds: Training seconds those epochs took.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.previous_history, self.previous_seconds = {}, 0.0
        self._records = []

    def on_train_begin(self, logs=None):
        self._records = []
        if os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as f:
                    self._records = list(json.load(f)["epochs"])
            except (OSError, ValueError, KeyError, TypeError):
                self._records = []  # unreadable: report this session's epochs only
        self._start = time.perf_counter()
        self._resumed_at = None

    def on_train_end(self, logs=None):
        if self._resumed_at is None:
            # Resumed after the last epoch (killed while finishing): no epoch ran now.
            self.on_epoch_begin(self.params.get("epochs", len(self._records)))

    def on_epoch_begin(self, epoch, logs=None):
        if self._resumed_at is None:
            # The first epoch of this fit: records from `epoch` on were not backed up.
            self._resumed_at = epoch
            self._records = [r for r in self._records if r["epoch"] < epoch]
            self.previous_seconds = self._records[-1]["elapsed"] if self._records else 0.0
            self.previous_history = {}
            for record in self._records:
                for key, value in record["logs"].items():
                    self.previous_history.setdefault(key, []).append(value)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = self.previous_seconds + time.perf_counter() - self._start
        values = {}
        for key, value in (logs or {}).items():
            try:
                values[key] = float(value)
            except (TypeError, ValueError):
                pass  # not a number (Keras logs are; other callbacks may add more)
        self._records.append({"epoch": int(epoch), "elapsed": elapsed, "logs": values})
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"epochs": self._records}, f)
        os.replace(tmp, self.path)


def standard_callbacks(run_dir=None, monitor="val_loss", patience=5, backup=True,
                       checkpoint=True, csv_log=True, tensorboard=False):
    """EarlyStopping (best weights), checkpoint, resume-after-kill, CSV log, TensorBoard.

    Args:
        run_dir: Folder for the run's files; `None` keeps only early stopping.
        monitor: Quantity early stopping and the checkpoint watch.
        patience: Epochs without improvement before stopping; `None` disables.
        backup: `BackupAndRestore` in `run_dir/backup`: a killed `fit` started
            again with the same `run_dir` resumes from its last epoch; with
            it `RunProgress`, so that `fit_model` reports the whole run.
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
        # RunProgress first: an epoch in the backup is always in its record.
        callbacks.append(RunProgress(os.path.join(run_dir, "backup", "progress.json")))
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
