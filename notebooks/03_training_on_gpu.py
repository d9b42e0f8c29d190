# %% [markdown]
# # 3. Training on a GPU (and what to do without one)
#
# **Goal:** check the device, turn on mixed precision and a distribution strategy where they
# help, use a larger batch on a GPU, and train with the callbacks a long run needs: early
# stopping, checkpoints, resuming after an interruption, TensorBoard. Every epoch's time is
# printed with the device it ran on. On a CPU-only machine the notebook says so and runs the
# same code at a smaller size.
#
# Measured on a 2-core CPU (no GPU): about 1 min (51 s) at full size; `MMKERAS_SMOKE=1` takes
# about 15 s. No GPU was available to time it here.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"

# %%
import tempfile
import time
from pathlib import Path

import keras

import mmkeras
from mmkeras import datasets, encoders, training

summary = training.device_summary()
print(training.format_device_summary(summary))
ON_GPU = bool(summary["gpus"])
if not ON_GPU:
    print("No GPU here: the same code runs on the CPU, with a smaller batch and fewer epochs.")

# %%
BATCH_SIZE = 512 if ON_GPU else 64
EPOCHS = 1 if SMOKE else (30 if ON_GPU else 8)
TRAIN_SAMPLES = 300 if SMOKE else None

# %% [markdown]
# ## Mixed precision and a distribution strategy
#
# `"auto"` turns mixed float16 on only with a GPU (on a CPU float16 is emulated and slower).
# The builder keeps the last layer and the probabilities in float32 either way.
# `distribution_strategy("auto")` mirrors the model over all GPUs when there are several and
# is the plain one-device strategy otherwise.

# %%
policy = training.set_mixed_precision("auto")
strategy = training.distribution_strategy("auto")
print(f"precision policy: {policy}; strategy: {type(strategy).__name__} with "
      f"{strategy.num_replicas_in_sync} replica(s)")

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
# `standard_callbacks(run_dir)` gives early stopping with the best weights, a checkpoint of the
# best model, `BackupAndRestore` (a killed run started again with the same folder resumes from
# its last finished epoch), a CSV log and, on request, TensorBoard logs.

# %%
run_dir = Path(tempfile.mkdtemp(prefix="mmkeras-nb3-"))


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        device = "GPU" if ON_GPU else "CPU"
        print(f"epoch {epoch + 1}: {time.perf_counter() - self.start:.1f} s on {device}, "
              f"val_accuracy {logs['val_accuracy']:.3f}")


class Interrupt(keras.callbacks.Callback):
    """Stands in for a crash or Ctrl-C after the second epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated interruption")


callbacks = training.standard_callbacks(str(run_dir), patience=3, tensorboard=True)
try:
    model.fit(train_data, validation_data=validation_data, epochs=max(EPOCHS, 3), verbose=0,
              shuffle=False,  # the tf.data pipeline shuffles itself
              callbacks=callbacks + [EpochTimer(), Interrupt()])
except KeyboardInterrupt as err:
    print(f"interrupted: {err}; the backup in {run_dir / 'backup'} remembers epoch 2")

# %% [markdown]
# Start the same `fit` again with the same folder: it resumes at epoch 3 instead of starting
# over, because `BackupAndRestore` restored the weights, the optimizer and the epoch counter.

# %%
history, seconds, epochs_run = training.fit_model(
    model, train_data, validation_data, epochs=max(EPOCHS, 3), run_dir=str(run_dir),
    patience=3, tensorboard=True)
print(f"resumed and ran {epochs_run} more epoch(s) in {seconds:.0f} s")
print("files:", sorted(p.name for p in run_dir.iterdir()))
print(f"view the logs with:  tensorboard --logdir {run_dir / 'tensorboard'}")

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
# batches) does far less work for the same result. `fit_model` and `compare` do this by
# default for NumPy inputs (`bucketing=False` turns it off). The model's sequence input needs
# a `None` length: `sequence_lstm(input_shape=(None, 13))`, `text_bigru(sequence_length=None)`.

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
# The same model trained on each, one epoch to compile, then timed epochs:

# %%
def seconds_per_epoch(pipeline, epochs=1 if SMOKE else 2):
    training.seed_everything(0)
    model = mmkeras.build_model({"audio": encoders.sequence_lstm(input_shape=(None, 13))},
                                num_classes=ds.num_classes)
    # shuffle=False: a tf.data pipeline does its own shuffling (Keras warns otherwise)
    model.fit(pipeline, epochs=1, verbose=0, shuffle=False)  # compile and trace
    start = time.perf_counter()
    model.fit(pipeline, epochs=epochs, verbose=0, shuffle=False)
    return (time.perf_counter() - start) / epochs


times = {name: seconds_per_epoch(p) for name, p in [("padded", padded), ("bucketed", bucketed)]}
print(f"audio-only LSTM, {len(audio_only)} samples: padded {times['padded']:.2f} s per epoch, "
      f"bucketed {times['bucketed']:.2f} s ({times['padded'] / times['bucketed']:.1f}x faster)")

# %% [markdown]
# Predictions do not depend on the batch a sample lands in (the masks see to it;
# `tests/test_bucketing.py` checks it for recurrent, early and cross-attention models), so the
# results are the same up to the order of the training batches. For small models
# `build_model(..., steps_per_execution=4)` saves a little more: Keras runs 4 batches per call
# of the compiled step. `benchmarks/results/bucketing.md` has the measurements.
#
# ## More than one machine
#
# Keras 3's `fit` does not run under `MultiWorkerMirroredStrategy`; `training.train_multi_worker`
# is a custom training step that does, configured from `TF_CONFIG` on each machine (see its
# docstring; the test suite trains with two worker processes on 127.0.0.1).
#
# ## Summary
#
# The same few calls adapt to the hardware: `set_mixed_precision("auto")`,
# `distribution_strategy("auto")`, a batch size chosen from the device; the callbacks make a
# long run safe to interrupt. On a CPU, batches at their own length (`bucketing=True`) spare
# the recurrent encoders the padding.
#
# ## Exercises
#
# 1. Set the policy to `"mixed_bfloat16"` on the CPU and time an epoch. Faster or slower?
# 2. Remove the `Interrupt` callback and delete `run_dir`: how many epochs does early
#    stopping keep?
# 3. Read `history.csv` in `run_dir` with pandas and plot the validation loss.
# 4. Time the bucketed and padded pipelines with the concat model (image + audio). Why is the
#    gain smaller than for the audio-only model?
