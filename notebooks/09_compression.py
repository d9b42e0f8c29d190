# %% [markdown]
# # 9. Smaller and deployable: quantisation, pruning, distillation
#
# **Goal:** take the largest fusion on `av_digits` (cross-attention over an image CNN and an
# LSTM on the audio) and make it smaller three ways: convert it to TFLite — LSTM included —
# at float32, dynamic-range, float16 and int8 and see what sets each file's size; prune 75 %
# of its weights while fine-tuning and measure what that buys after compression; and distil
# it into small convolutional students (multimodal and audio-only), with the loss written
# out. Each time: size and accuracy, and for Keras and the four TFLite files latency too.
#
# **Prerequisites:** notebook 7 (SavedModel export, the TFLite converter and interpreter);
# notebook 5 (the fusions); softmax and cross-entropy.
#
# **Time:** about 7 min (419 s) at full size on a 2-core CPU, no GPU, nothing else running;
# `MMKERAS_SMOKE=1` 65 s (two of the four quantisations and one student; it still
# converts three unrolled LSTM models).
#
# mmkeras starts from five Chinese articles on multimodal models (see
# [the articles](https://mmkeras.github.io/mmkeras/articles/)); they set quantisation, pruning
# and distillation side by side as the ways to make a model small, and this lesson measures
# all three. A larger study of the same (two datasets, two seeds for the students) is on the
# docs site's "Results" page (`results/compression/compression.md`); its numbers are quoted
# below where a conclusion needs more than one run.

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
from types import SimpleNamespace

import keras
import numpy as np
import pandas as pd
from keras import ops

pd.set_option("display.width", 120)

import mmkeras
from mmkeras import datasets, deploy, encoders, training

data = datasets.load("av_digits")
print(data)


def part(split, limit=None):
    """A split's inputs and labels as arrays (the audio cut to FRAMES in smoke mode)."""
    split = split if limit is None else split.take(limit)
    return SimpleNamespace(x={**split.x, "audio": split.x["audio"][:, :FRAMES]}, y=split.y)


train = part(data.train, TRAIN_LIMIT)
validation, test = part(data.validation), part(data.test, TEST_LIMIT)


def fit(model, x_keys=None, epochs=EPOCHS):
    keys = x_keys or list(train.x)
    stop = keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=3,
                                         restore_best_weights=True)
    model.fit({k: train.x[k] for k in keys}, train.y, batch_size=64, epochs=epochs, verbose=0,
              validation_data=({k: validation.x[k] for k in keys}, validation.y),
              callbacks=[stop])
    return model


def accuracy(probabilities):
    return float(np.mean(probabilities.argmax(-1) == test.y))


def weights_kb(model):
    """The weights alone: parameters × 4 bytes (float32)."""
    return model.count_params() * 4 / 1000


# %% [markdown]
# ## The model to ship
#
# The encoders of notebook 5's comparison; the audio input has `None` steps (any length).

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
      f"{accuracy(keras_probabilities):.3f}; {teacher.count_params():,} parameters "
      f"= {weights_kb(teacher):,.0f} KB of float32 weights")

# %% [markdown]
# ## TFLite, LSTM included
#
# An LSTM needs TensorFlow's TensorList ops, which builtin TFLite lacks. `deploy.convert`
# rebuilds the model with `unroll=True` at a fixed length (here the data's 92 frames, taken
# from the representative data; the runner cuts longer inputs and pads shorter ones), copies
# the weights, exports a SavedModel and converts it with builtin ops only.
# `deploy.deployment_path` says which way a model goes. The four quantisations are four
# settings of the converter of notebook 7:
#
# ```python
# converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
# # "float32": nothing more
# converter.optimizations = [tf.lite.Optimize.DEFAULT]         # "dynamic": int8 weights
# converter.target_spec.supported_types = [tf.float16]         # "float16": + this line
# converter.representative_dataset = calibration_samples       # "int8": int8 weights AND
# converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # activations
# content = converter.convert()
# ```
#
# Full-integer int8 also computes in int8, so it must know the range of every activation: it
# runs the model on a few *training* samples (calibration) to measure them. The Keras row's
# size is its weights alone.

# %%
print("recurrent layers:", deploy.recurrent_layers(teacher), "→", deploy.deployment_path(teacher))
# int8 calibrates on these: `deploy.convert` uses up to 100 (its num_calibration).
calibration = {k: v[:20 if SMOKE else 100] for k, v in train.x.items()}  # never test samples
# Keras: the median of 20 one-sample `predict_on_batch` calls (`predict_latency`'s default).
rows = [{"variant": "Keras float32 (weights)", "KB": weights_kb(teacher),
         "latency ms": 1000 * training.predict_latency(teacher, test.x),
         "accuracy": accuracy(keras_probabilities), "agreement": 1.0}]
contents = {}
for mode in (["float32", "int8"] if SMOKE else deploy.QUANTIZATIONS):
    content = contents[mode] = deploy.convert(teacher, mode, representative_data=calibration)
    runner = deploy.TFLiteClassifier(content)  # LiteRT's interpreter
    probabilities = runner.predict(test.x)
    rows.append({"variant": f"TFLite {mode}", "KB": len(content) / 1000,
                 # TFLite: the median of 200 one-sample interpreter calls (20 in smoke mode).
                 "latency ms": 1000 * runner.latency(test.x, repeats=20 if SMOKE else 200),
                 "accuracy": accuracy(probabilities),
                 "agreement": float(np.mean(probabilities.argmax(-1)
                                            == keras_probabilities.argmax(-1)))})
sizes = pd.DataFrame(rows).round(3)
sizes["KB"] = sizes["KB"].round().astype(int)
sizes

# %% [markdown]
# "agreement" is the share of test samples on which the converted model predicts the same
# class as Keras. The float32, dynamic-range and float16 files agree with Keras on all 300
# test samples (1.000), so they keep its 0.783; full-integer int8 disagrees on 47 of them
# (0.843) and falls to 0.747. Keras is the slowest per sample: the TFLite float32 file runs
# the same model in 1.684 ms, so most of Keras' 8.215 ms is the fixed cost of each
# `predict_on_batch` call (Keras' and TensorFlow's work around the arithmetic), which one
# sample cannot spread. Read the sizes with the export path in mind:
#
# - The float32 file is much larger than the weights: the unrolled graph repeats the LSTM
#   cell's operations once per step (92 times), and those operations and their intermediate
#   tensors weigh more than the weights. Dynamic-range (int8) and float16 shrink only the
#   weights' share, so the files shrink far less than 4× and 2×.
# - Full-integer int8 adds quantisation parameters (scale and zero point) to every step's
#   tensors, so here it is *larger* than float32; rounding every activation to 8 bits also
#   costs the most agreement with Keras. It is also the slowest of the TFLite files:
#   `TFLiteClassifier` runs full-integer models on TFLite's plain kernels, without the XNNPACK
#   accelerator (which fails to prepare these int8 LSTM graphs), while the float models use
#   XNNPACK.
# - A convolutional audio encoder (`sequence_conv1d`) converts without unrolling: then the
#   file is about the weights, float16 about half of that, dynamic and int8 about a third
#   (exercise 1). The study's
#   table of every encoder's export path ("Results" page) shows the same: `sequence_lstm`
#   354 KB of graph for 116 KB of weights, `sequence_conv1d` 5 KB for 134 KB.
#
# ## Pruning to 75 %
#
# Magnitude pruning zeroes the smallest |w| of every kernel while fine-tuning, so that the
# other weights adapt. `deploy.MagnitudePruning` is a Keras callback: it raises the sparsity
# along a polynomial schedule to the target, recomputes each kernel's mask every few steps
# and re-applies the masks after every batch. The mask is one line (`magnitude_mask` does it
# in `keras.ops`):

# %%
from mmkeras.deploy.pruning import magnitude_mask

kernel = np.array([[0.3, -0.05, 0.8], [-0.6, 0.01, -0.2]], "float32")
keep = kernel.size - round(0.5 * kernel.size)             # 50 % sparsity: keep the 3 largest
threshold = np.sort(np.abs(kernel).ravel())[-keep]
print("mask by hand:", (np.abs(kernel) >= threshold).astype(int).tolist())
print("magnitude_mask:", ops.convert_to_numpy(magnitude_mask(kernel, 0.5)).astype(int).tolist())

# %% [markdown]
# Fine-tune a copy of the teacher with the callback, then `strip_pruning` returns a plain
# model. Zeros do not make a dense file smaller; they make it compress. So we compare gzip
# sizes — of the weights alone (the float32 arrays, gzipped) and of the TFLite file.
#
# (Why not gzip the `.weights.h5` file? It also holds the optimizer's state: Adam's moments
# for the trained teacher, none for the stripped copy, which would make the pruned model look
# several times smaller than pruning made it. So the cell below gzips the weights alone, as
# `deploy.gzipped_size` does, in bytes.)

# %%
def gzip_weights_kb(model):
    """The model's weights as float32 bytes, gzipped (no optimizer state, no file format)."""
    raw = b"".join(np.asarray(w, "float32").tobytes() for w in model.get_weights())
    return len(gzip.compress(raw, compresslevel=9)) / 1000


# The Distiller below freezes the teacher, and a clone of a frozen model stays frozen, which
# `MagnitudePruning` refuses (no trainable weights to prune): unfrozen here, this cell can be
# run again after the distillation.
teacher.trainable = True
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
pruned_probabilities = pruned.predict(test.x, verbose=0)
pd.DataFrame([
    {"model": name, "sparsity": np.mean(list(deploy.sparsity(model).values())),
     "weights KB": weights_kb(model), "gzip weights KB": gzip_weights_kb(model),
     "gzip TFLite KB": len(gzip.compress(content)) / 1000,
     "accuracy": accuracy(probabilities)}
    for name, model, content, probabilities in (
        ("cross_attention", teacher, contents["float32"], keras_probabilities),
        ("pruned 75 %", pruned, pruned_content, pruned_probabilities))]).round(
    {"sparsity": 3, "accuracy": 3, "weights KB": 0, "gzip weights KB": 0, "gzip TFLite KB": 0})

# %% [markdown]
# The dense sizes do not change; gzip shrinks the pruned weights to about a third and the
# pruned TFLite file to about half (its unrolled graph does not compress as well). The table
# shows what that cost in accuracy in this run; the study's sweep (two datasets) puts the
# breaking point between 75 % and 90 % on this model: 0.827 at 50 %, 0.760 at 75 %, 0.467 at
# 90 % (one run each).
#
# ## Distillation
#
# A `Distiller` trains a student on the labels *and* on the teacher's probabilities, softened
# by a temperature T (Hinton et al., 2015): with α = 0.1 and T = 3 (keras.io's recipe),
#
# loss = α · CE(y, p_student) + (1 − α) · T² · KL(softmax(z_teacher / T) ‖ softmax(z_student / T)),
#
# where z = log p. The softened teacher tells the student which wrong classes are *nearly*
# right. The whole training change is `compute_loss`; in `keras.ops`:

# %%
def soften(probabilities, temperature):
    return ops.softmax(ops.log(probabilities + 1e-7) / temperature, axis=-1)


def distillation_loss(y, student_p, teacher_p, alpha=0.1, temperature=3.0):
    hard = ops.mean(keras.losses.sparse_categorical_crossentropy(y, student_p))
    soft_t, soft_s = soften(teacher_p, temperature), soften(student_p, temperature)
    kl = ops.sum(soft_t * (ops.log(soft_t + 1e-7) - ops.log(soft_s + 1e-7)), axis=-1)
    return alpha * hard + (1 - alpha) * temperature ** 2 * ops.mean(kl)


class Distiller(keras.Model):  # what deploy.Distiller does (it also saves and selects inputs)
    def __init__(self, student, teacher):
        super().__init__()
        self.student, self.teacher = student, teacher
        self.teacher.trainable = False

    def call(self, x, training=False):
        return self.student(x, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return distillation_loss(y, y_pred, ops.stop_gradient(self.teacher(x, training=False)))


y, p_student = test.y[:4], keras_probabilities[::-1][:4]
print(f"ours {float(distillation_loss(y, p_student, keras_probabilities[:4])):.4f}, "
      f"mmkeras {float(deploy.distillation_loss(y, p_student, keras_probabilities[:4])):.4f}")

# %% [markdown]
# The two values differ slightly because these probabilities include near-zeros (a wrong
# student on purpose): the logarithm needs a guard there, and mmkeras clips p at 1e-7 where we
# add 1e-7. For ordinary probabilities the two agree.
#
# The students: a concat fusion of narrow convolutional encoders (a tenth of the teacher's
# parameters and no LSTM to unroll), and an audio-only one that learns from the two-modality
# teacher (`deploy.Distiller` gives each model the inputs it names). Each is trained twice
# from the same initial weights: on the labels alone, and distilled.

# %%
def student(modalities):
    training.seed_everything(0)
    parts = {"image": lambda: encoders.image_cnn(input_shape=(28, 28, 1), filters=(8, 16),
                                                 embedding_dim=16),
             "audio": lambda: encoders.sequence_conv1d(input_shape=(None, 13), filters=(16, 16))}
    return mmkeras.build_model({m: parts[m]() for m in modalities}, fusion="concat",
                               num_classes=data.num_classes, dropout=0.2)


results = []
for modalities in ([["audio"]] if SMOKE else (["image", "audio"], ["audio"])):
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
students = pd.DataFrame(results).round(3)
for name, group in students.groupby("student", sort=False):
    change = group["accuracy"].iloc[1] - group["accuracy"].iloc[0]
    print(f"{name} student: distillation changed test accuracy by {change:+.3f} in this run")
students

# %% [markdown]
# Distillation is not a guaranteed gain, and one run cannot tell a gain from noise. In the
# study's two seeds on this dataset (`results/compression/compression.md`), distillation
# did not clearly help the image+audio student (0.738 ± 0.022 against 0.730 ± 0.003 from the
# labels alone, within the spread) and *hurt* the audio-only one (0.430 ± 0.030 against
# 0.477 ± 0.000); on the `emoji` data it hurt both students, by 0.06 and 0.12. An audio-only
# student learns to imitate a teacher whose answers rest largely on the image, which it
# cannot see. (The students are narrow: the audio-only one has under 6,000 parameters, which
# is why it stays below the audio-only models of notebooks 4 and 5.)
#
# ## Summary
#
# - Every mmkeras model converts to TFLite: recurrent layers are unrolled at a fixed length
#   (`deploy.convert` does it, `deploy.deployment_path` tells you). Unrolling makes the file
#   larger than the weights, so dynamic-range and float16 shrink this LSTM model's file far
#   less than 4× and 2×, and full-integer int8 makes it larger, slower than the other TFLite
#   files and the least faithful to Keras.
# - Magnitude pruning works on Keras 3 models with a callback; its gain shows only after
#   compression (measure the weights, not a file that also holds optimizer state).
# - Distillation is a loss (`α·CE + (1−α)·T²·KL`) in `compute_loss`. In this run and in the
#   multi-seed study it did not reliably beat training the small student on the labels.
#
# ## Exercises
#
# 1. Swap the teacher's audio encoder for `encoders.sequence_conv1d` and convert again: how
#    do the four TFLite sizes change, and why?
# 2. Prune to 90 % instead of 75 %. What happens to the accuracy?
# 3. Distil the audio-only student with `alpha=0.5` and with `temperature=1`. Which setting
#    helps it most? (Repeat over three seeds before you believe it.)

# %% [markdown]
# ## Solutions
#
# The solutions are collapsed: click a cell to expand it. They use the notebook's sizes, so in
# smoke mode their accuracies mean little.

# %% tags=["solution"]
# Exercise 1: a convolutional audio encoder converts without unrolling (conversion does not
# need training: an untrained model has the same sizes).
training.seed_everything(0)
conv_teacher = mmkeras.build_model(
    {"image": encoders.image_cnn(input_shape=(28, 28, 1)),
     "audio": encoders.sequence_conv1d(input_shape=(None, 13))},
    fusion="cross_attention", num_classes=data.num_classes, dropout=0.2)
print("path:", deploy.deployment_path(conv_teacher), f"; weights {weights_kb(conv_teacher):,.0f} KB")
for mode in (["float32", "int8"] if SMOKE else deploy.QUANTIZATIONS):  # those converted above
    size = len(deploy.convert(conv_teacher, mode, representative_data=calibration)) / 1000
    print(f"  {mode:<8} {size:6,.0f} KB (LSTM teacher {len(contents[mode]) / 1000:6,.0f} KB)")
# Without the unrolled graph the file is about the weights: float16 about halves it, dynamic
# and int8 bring it to about a third (some tensors, such as biases, stay float32).

# %% tags=["solution"]
# Exercise 2: 90 % sparsity.
teacher.trainable = True  # the Distiller above froze it, and a clone would stay frozen
pruned90 = keras.models.clone_model(teacher)
pruned90.set_weights(teacher.get_weights())
pruned90.compile(optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
pruned90.fit(train.x, train.y, batch_size=64, epochs=1 if SMOKE else 3, verbose=0,
             callbacks=[deploy.MagnitudePruning(deploy.PolynomialSparsity(0.9, end_step=2 * steps))])
stripped90 = deploy.strip_pruning(pruned90)
print(f"90 %: sparsity {np.mean(list(deploy.sparsity(stripped90).values())):.2f}, accuracy "
      f"{accuracy(pruned90.predict(test.x, verbose=0)):.3f}, gzip weights "
      f"{gzip_weights_kb(stripped90):,.0f} KB; 75 %: "
      f"{accuracy(pruned_probabilities):.3f}; teacher {accuracy(keras_probabilities):.3f}")

# %% tags=["solution"]
# Exercise 3: the audio-only student with other distillation settings (one seed here; use
# seeds 0, 1, 2 in training.seed_everything inside student() before believing a winner).
for alpha, temperature in ((0.5, 3.0), (0.1, 1.0)):
    distilled = student(["audio"])
    distiller = deploy.Distiller(distilled, teacher, alpha=alpha, temperature=temperature)
    distiller.compile(optimizer="adam", metrics=["accuracy"])
    fit(distiller)
    print(f"alpha={alpha}, T={temperature}: "
          f"{accuracy(distilled.predict({'audio': test.x['audio']}, verbose=0)):.3f}")
print("labels only:", students.query("student == 'audio' and `trained on` == 'labels only'")
      ["accuracy"].iloc[0])
