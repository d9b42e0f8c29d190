"""The callbacks every mmkeras training run uses, in one place."""

import json
import os
import time

import keras
import numpy as np

from mmkeras.datasets.multimodal_dataset import Split
from mmkeras.datasets.pairs import directions, query_and_gallery
from mmkeras.evaluation.retrieval_metrics import retrieval_metrics
from mmkeras.tasks import embedding_model
from mmkeras.utils import validation


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


class RetrievalEarlyStopping(keras.callbacks.Callback):
    """Early stopping of a dual encoder on validation retrieval, keeping the best weights.

    After every epoch it embeds the validation pairs with the dual encoder's
    towers and ranks them both ways, as the retrieval study does (a
    modality whose items repeat within a group, like the name shared by an
    emoji's two pictures, is queried once per group;
    `mmkeras.datasets.pairs.query_and_gallery`). The score is

    `score = mean_d R@1_d + mrr_weight · mean_d MRR_d` over the two directions `d`

    (MRR smooths the steps of R@1 on a few hundred queries). Training stops
    after `patience` epochs without a better score; at the end of training
    the best epoch's weights are restored. The contrastive loss keeps
    falling long after retrieval of unseen items stops improving, so
    `EarlyStopping` on the loss would not select this epoch.

    Each epoch's validation recall@1 and score are added to the logs
    (`val_<a>_to_<b>_recall@1`, `val_retrieval_score`), so they are in the
    `History`.

    Args:
        x: `{modality: array}` validation pairs of the dual encoder's two modalities.
        groups: `(n,)` match groups of the pairs.
        patience: Epochs without improvement before stopping.
        mrr_weight: Weight of the mean MRR in the score (0: R@1 alone).
        min_delta: Smallest score gain that counts as an improvement.
        restore_best_weights: Restore the best epoch's weights at the end.
        verbose: Print one line per epoch.

    Attributes (after `fit`):
        best_epoch: The selected epoch (1-based).
        best_score: Its score.
        epochs_run: Epochs trained.
        history: One dict per epoch with its validation recall@1, MRR and score.

    Example:

    >>> from mmkeras.tasks import build_dual_encoder
    >>> enc = {"image": mmkeras.encoders.image_cnn(input_shape=(8, 8, 3), embedding_dim=4),
    ...        "text": mmkeras.encoders.text_bigru(sequence_length=3, vocab_size=9, units=2)}
    >>> model = build_dual_encoder(enc, embedding_dim=4)
    >>> x = {"image": np.random.rand(8, 8, 8, 3), "text": np.random.randint(1, 9, (8, 3))}
    >>> stop = RetrievalEarlyStopping(x, np.arange(8), patience=1)
    >>> _ = model.fit(x, np.arange(8), epochs=5, batch_size=4, callbacks=[stop], verbose=0)
    >>> 1 <= stop.best_epoch <= stop.epochs_run <= 5
    True
    """

    def __init__(self, x, groups, patience=10, mrr_weight=0.5, min_delta=0.0,
                 restore_best_weights=True, verbose=False):
        super().__init__()
        if not isinstance(x, dict) or len(x) != 2:
            raise ValueError("RetrievalEarlyStopping needs the validation pairs of two "
                             f"modalities. Received: {sorted(x) if isinstance(x, dict) else x!r}")
        groups = np.asarray(groups)
        if any(len(v) != len(groups) for v in x.values()):
            raise ValueError("Every validation pair needs both items and a group. Received: "
                             f"{ {m: len(v) for m, v in x.items()} } items and "
                             f"{len(groups)} groups")
        self.split = Split(dict(x), groups, np.arange(len(groups)))
        self.patience = validation.check_positive_int("patience", patience)
        self.mrr_weight = validation.check_float("mrr_weight", mrr_weight, minimum=0)
        self.min_delta = validation.check_float("min_delta", min_delta, minimum=0)
        self.restore_best_weights = validation.check_bool("restore_best_weights",
                                                          restore_best_weights)
        self.verbose = bool(verbose)

    def on_train_begin(self, logs=None):
        self.towers = {m: embedding_model(self.model, m) for m in self.split.x}
        self.queries = [(q, g, query_and_gallery(self.split, q, g))
                        for q, g in directions(self.split)]
        self.best_score, self.best_epoch, self.best_weights = -np.inf, 0, None
        self.epochs_run, self.history = 0, []

    def _metrics(self):
        embed = lambda m, v: keras.ops.convert_to_numpy(self.towers[m](v, training=False))
        out = {}
        for q, g, (qx, qg, gx, gg) in self.queries:
            scores = embed(q, qx[q]) @ embed(g, gx[g]).T
            out[f"{q}_to_{g}"] = retrieval_metrics(scores, qg, gg, ks=(1,))
        return out

    def on_epoch_end(self, epoch, logs=None):
        metrics = self._metrics()
        recall = float(np.mean([m["recall@1"] for m in metrics.values()]))
        mrr = float(np.mean([m["mrr"] for m in metrics.values()]))
        score = recall + self.mrr_weight * mrr
        record = {"epoch": epoch + 1, "recall@1": recall, "mrr": mrr, "score": score,
                  **{f"{d}_recall@1": m["recall@1"] for d, m in metrics.items()}}
        self.history.append(record)
        self.epochs_run = epoch + 1
        if logs is not None:
            logs.update({f"val_{d}_recall@1": m["recall@1"] for d, m in metrics.items()})
            logs["val_retrieval_score"] = score
        improved = score > self.best_score + self.min_delta
        if improved:
            self.best_score, self.best_epoch = score, epoch + 1
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        if self.verbose:
            parts = " ".join(f"{d} R@1 {m['recall@1']:.3f}" for d, m in metrics.items())
            print(f"epoch {epoch + 1}: val {parts}, MRR {mrr:.3f}{' *' if improved else ''}",
                  flush=True)
        if epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
