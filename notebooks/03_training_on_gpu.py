# %% [markdown]
# # 3. Training on a GPU (and what to do without one)
#
# **Goal:** check the device, turn on mixed precision and a distribution strategy where they
# help, choose the batch size from the device, and write the Keras callbacks a long run needs
# — early stopping, a checkpoint of the best model, resuming after an interruption, a CSV
# log, TensorBoard. Then cut the padding out of sequence batches (bucketing) and measure the
# gain.
#
# **Prerequisites:** notebook 2 (datasets and `tf.data` pipelines); Keras `compile` / `fit`
# and what an epoch, a batch and a validation loss are.
#
# **Time:** about 3 min (166 s) at full size on a 2-core CPU with nothing else running, no
# GPU; `MMKERAS_SMOKE=1` 42 s. The outputs below come from that CPU: with a GPU the
# same cells use a batch of 512, 30 epochs and mixed float16, and print what they ran on.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"

# %%
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

import mmkeras
from mmkeras import datasets, encoders, training

summary = training.device_summary()
print(training.format_device_summary(summary))
ON_GPU = bool(summary["gpus"])
if not ON_GPU:
    print("No GPU here: the same code runs on the CPU, with a smaller batch and fewer "
          "epochs.")

# %%
BATCH_SIZE = 512 if ON_GPU else 64
EPOCHS = 1 if SMOKE else (30 if ON_GPU else 8)
TRAIN_SAMPLES = 300 if SMOKE else None

# %% [markdown]
# ## Mixed precision and a distribution strategy
#
# Mixed precision computes in float16 and keeps the weights in float32; in Keras it is one
# global setting, `keras.mixed_precision.set_global_policy("mixed_float16")`. It pays off on
# a GPU only (a CPU has no fast float16 arithmetic: it emulates it, usually more slowly), so
# `training.set_mixed_precision("auto")` sets `"mixed_float16"` with a GPU and `"float32"`
# without. The builder keeps the last layer and the probabilities in float32 either way.
#
# A distribution strategy decides where the model's variables live. With several GPUs,
# `tf.distribute.MirroredStrategy()` copies the model onto each and splits every batch
# between them; with one device, TensorFlow's default strategy does nothing special.
# `distribution_strategy("auto")` picks between the two; build the model inside
# `with strategy.scope():`.

# %%
policy = training.set_mixed_precision("auto")
strategy = training.distribution_strategy("auto")
kind = ("MirroredStrategy" if isinstance(strategy, tf.distribute.MirroredStrategy)
        else "the default one-device strategy")
print(f"precision policy: {keras.mixed_precision.global_policy().name}; strategy: {kind} "
      f"with {strategy.num_replicas_in_sync} replica(s)")

# %%
ds = datasets.load("av_digits")
train = ds.train if TRAIN_SAMPLES is None else ds.train.take(TRAIN_SAMPLES)
train_data = datasets.to_tf_dataset(train, batch_size=BATCH_SIZE, shuffle=True)
validation_data = datasets.to_tf_dataset(ds.validation, batch_size=BATCH_SIZE)

training.seed_everything(0)
with strategy.scope():
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1)),
         "audio": encoders.sequence_lstm(input_shape=(None, 13))},
        fusion="concat", num_classes=ds.num_classes, dropout=0.2)

# %% [markdown]
# ## Callbacks for a long run
#
# A Keras callback is an object whose methods `fit` calls at fixed moments (the start and end
# of each epoch, of each batch, of training). Five of Keras' own make a long run safe:
#
# - `EarlyStopping` stops when the validation loss has not improved for `patience` epochs, and
#   puts the best epoch's weights back;
# - `ModelCheckpoint` saves the best model so far to a `.keras` file;
# - `BackupAndRestore` saves the weights, the optimizer and the epoch counter after every
#   epoch: a run killed and started again with the same folder resumes where it stopped;
# - `CSVLogger` appends each epoch's metrics to a CSV file;
# - `TensorBoard` writes logs for the TensorBoard viewer.
#
# We add two of our own: one times each epoch and prints the time and device (the timing
# cells below reuse it), the other raises `KeyboardInterrupt` after the second epoch,
# standing in for a crash or Ctrl-C.

# %%
run_dir = Path(tempfile.mkdtemp(prefix="mmkeras-nb3-"))
callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
    keras.callbacks.ModelCheckpoint(run_dir / "best.keras", monitor="val_loss",
                                    save_best_only=True),
    keras.callbacks.BackupAndRestore(run_dir / "backup"),
    keras.callbacks.CSVLogger(run_dir / "history.csv", append=True),
    keras.callbacks.TensorBoard(run_dir / "tensorboard"),
]


class EpochTimer(keras.callbacks.Callback):
    """Keeps each epoch's wall time in `self.seconds`; prints it with the validation scores
    unless `report=False`."""

    def __init__(self, report=True):
        super().__init__()
        self.report = report

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        if self.report:
            device = "GPU" if ON_GPU else "CPU"
            print(f"epoch {epoch + 1}: {self.seconds[-1]:.1f} s on {device}, "
                  f"val_loss {logs['val_loss']:.3f}, val_accuracy {logs['val_accuracy']:.3f}")


class Interrupt(keras.callbacks.Callback):
    """Stands in for a crash or Ctrl-C after the second epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated interruption")


try:
    model.fit(train_data, validation_data=validation_data, epochs=max(EPOCHS, 3), verbose=0,
              shuffle=False,  # the pipeline shuffles; Keras warns if fit is asked to
              callbacks=callbacks + [EpochTimer(), Interrupt()])
except KeyboardInterrupt as err:
    print(f"interrupted: {err}; the backup folder remembers the 2 finished epochs")

# %% [markdown]
# Start the same `fit` again, with the same callbacks and folder (and without the
# interruption): `BackupAndRestore` restores the weights, the optimizer and the epoch counter,
# so the run goes on at epoch 3 instead of starting over. It stops at `EPOCHS` or earlier, if
# early stopping fires.

# %%
history = model.fit(train_data, validation_data=validation_data, epochs=max(EPOCHS, 3),
                    verbose=0, shuffle=False, callbacks=callbacks + [EpochTimer()])
resumed = [epoch + 1 for epoch in history.epoch]
print(f"this call ran epochs {resumed[0]} to {resumed[-1]} ({len(resumed)} epochs)")
print("files:", sorted(p.name for p in run_dir.iterdir()))
print(pd.read_csv(run_dir / "history.csv")[["epoch", "loss", "val_loss"]].round(3)
      .to_string(index=False))

# %% [markdown]
# The CSV log holds all the epochs, those before the interruption and after (Keras counts
# them from 0). The `backup` folder is gone from the list: `BackupAndRestore` deletes it when
# `fit` ends normally, so it only outlives an interrupted run. To watch a run live, point
# TensorBoard at the `tensorboard` folder: `tensorboard --logdir <run_dir>/tensorboard`.
#
# `training.standard_callbacks(run_dir)` returns a list like this one, with two differences
# in its defaults: `EarlyStopping` waits 5 epochs (`patience=5`), and there is no
# `TensorBoard` unless `tensorboard=True`. Besides `ModelCheckpoint`, `BackupAndRestore` and
# `CSVLogger` it holds one more callback, which records the run's progress.
# `training.fit_model(model, train, validation, run_dir=...)` trains with it and reports the
# whole run, the epochs before a restart included.
#
# The checkpoint reloads as a complete model. We also set the global precision policy back to
# float32: it is a global setting, so on a GPU (where `"auto"` chose mixed float16) every
# model built later in this session would otherwise be mixed precision too.

# %%
test = ds.test
best = keras.models.load_model(run_dir / "best.keras", safe_mode=True)
training.set_mixed_precision("float32")
print(f"best checkpoint, test accuracy {best.evaluate(test.x, test.y, verbose=0)[1]:.3f}")

# %% [markdown]
# ## Sequences at their own length: bucketed batches
#
# The spoken digits have 6 to 92 MFCC frames (median 17), stored padded to 92. The mask keeps
# the LSTM's answer right, but it still computes all 92 steps of every sample. Batching
# samples of similar length together and cutting each batch to its own longest sample
# (`to_tf_dataset(..., bucketing=True)`: shuffle, sort into length buckets, batch, shuffle the
# batches) does far less work. `fit_model` and `compare` do this by default for NumPy inputs
# (`bucketing=False` turns it off). The model's sequence input needs a `None` length:
# `sequence_lstm(input_shape=(None, 13))`, `text_bigru(sequence_length=None)`.

# %%
audio_only = train.select("audio")
padded = datasets.to_tf_dataset(audio_only, batch_size=64, shuffle=True, seed=0)
bucketed = datasets.to_tf_dataset(audio_only, batch_size=64, shuffle=True, seed=0,
                                  bucketing=True)
for name, pipeline in [("padded to the maximum", padded), ("bucketed", bucketed)]:
    widths = [int(x["audio"].shape[1]) for x, _ in pipeline]
    print(f"{name:>22}: {len(widths)} batches, frames per batch {widths[:8]} ..., "
          f"{sum(widths) / len(widths):.1f} on average")

# %% [markdown]
# The same model trained on each: one epoch to compile and trace, then five timed epochs, of
# which we keep the median. A single epoch's time varies on a shared CPU (the operating
# system, other processes, other virtual machines on the host); one slow epoch does not move
# the median of five. Several slow epochs in a row still do: executed again, this notebook's
# timings move, so compare the times printed by one cell, not across cells or runs.

# %%
def seconds_per_epoch(model, pipeline, epochs=1 if SMOKE else 5):
    """The median time of `epochs` epochs, after one that compiles and traces the model."""
    model.fit(pipeline, epochs=1, verbose=0, shuffle=False)
    timer = EpochTimer(report=False)  # the callback of the training cells above
    model.fit(pipeline, epochs=epochs, verbose=0, shuffle=False, callbacks=[timer])
    return float(np.median(timer.seconds))


def audio_model():
    training.seed_everything(0)
    return mmkeras.build_model({"audio": encoders.sequence_lstm(input_shape=(None, 13))},
                               num_classes=ds.num_classes)


times = {name: seconds_per_epoch(audio_model(), pipeline)
         for name, pipeline in [("padded", padded), ("bucketed", bucketed)]}
speed_up = times["padded"] / times["bucketed"]
print(f"audio-only LSTM, {len(audio_only)} samples: padded {times['padded']:.2f} s per "
      f"epoch, bucketed {times['bucketed']:.2f} s ({speed_up:.1f}x faster)")

# %% [markdown]
# A trained model's predictions do not depend on the batch a sample lands in (the masks see
# to it; mmkeras's test suite checks it for recurrent, early and cross-attention models).
# Training is another matter: bucketing changes which samples share a batch, not only the
# order of the batches, so the gradient steps differ and so does the trained model. For small
# models `build_model(..., steps_per_execution=4)` can save a little more (not timed here):
# Keras runs 4 batches per call of the compiled step.
#
# ## More than one machine
#
# Keras 3's `fit` does not run under `MultiWorkerMirroredStrategy`;
# `training.train_multi_worker` is a custom training step that does, configured from
# `TF_CONFIG` on each machine (see its docstring; the test suite trains with two worker
# processes on 127.0.0.1).
#
# ## Summary
#
# - On this CPU, `set_mixed_precision("auto")` kept float32 and
#   `distribution_strategy("auto")` the default one-device strategy; with a GPU the first
#   switches to mixed float16, and with several GPUs the second to a `MirroredStrategy`.
# - Five Keras callbacks make a long run safe; after the simulated interruption at epoch 2,
#   `fit` with the same `BackupAndRestore` folder went on at epoch 3, and the CSV log holds
#   the epochs of both calls.
# - Batches cut to their own longest sequence (`bucketing=True`) spare the recurrent encoder
#   the padding: the audio-only LSTM ran its epochs 2.6 times faster here.
#
# ## Exercises
#
# 1. Set the policy to `"mixed_bfloat16"` on the CPU and time an epoch. Faster or slower?
# 2. Train a fresh model with the callbacks of a fresh folder and no `Interrupt`: how many
#    epochs does early stopping let it run?
# 3. Read `history.csv` in `run_dir` with pandas and plot the training and validation loss.
# 4. Time the bucketed and padded pipelines with the concat model (image + audio). Why is the
#    speed-up (padded time / bucketed time) smaller than for the audio-only model?
#
# ## Solutions
#
# The solutions are collapsed below: click a cell to expand it.

# %% tags=["solution"]
# Exercise 1: mixed_bfloat16 on the CPU
for name in ["float32", "mixed_bfloat16"]:
    training.set_mixed_precision(name)
    print(f"{name}: {seconds_per_epoch(audio_model(), bucketed):.2f} s per epoch")
policy = training.set_mixed_precision("float32")  # back to the default for the next cells
# Here bfloat16 was slower than float32 (1.17 s against 0.60 s): this CPU has no bfloat16
# instructions, so it is emulated. It pays on GPUs and TPUs. Even as medians of five
# epochs, two timings of the same model and pipeline differ: the float32 epoch here took
# 0.60 s, the timing cell's bucketed one 0.76 s. Compare timings made one after the other
# in the same cell.

# %% tags=["solution"]
# Exercise 2: early stopping without the interruption
fresh_dir = Path(tempfile.mkdtemp(prefix="mmkeras-nb3-fresh-"))
training.seed_everything(0)
fresh = mmkeras.build_model(
    {"image": encoders.image_cnn(input_shape=(28, 28, 1)),
     "audio": encoders.sequence_lstm(input_shape=(None, 13))},
    fusion="concat", num_classes=ds.num_classes, dropout=0.2)
run = fresh.fit(train_data, validation_data=validation_data, epochs=EPOCHS, verbose=0,
                shuffle=False,
                callbacks=[keras.callbacks.EarlyStopping(patience=3,
                                                         restore_best_weights=True),
                           keras.callbacks.BackupAndRestore(fresh_dir / "backup")])
print(f"ran {len(run.epoch)} of {EPOCHS} epochs")
# Early stopping ends the run only after 3 epochs without a lower validation loss. Here the
# run reached the cap of `EPOCHS` (8 on this CPU), so early stopping did not shorten it.

# %% tags=["solution"]
# Exercise 3: plot history.csv
log = pd.read_csv(run_dir / "history.csv")
axes = log.plot(x="epoch", y=["loss", "val_loss"], marker="o", figsize=(4, 2.5))
print(log[["epoch", "loss", "val_loss"]].round(3).to_string(index=False))

# %% tags=["solution"]
# Exercise 4: bucketing with the image + audio concat model
both = {name: datasets.to_tf_dataset(train, batch_size=64, shuffle=True, seed=0,
                                     bucketing=name == "bucketed")
        for name in ["padded", "bucketed"]}
for name, pipeline in both.items():
    training.seed_everything(0)
    concat = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1)),
         "audio": encoders.sequence_lstm(input_shape=(None, 13))},
        fusion="concat", num_classes=ds.num_classes)
    print(f"{name}: {seconds_per_epoch(concat, pipeline):.2f} s per epoch")
# Bucketing shortens only the audio sequences; the image CNN costs the same in both, so the
# speed-up is smaller: 2.4 times here (5.01 / 2.13 s), against 2.6 times for the audio-only
# model. The seconds saved, 2.9 here against 1.2 for the audio-only model, should be about
# equal (the same audio encoder, the same padding removed), but the padded concat epoch is
# the timing that moves most on this CPU: 3.1 to 5.1 s in five executions of this notebook
# on the same machine.
