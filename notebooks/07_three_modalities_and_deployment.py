# %% [markdown]
# # 7. Three modalities, and deployment
#
# **Goal:** build an image + text + audio model by adding a third encoder; save and reload it
# in safe mode and understand what makes the `.keras` file the size it is; export it as a
# SavedModel, convert it to TFLite with and without int8 weights (the converter's own lines),
# run it on the TFLite interpreter, and compare file size, latency and accuracy.
#
# **Prerequisites:** Keras `fit` and `predict`; notebook 4 (`mmkeras.build_model` with an
# encoders dict and a fusion) and notebook 5 (what the fusions are).
#
# **Time:** about 1 min 50 s (107 s) at full size on a 2-core CPU, no GPU, shared with other
# jobs; `MMKERAS_SMOKE=1` 41 s.
#
# mmkeras starts from five Chinese articles on multimodal models (see
# [the articles](https://mmkeras.github.io/mmkeras/articles/)); one of them fuses text, an
# image and MFCC audio for one decision, which is what this lesson builds.
#
# Data: `emoji` with `speech=True`: each emoji's picture, its name, and SYNTHETIC speech of its
# short name (made with the espeak-ng speech synthesiser). The speech repeats the text in
# another form, so it shows the plumbing of a third modality, not a real-world gain.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 10        # training epochs
TRAIN_LIMIT = 300 if SMOKE else None  # training rows (None: all 3,048)
MAX_FRAMES = 150                   # audio frames per clip (zero-padded or cut); the model
                                   # and its TFLite file take this fixed length

# %%
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

pd.set_option("display.width", 120)

import mmkeras
from mmkeras import datasets, deploy, encoders, evaluation, training

work = Path(tempfile.mkdtemp())
data = datasets.load("emoji", speech=True, max_frames=MAX_FRAMES)
train = data.train if TRAIN_LIMIT is None else data.train.take(TRAIN_LIMIT)
test = data.test
print(data)

# %% [markdown]
# ## An image + text + audio model
#
# A third modality is one more entry in the encoders dict: `build_model` makes one
# `keras.Input` per entry, runs each encoder, and fuses the three embeddings (here with the
# gated fusion of notebook 5) before the classification head. All three encoders are
# convolutional: they convert to TFLite's builtin ops as they are. (Recurrent encoders
# convert too, unrolled to a fixed length, at a cost in file size: notebook 9 and exercise 3.)
#
# The dataset above reports the audio as `(None, 13)`, clips of any number of 13-MFCC frames,
# but its arrays are zero-padded (or cut) to `max_frames=MAX_FRAMES`, 150 frames. The audio
# encoder is built with `input_shape=(MAX_FRAMES, 13)`, so the model, and the TFLite file
# converted from it below, take exactly 150 frames.

# %%
def three_modal(fusion, name="emoji_three_modal"):
    training.seed_everything(0)
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(32, 32, 3)),
         "text": encoders.text_conv1d(sequence_length=16, vocab_size=len(data.vocabulary)),
         "audio": encoders.sequence_conv1d(input_shape=(MAX_FRAMES, 13))},
        fusion=fusion, num_classes=data.num_classes, dropout=0.2, name=name)


model = three_modal("gated")
print(f"{model.name}: inputs {[i.name for i in model.inputs]}")
for layer in model.layers:
    if layer.count_params():
        print(f"  {layer.name:<22} {type(layer).__name__:<12} {layer.count_params():>8,} parameters")
print(f"  total {model.count_params():,} parameters")

# %% [markdown]
# Train it, then measure what each modality contributes: `modality_contributions` evaluates
# the model with each modality's input missing (zeros) in turn and reports the test accuracy
# lost.

# %%
start = time.perf_counter()
model.fit(train.x, train.y, validation_data=(data.validation.x, data.validation.y),
          epochs=EPOCHS, batch_size=64, verbose=0)
print(f"trained in {time.perf_counter() - start:.0f} s")
contributions = evaluation.modality_contributions(model, test.x, test.y)
print(f"test accuracy {contributions.pop('all'):.3f}; accuracy lost without each modality:")
pd.Series(contributions).round(3)

# %% [markdown]
# In this run the model leans on the text: the emoji's name identifies its category far
# better than a 32×32 picture, and the synthetic speech only repeats the short name.
#
# ## Save and load, in safe mode — and what is in the file
#
# Every mmkeras layer is registered for serialisation and no `Lambda` layer is used, so the
# model loads with `safe_mode=True` and predicts exactly the same.

# %%
path = work / "emoji_three_modal.keras"
model.save(path)
loaded = keras.models.load_model(path, safe_mode=True)
difference = np.abs(loaded.predict(test.x, verbose=0) - model.predict(test.x, verbose=0)).max()
print(f"{path.name}: {path.stat().st_size / 1e3:,.0f} KB, "
      f"largest difference after reload {difference:.1e}")

# %% [markdown]
# The file is larger than the weights. A `.keras` file is a zip archive: the model's
# configuration (`config.json`, about 30 KB) and its variables (`model.weights.h5`), each
# value stored in 4 bytes (float32). Opening the archive shows what the variables are:

# %%
import zipfile

import h5py


def stored_kb(group):
    """KB of all the arrays under an HDF5 group."""
    sizes = []
    group.visititems(lambda name, item: sizes.append(item.nbytes)
                     if isinstance(item, h5py.Dataset) else None)
    return sum(sizes) / 1e3


with zipfile.ZipFile(path) as archive:
    for member in archive.infolist():
        print(f"{member.filename:<18} {member.file_size / 1e3:7,.0f} KB")
    with archive.open("model.weights.h5") as file, h5py.File(file) as weights:
        for part in weights:
            print(f"  {part + '/':<16} {stored_kb(weights[part]):7,.0f} KB")
print(f"the model's {model.count_params():,} parameters × 4 bytes = "
      f"{model.count_params() * 4 / 1e3:,.0f} KB")

# %% [markdown]
# The layers' weights are exactly the parameters × 4 bytes. The other two thirds are the
# optimizer's state: a compiled, trained model's file keeps it so that training can resume,
# and Adam keeps two moving averages (of the gradient and of its square) per trainable
# weight, so the file holds about three times the weights. To ship only the weights, save an
# uncompiled model made of the same layers:

# %%
serving_copy = keras.Model(model.inputs, model.outputs)   # same layers, not compiled
serving_path = work / "serving_copy.keras"
serving_copy.save(serving_path)
print(f"{serving_path.name}: {serving_path.stat().st_size / 1e3:,.0f} KB")

# %% [markdown]
# That file is a little more than the weights: the configuration and the HDF5 format's own
# headers (a few KB per stored array). It loads and predicts like the original, but cannot
# resume training where it stopped.

# %% [markdown]
# ## Export for serving, and convert to TFLite
#
# `model.export` writes a TensorFlow SavedModel (the format TF Serving and the TFLite
# converter read). The converter then turns it into a TFLite flat buffer. With
# `optimizations = [tf.lite.Optimize.DEFAULT]` and nothing else it applies *dynamic-range*
# quantisation: the weights are stored as int8 (one byte instead of four, plus a scale per
# tensor); activations stay float, and the weights are turned back into floats (or the
# activations quantised on the fly) when the model runs. These are the lines that
# `mmkeras.deploy.to_tflite` runs:

# %%
import tensorflow as tf

saved = work / "serving"
model.export(str(saved), verbose=False)      # = deploy.export_saved_model(model, saved)

converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
float_bytes = converter.convert()

converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
converter.optimizations = [tf.lite.Optimize.DEFAULT]   # int8 weights, float activations
int8_bytes = converter.convert()
print(f"TFLite float32 {len(float_bytes) / 1e3:,.0f} KB; "
      f"dynamic-range int8 {len(int8_bytes) / 1e3:,.0f} KB")

# %% [markdown]
# ## Run it on the TFLite interpreter
#
# On a phone or a Raspberry Pi the model runs on LiteRT, the TFLite interpreter (here the
# `ai-edge-litert` package, which replaces TensorFlow's deprecated `tf.lite.Interpreter`). The
# loop is: load the bytes, allocate the tensors, then for each sample set every input tensor,
# invoke, and read the output tensor. Inputs are matched by name, because their order in the
# file is not the model's:

# %%
from ai_edge_litert.interpreter import Interpreter

interpreter = Interpreter(model_content=int8_bytes)
interpreter.allocate_tensors()
inputs = {d["name"]: d for d in interpreter.get_input_details()}
output = interpreter.get_output_details()[0]
for name, detail in inputs.items():
    print(f"input {name}: shape {tuple(int(n) for n in detail['shape'])}, {detail['dtype'].__name__}")


def tflite_predict(i):
    """Class probabilities of test sample i."""
    for name, detail in inputs.items():
        modality = next(m for m in test.x if m in name)  # "serving_default_image:0" → "image"
        interpreter.set_tensor(detail["index"], test.x[modality][i:i + 1].astype(detail["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(output["index"])[0]


probabilities = tflite_predict(0)
print(f"sample 0: TFLite predicts {data.class_names[probabilities.argmax()]!r} "
      f"(p = {probabilities.max():.3f}); Keras predicts "
      f"{data.class_names[model.predict({k: v[:1] for k, v in test.x.items()}, verbose=0).argmax()]!r}")

# %% [markdown]
# `deploy.TFLiteClassifier` does the same through the interpreter's signature runner, which
# takes inputs by name (it also pads or cuts sequences to the converted length), so that the
# converted models can be compared with Keras on the whole test split:
# file size, the time to classify one sample, test accuracy, and how often the TFLite model
# predicts the same class as the Keras model.

# %%
keras_classes = model.predict(test.x, verbose=0).argmax(-1)
rows = [{"model": "Keras (.keras, with optimizer)", "file KB": path.stat().st_size / 1e3,
         "latency ms (1 sample)": 1000 * training.predict_latency(model, test.x),
         "test accuracy": float(np.mean(keras_classes == test.y)), "same as Keras": 1.0}]
for name, content in (("TFLite float32", float_bytes), ("TFLite dynamic-range int8", int8_bytes)):
    runner = deploy.TFLiteClassifier(content)
    classes = runner.predict(test.x).argmax(-1)
    rows.append({"model": name, "file KB": runner.size_bytes / 1e3,
                 "latency ms (1 sample)": 1000 * runner.latency(test.x, repeats=20),
                 "test accuracy": float(np.mean(classes == test.y)),
                 "same as Keras": float(np.mean(classes == keras_classes))})
table = pd.DataFrame(rows).round(3)
table["file KB"] = table["file KB"].round().astype(int)
print(f"weights alone: {model.count_params():,} values × 4 bytes = "
      f"{model.count_params() * 4 / 1e3:,.0f} KB as float32, "
      f"{model.count_params() / 1e3:,.0f} KB as int8")
table

# %% [markdown]
# How to read the table:
#
# - **Size.** The float32 TFLite file is about the weights (parameters × 4 bytes) plus a
#   small graph; the `.keras` file is about three times larger because it also stores
#   Adam's state (above). Dynamic-range quantisation stores the weights in one byte each, so
#   the file is about a quarter of the float32 one.
# - **Accuracy.** Rounding the weights to int8 changes the probabilities slightly; the column
#   "same as Keras" is the share of test predictions it left unchanged.
# - **Latency.** Keras's `predict_on_batch` on one sample (what `training.predict_latency`
#   times) costs far more than the interpreter run by `TFLiteClassifier` on one sample,
#   which is why TFLite is used for one-sample serving. Smaller weights do not make
#   a model faster on a desktop CPU: with dynamic-range quantisation the interpreter quantises
#   the activations of each layer on the fly, and on this 2-core CPU the fast float kernels
#   (XNNPACK) may well beat it. Measure on the device you deploy to. Notebook 9 adds float16
#   and full-integer int8, recurrent models, pruning and distillation.
#
# ## Summary
#
# A third modality is one more entry in the encoders dict; in this run the text carried most
# of the accuracy, and the synthetic speech mattered about as much as the picture (each one's
# absence cost about 0.06). The model saves and loads in safe mode with identical
# predictions; its `.keras` file is about three times its weights because it keeps Adam's two
# moment tensors per weight. `model.export` and two or three lines of
# `tf.lite.TFLiteConverter` turn it into a TFLite file of about the weights' size, and
# `Optimize.DEFAULT` into one about a quarter of that; the interpreter runs it with
# `set_tensor` / `invoke` / `get_tensor`. The table above says, for this run, how much
# accuracy and agreement with Keras the int8 weights cost and which file ran fastest here.
#
# ## Exercises
#
# 1. Replace `"gated"` by `"cross_attention"`. Does the model still convert to TFLite, and
#    does the converted model agree with Keras?
# 2. Drop the text modality and train an image + audio model. How close does it come to the
#    three-modality model, and to that model with its text missing (its accuracy minus the
#    "text" contribution above)?
# 3. Use `encoders.sequence_lstm` for the audio. What does `deploy.deployment_path(model)`
#    say, and how much larger is the float32 TFLite file from `deploy.convert(model)` than the
#    convolutional model's?

# %% [markdown]
# ## Solutions
#
# The solutions are collapsed: click a cell to expand it. They use the notebook's sizes, so in
# smoke mode their accuracies mean little.

# %% tags=["solution"]
# Exercise 1: cross-attention fusion → TFLite (conversion needs no training: an untrained
# model converts the same way).
attention_model = three_modal("cross_attention", name="emoji_cross_attention")
runner = deploy.TFLiteClassifier(deploy.convert(attention_model, "float32"))
sample = {k: v[:32] for k, v in test.x.items()}
agreement = np.mean(runner.predict(sample).argmax(-1)
                    == attention_model.predict(sample, verbose=0).argmax(-1))
print(f"converted: {runner.size_bytes / 1e3:,.0f} KB; same class as Keras on 32 test samples: "
      f"{agreement:.3f}")

# %% tags=["solution"]
# Exercise 2: image + audio only.
training.seed_everything(0)
two_modal = mmkeras.build_model(
    {"image": encoders.image_cnn(input_shape=(32, 32, 3)),
     "audio": encoders.sequence_conv1d(input_shape=(MAX_FRAMES, 13))},
    fusion="gated", num_classes=data.num_classes, dropout=0.2)
two_x = {k: train.x[k] for k in ("image", "audio")}
two_modal.fit(two_x, train.y, epochs=EPOCHS, batch_size=64, verbose=0)
_, without_text = two_modal.evaluate({k: test.x[k] for k in ("image", "audio")}, test.y,
                                     verbose=0)
print(f"image + audio: {without_text:.3f}; image + text + audio: "
      f"{np.mean(keras_classes == test.y):.3f}")
# Compare with the three-modality model with its text missing (the "text" contribution
# above: accuracy minus what it lost): that model leaned on the text and never learned to do
# without it, while a model trained without text must learn from the picture and the speech,
# which says the emoji's short name. How its accuracy splits between the two would take an
# image-only model as well.

# %% tags=["solution"]
# Exercise 3: an LSTM audio encoder is unrolled to MAX_FRAMES steps for TFLite.
training.seed_everything(0)
lstm_model = mmkeras.build_model(
    {"image": encoders.image_cnn(input_shape=(32, 32, 3)),
     "text": encoders.text_conv1d(sequence_length=16, vocab_size=len(data.vocabulary)),
     "audio": encoders.sequence_lstm(input_shape=(MAX_FRAMES, 13))},
    fusion="gated", num_classes=data.num_classes, dropout=0.2)
print("deployment path:", deploy.deployment_path(lstm_model))
lstm_bytes = deploy.convert(lstm_model, "float32")
print(f"float32 TFLite: LSTM audio {len(lstm_bytes) / 1e3:,.0f} KB "
      f"({lstm_model.count_params():,} parameters) against conv audio "
      f"{len(float_bytes) / 1e3:,.0f} KB ({model.count_params():,} parameters)")
# Unrolling writes the LSTM step's operations into the graph once per frame (the weights are
# stored once): the file grows with the number of frames, although the model has fewer
# parameters.
