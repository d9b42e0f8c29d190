# %% [markdown]
# # 7. Three modalities, and deployment
#
# **Goal:** build an image + text + audio model — the documents' 004 §4.3 example fuses text,
# image and MFCC audio for one decision — then save and reload it in safe mode, export it for
# serving, and quantise it to a small TFLite model, comparing size, latency and accuracy.
#
# Data: `emoji` with `speech=True`: each emoji's picture, its name, and SYNTHETIC speech of its
# short name (espeak-ng). The speech repeats the text in another form, so it shows the
# plumbing of a third modality, not a real-world gain. Measured on a 2-core CPU (no GPU):
# about 40 s (38 s) at full size; `MMKERAS_SMOKE=1` takes about 17 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 10
TRAIN_LIMIT = 300 if SMOKE else None
MAX_FRAMES = 150

# %%
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd

import mmkeras
from mmkeras import datasets, deploy, encoders, evaluation, training

warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
work = Path(tempfile.mkdtemp(prefix="mmkeras-nb7-"))
data = datasets.load("emoji", speech=True, max_frames=MAX_FRAMES)
train = data.train if TRAIN_LIMIT is None else data.train.take(TRAIN_LIMIT)
print(data)

# %% [markdown]
# ## An image + text + audio model
#
# Convolutional encoders throughout: they convert to builtin TFLite ops as they are.
# Recurrent encoders convert too, unrolled at a fixed length, at a cost in file size
# (notebook 9). The audio input has a fixed length (`MAX_FRAMES`).

# %%
def three_modal(fusion):
    training.seed_everything(0)
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(32, 32, 3)),
         "text": encoders.text_conv1d(sequence_length=16, vocab_size=len(data.vocabulary)),
         "audio": encoders.sequence_conv1d(input_shape=(MAX_FRAMES, 13))},
        fusion=fusion, num_classes=data.num_classes, dropout=0.2)


model = three_modal("gated")
model.summary(line_length=100)

# %%
start = time.perf_counter()
model.fit(train.x, train.y, validation_data=(data.validation.x, data.validation.y),
          epochs=EPOCHS, batch_size=64, verbose=0)
print(f"trained in {time.perf_counter() - start:.0f} s")
test = data.test
print("contribution of each modality (accuracy lost without it):")
pd.Series(evaluation.modality_contributions(model, test.x, test.y)).round(3)

# %% [markdown]
# ## Save and load, in safe mode
#
# Every mmkeras layer is registered for serialisation and no `Lambda` layer is used, so the
# model loads with `safe_mode=True` and predicts exactly the same.

# %%
path = work / "emoji_three_modal.keras"
model.save(path)
loaded = keras.models.load_model(path, safe_mode=True)
difference = np.abs(loaded.predict(test.x, verbose=0) - model.predict(test.x, verbose=0)).max()
print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, largest difference after reload {difference:.1e}")

# %% [markdown]
# ## Export for serving, and a quantised TFLite model

# %%
saved = deploy.export_saved_model(model, work / "serving")
float_model = deploy.TFLiteClassifier(deploy.to_tflite(saved))  # LiteRT's interpreter
int8_model = deploy.TFLiteClassifier(deploy.to_tflite(saved, quantize="dynamic"))

rows = []
keras_probabilities = model.predict(test.x, verbose=0)
rows.append({"model": "Keras (.keras)", "size MB": path.stat().st_size / 1e6,
             "latency ms (1 sample)": 1000 * training.predict_latency(model, test.x),
             "test accuracy": float(np.mean(keras_probabilities.argmax(-1) == test.y))})
for name, runner in (("TFLite float32", float_model), ("TFLite dynamic-range int8", int8_model)):
    probabilities = runner.predict(test.x)
    rows.append({"model": name, "size MB": runner.size_bytes / 1e6,
                 "latency ms (1 sample)": 1000 * runner.latency(test.x, repeats=20),
                 "test accuracy": float(np.mean(probabilities.argmax(-1) == test.y))})
pd.DataFrame(rows).round(3)

# %% [markdown]
# The quantised model stores its weights as int8: about a quarter of the size, for accuracy
# within a fraction of a point here. Latency on a CPU depends on the runtime more than on the
# weights' type; measure on the device you deploy to. Notebook 9 adds float16 and int8,
# recurrent models, pruning and distillation.
#
# ## Summary
#
# A third modality is one more entry in the encoders dict. The same model saves and loads in
# safe mode, exports to a SavedModel, and converts to a TFLite file a quarter of the size.
#
# ## Exercises
#
# 1. Replace `"gated"` by `"cross_attention"`. Does it still convert to TFLite?
# 2. Drop the text modality. How much of the accuracy does the synthetic speech recover?
# 3. Try `encoders.sequence_lstm` for the audio and convert with
#    `deploy.convert(model, representative_data=train.x)`: what does
#    `deploy.deployment_path(model)` say, and how much larger is the file?
