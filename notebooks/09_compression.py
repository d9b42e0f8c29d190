# %% [markdown]
# # 9. Smaller and deployable: quantisation, pruning, distillation
#
# **Goal:** take the largest fusion on `av_digits`, one of the leaders of the full comparison
# (cross-attention over an image CNN and an LSTM on the audio), and make it smaller three ways, the ways the source articles put side by
# side: convert it to TFLite — LSTM included — at float32, dynamic-range, float16 and int8;
# prune 75 % of its weights while fine-tuning; and distil it into a small convolutional
# student, multimodal and audio-only. Each time: size, latency, accuracy.
#
# The full study, on `av_digits` and `emoji` with the articles' Conv2D+LSTM classifier too, is
# `scripts/compression_study.py` (it writes its tables and figure to `results/compression/`).
# Measured on the 2-core CPU shared with other jobs (no GPU): about 2.5 min (160 s) at full size
# (three models trained on av_digits, five unrolled conversions); `MMKERAS_SMOKE=1` took
# 1 min 40 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 10
TRAIN_LIMIT = 300 if SMOKE else None
# Smoke mode also keeps 30 of the 92 audio frames and 60 test samples: converting an unrolled
# LSTM takes time in proportion to its length.
FRAMES = 30 if SMOKE else None
TEST_LIMIT = 60 if SMOKE else None

# %%
import gzip
import time

import keras
import numpy as np
import pandas as pd

import mmkeras
from mmkeras import datasets, deploy, encoders, training

data = datasets.load("av_digits")
print(data)


class Part:
    """A split's inputs and labels (the audio cut to FRAMES in smoke mode)."""

    def __init__(self, split, limit=None):
        split = split if limit is None else split.take(limit)
        self.x = {**split.x, "audio": split.x["audio"][:, :FRAMES]}
        self.y = split.y

    def take(self, n):
        part = Part.__new__(Part)
        part.x, part.y = {k: v[:n] for k, v in self.x.items()}, self.y[:n]
        return part


train = Part(data.train, TRAIN_LIMIT)
validation, test = Part(data.validation), Part(data.test, TEST_LIMIT)


def fit(model, x_keys=None, epochs=EPOCHS, **kwargs):
    keys = x_keys or list(train.x)
    stop = keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=3,
                                         restore_best_weights=True)
    model.fit({k: train.x[k] for k in keys}, train.y, batch_size=64, epochs=epochs, verbose=0,
              validation_data=({k: validation.x[k] for k in keys}, validation.y),
              callbacks=[stop], **kwargs)
    return model


def accuracy(probabilities):
    return float(np.mean(probabilities.argmax(-1) == test.y))


# %% [markdown]
# ## The model to ship
#
# The same encoders as the README's comparison; the audio input has `None` steps (any length).

# %%
training.seed_everything(0)
teacher = mmkeras.build_model(
    {"image": encoders.image_cnn(input_shape=(28, 28, 1)),
     "audio": encoders.sequence_lstm(input_shape=(None, 13))},
    fusion="cross_attention", num_classes=data.num_classes, dropout=0.2)
start = time.perf_counter()
fit(teacher)
keras_probabilities = teacher.predict(test.x, verbose=0)
print(f"trained in {time.perf_counter() - start:.0f} s; test accuracy "
      f"{accuracy(keras_probabilities):.3f}; {teacher.count_params():,} parameters")

# %% [markdown]
# ## TFLite, LSTM included
#
# An LSTM needs TensorFlow's TensorList ops, which builtin TFLite lacks. `deploy.convert`
# rebuilds the model with `unroll=True` at a fixed length (here the data's 92 frames, taken
# from the representative data; longer inputs are cut and shorter ones padded by the runner), copies the weights, exports a SavedModel and converts it with
# builtin ops only. `deploy.deployment_path` says which way a model goes.

# %%
print("recurrent layers:", deploy.recurrent_layers(teacher), "→", deploy.deployment_path(teacher))
calibration = train.take(20 if SMOKE else 200).x  # int8 calibrates on training samples, never on test ones
rows = [{"variant": "Keras float32", "KB": None, "latency ms": 1000 * training.predict_latency(
    teacher, test.x), "accuracy": accuracy(keras_probabilities), "agreement": 1.0}]
contents = {}
for mode in deploy.QUANTIZATIONS:
    content = contents[mode] = deploy.convert(teacher, mode, representative_data=calibration)
    runner = deploy.TFLiteClassifier(content)  # LiteRT's interpreter
    probabilities = runner.predict(test.x)
    rows.append({"variant": f"TFLite {mode}", "KB": len(content) / 1024,
                 "latency ms": 1000 * runner.latency(test.x, repeats=20),
                 "accuracy": accuracy(probabilities),
                 "agreement": float(np.mean(probabilities.argmax(-1)
                                            == keras_probabilities.argmax(-1)))})
pd.DataFrame(rows).round(3)

# %% [markdown]
# Read the sizes with the export path in mind. The unrolled graph repeats the LSTM cell's
# operations once per step (92 times), and those operations and their intermediate tensors
# weigh more than the weights themselves: dynamic-range and float16 shrink only the weights'
# share. Full-integer int8 adds quantisation parameters to every step's tensors, so here it
# is *larger* than float32 (its latency is in the table above). A convolutional audio encoder
# (`sequence_conv1d`) takes the builtin path and avoids the overhead
# (`results/compression/export_paths.csv`).
#
# ## Pruning to 75 %
#
# `MagnitudePruning` zeroes the smallest |w| of every kernel, following a polynomial schedule
# to the target during fine-tuning, and re-applies the masks after each batch.
# `strip_pruning` returns a plain model (it saves and loads in safe mode). Zeros do not make a
# dense file smaller; they make it compress.

# %%
pruned = keras.models.clone_model(teacher)
pruned.set_weights(teacher.get_weights())
pruned.compile(optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy",
               metrics=["accuracy"])
steps = int(np.ceil(len(train.y) / 64))
pruning = deploy.MagnitudePruning(deploy.PolynomialSparsity(0.75, end_step=2 * steps))
pruned.fit(train.x, train.y, batch_size=64, epochs=1 if SMOKE else 3, verbose=0,
           callbacks=[pruning])
pruned = deploy.strip_pruning(pruned)
pruned_content = deploy.convert(pruned, representative_data=calibration)
pd.DataFrame([
    {"model": name, "sparsity": np.mean(list(deploy.sparsity(model).values())),
     "gzip weights KB": deploy.gzipped_size(model) / 1024,
     "gzip TFLite KB": len(gzip.compress(content)) / 1024,
     "accuracy": accuracy(model.predict(test.x, verbose=0))}
    for name, model, content in (("cross_attention", teacher, contents["float32"]),
                                 ("pruned 75 %", pruned, pruned_content))]).round(3)

# %% [markdown]
# ## Distillation
#
# A `Distiller` trains a student on `α · CE(labels) + (1 − α) · T² · KL(teacher_T ‖ student_T)`
# (keras-io's recipe, α = 0.1, T = 3). The student here is a concat fusion of narrow
# convolutional encoders — a fraction of the teacher's parameters, and no LSTM to unroll. The
# same student trained from the labels alone is the baseline; an audio-only student learns
# from the two-modality teacher through the same `Distiller` (each model gets the inputs it
# names).

# %%
def student(modalities):
    training.seed_everything(0)
    parts = {"image": lambda: encoders.image_cnn(input_shape=(28, 28, 1), filters=(8, 16),
                                                 embedding_dim=16),
             "audio": lambda: encoders.sequence_conv1d(input_shape=(None, 13), filters=(16, 16))}
    return mmkeras.build_model({m: parts[m]() for m in modalities}, fusion="concat",
                               num_classes=data.num_classes, dropout=0.2)


results = []
for modalities in (["image", "audio"], ["audio"]):
    alone = fit(student(modalities), x_keys=modalities)
    distilled = student(modalities)
    distiller = deploy.Distiller(distilled, teacher, alpha=0.1, temperature=3.0)
    distiller.compile(optimizer="adam", metrics=["accuracy"])
    fit(distiller)
    x_test = {m: test.x[m] for m in modalities}
    for how, model in (("labels only", alone), ("distilled", distilled)):
        results.append({"student": "+".join(modalities), "trained on": how,
                        "parameters": model.count_params(),
                        "accuracy": accuracy(model.predict(x_test, verbose=0))})
pd.DataFrame(results).round(3)

# %% [markdown]
# One seed in a notebook is an anecdote: `scripts/compression_study.py` repeats each student
# over two seeds on both datasets, which is what a verdict on distillation needs.
#
# ## Summary
#
# - Every mmkeras model converts to TFLite: recurrent layers are unrolled at a fixed length
#   (`deploy.convert` does it, `deploy.deployment_path` tells you), and the converted model
#   agrees with Keras. Unrolling costs file size and makes int8 a poor choice for LSTMs.
# - Dynamic-range and float16 quantisation shrink the weights 4× and 2×; compare their accuracy
#   with float32's above. int8 needs a representative dataset from the training split.
# - Magnitude pruning works on Keras 3 models with a callback; its gain shows after
#   compression, not in the dense file.
# - A `Distiller` trains a small or unimodal student from a fusion teacher.
#
# ## Exercises
#
# 1. Swap the teacher's audio encoder for `encoders.sequence_conv1d` and convert again: how
#    do the four TFLite sizes change, and why?
# 2. Prune to 90 % instead of 75 %. Where does the accuracy break?
# 3. Distil with `alpha=0.5` and with `temperature=1`. Which setting helps the audio-only
#    student most? Repeat over three seeds before you believe it.
