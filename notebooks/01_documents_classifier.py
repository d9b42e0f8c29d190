# %% [markdown]
# # 1. The documents' classifier
#
# **Goal:** build the Conv2D + LSTM image+text classifier of the source documents exactly,
# see where its 51.9 million parameters sit, train it on real image+text data, and then build
# the same idea with `mmkeras.build_model` at a fraction of the size.
#
# Runs offline on the embedded `emoji` data. Measured on a 2-core CPU (AMD EPYC, no GPU):
# about 1.5 min (95 s) at full size; `MMKERAS_SMOKE=1` (what CI runs) takes about 20 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide TensorFlow's start-up lines
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"

# Parameters: the full size is what the introduction's times are for.
IMAGE_SIZE = 32 if SMOKE else 224  # the documents' input size
TRAIN_SAMPLES = 64 if SMOKE else 512  # the 224 px model trains at ~25 samples/s on a CPU
EPOCHS = 1 if SMOKE else 2
BUILDER_EPOCHS = 1 if SMOKE else 8

# %%
import time

import keras
import pandas as pd

import mmkeras
from mmkeras import datasets, encoders

keras.utils.set_random_seed(0)

# %% [markdown]
# ## The model, as the documents write it
#
# Image (224, 224, 3) → Conv2D(32, 3×3, relu) → MaxPooling2D(2×2) → Flatten;
# text (100,) → Embedding(10000, 128) → LSTM(128); concatenate → Dense(128, relu) →
# Dense(2, softmax); adam, categorical cross-entropy, accuracy.

# %%
model = mmkeras.conv_lstm_classifier()
model.summary()

# %% [markdown]
# ## Where the parameters are
#
# One layer holds 97% of them: the Dense(128) behind Flatten. The convolution has 896.

# %%
table = pd.DataFrame(
    [(layer.name, type(layer).__name__, layer.count_params()) for layer in model.layers],
    columns=["layer", "type", "parameters"],
)
table["share"] = (table["parameters"] / table["parameters"].sum()).round(4)
table

# %% [markdown]
# A 3×3 convolution without padding turns 224 pixels into 222, pooling halves that to 111,
# and Flatten keeps every position of every filter: 111 · 111 · 32 = 394,272 numbers, each
# connected to 128 units. That is 50,483,328 weights that see each pixel position separately,
# so the model can memorise where things are rather than what they look like.

# %%
flatten_width = model.get_layer("image_flatten").output.shape[-1]
print(f"Flatten width: {flatten_width:,}; Dense(128) weights: {(flatten_width + 128) * 128 + 128:,}")

# %% [markdown]
# ## Training it on real image + text data
#
# The `emoji` set gives 32 px pictures (Noto and Twemoji styles) and their names. We resize
# the pictures to the model's input size, pad the token ids to its 100 steps, and one-hot the
# 9 category labels for categorical cross-entropy, as the documents' code expects.
# The articles' `compile(optimizer=..., loss=..., metrics=...)` (keywords) and
# `fit(..., validation_split=0.2)` work as written in Keras 3; what is missing in their code is
# the data (see the last section).

# %%
emoji = datasets.load("emoji", image_size=IMAGE_SIZE, sequence_length=100)
train = emoji.train.take(TRAIN_SAMPLES)
test = emoji.test.take(TRAIN_SAMPLES // 2)
documents_model = mmkeras.conv_lstm_classifier(image_shape=(IMAGE_SIZE, IMAGE_SIZE, 3),
                                     num_classes=emoji.num_classes)
start = time.perf_counter()
history = documents_model.fit([train.x["image"], train.x["text"]],
                         keras.utils.to_categorical(train.y, emoji.num_classes),
                         epochs=EPOCHS, batch_size=16, validation_split=0.2, verbose=2)
seconds = time.perf_counter() - start
loss, accuracy = documents_model.evaluate([test.x["image"], test.x["text"]],
                                     keras.utils.to_categorical(test.y, emoji.num_classes),
                                     verbose=0)
print(f"{documents_model.count_params():,} parameters, {seconds:.0f} s, "
      f"{EPOCHS * len(train) * 0.8 / seconds:.1f} samples/s, test accuracy {accuracy:.3f}")

# %% [markdown]
# ## The same idea with the builder
#
# `build_model` joins the same two modalities by the same concatenation, but the image
# encoder pools globally instead of flattening, and the text encoder masks padding.

# %%
emoji32 = datasets.load("emoji", sequence_length=16)
small = mmkeras.build_model(
    {"image": encoders.image_cnn(input_shape=(32, 32, 3)),
     "text": encoders.text_lstm(sequence_length=16, vocab_size=len(emoji32.vocabulary),
                                embedding_dim=64, units=64)},
    fusion="concat", num_classes=emoji32.num_classes)
start = time.perf_counter()
small.fit(emoji32.train.x, emoji32.train.y,
          validation_data=(emoji32.validation.x, emoji32.validation.y),
          epochs=BUILDER_EPOCHS, batch_size=64, verbose=0)
print(f"builder model: {small.count_params():,} parameters "
      f"({small.count_params() / documents_model.count_params():.1%} of the documents'), "
      f"{time.perf_counter() - start:.0f} s on all {len(emoji32.train)} training samples, "
      f"test accuracy {small.evaluate(emoji32.test.x, emoji32.test.y, verbose=0)[1]:.3f}")

# %% [markdown]
# ## What in the documents' code runs, what does not, and the fix
#
# Each snippet was run as written on TensorFlow 2.21 / Keras 3.15 (and the PyTorch ones on
# torch 2.13), offline; the README's "The source articles" section has the full table.
#
# - **000 §5.2** (the model above) runs as written: 51,896,066 parameters, compiled by
#   keyword; one training step on two random samples works.
# - **000 §5.4** calls `get_data()`, which no article defines (`NameError`); its unpacking
#   never defines `x_train_text` / `x_test_text` either. Load images, token ids and one-hot
#   labels yourself, as the training cell above does with `emoji`.
# - **000's continuation** loads `tf.keras.datasets.imagenet`: `AttributeError: module
#   'keras.datasets' has no attribute 'imagenet'` (Keras ships no ImageNet). Its
#   `text_labels.txt` is not provided (`FileNotFoundError`) and `word2idx` is never defined
#   (`NameError`); the one id per text it builds would not fit the (100,) text input
#   (`ValueError: ... Expected shape (None, 100), but input has incompatible shape (None,)`).
# - **001** leaves `load_images`, `batch_size`, `max_words`, `max_sequence_length`,
#   `num_epochs` undefined (`NameError`); then calls `.output` on the tensors that its
#   `extract_features` returns: `AttributeError: 'KerasTensor' object has no attribute
#   'output'`. Fix: return `Model(image_input, ...)`, `Model(text_input, ...)` (or keep the
#   `Input` tensors and build one `Model`, as `conv_lstm_classifier` does). Its
#   `next(generator)[0]` keeps one shuffled image instead of the batch (`ValueError: Data
#   cardinality is ambiguous`); take the whole batch with `shuffle=False`.
# - **002** feeds one `Input((None,))` to both a Conv2D and an Embedding: `ValueError: Input 0
#   ... of layer 'conv2d' is incompatible with the layer: expected min_ndim=4, found ndim=2`
#   (`vocab_size`, `num_classes` are undefined too). Each modality needs its own `Input`;
#   `build_model` creates one per encoder, and `fusion="cross_attention"` is 002's idea.
# - **Version pins**: `pip install python==3.7.0` (and 000's `pip install python ...`) find
#   no such package; `tensorflow==2.7.0` has no wheel for Python 3.11.
# - **001** leaves the audio branch "omitted"; notebook 7 and `mmkeras.encoders.sequence_lstm`
#   supply one.
#
# ## Summary
#
# The documents' model is reproduced layer for layer (51,896,066 parameters) and trains on
# real data, slowly: almost all its weights sit behind one Flatten. The builder's version
# keeps the idea — two encoders, concatenation, a Dense head — with global pooling and masks.
#
# ## Exercises
#
# 1. Replace `MaxPooling2D(2)` by `MaxPooling2D(4)` in `conv_lstm_classifier(pool_size=4)`.
#    How many parameters remain, and why by that factor?
# 2. Train `conv_lstm_classifier(binary=True)` (the documents' binary variant) on two emoji categories.
# 3. Swap `encoders.text_lstm` for `encoders.text_transformer` in the builder cell. Does
#    accuracy change? How many parameters does the text branch have now?
