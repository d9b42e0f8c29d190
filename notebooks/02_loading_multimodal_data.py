# %% [markdown]
# # 2. Loading multimodal data
#
# **Goal:** read each modality the way the documents describe — images with OpenCV, text with
# NLTK tokenizers and Keras `TextVectorization`, audio with librosa and `tf.signal` — then load
# the embedded datasets, bring your own folder of files with `from_dataframe`, and feed
# everything through a `tf.data` pipeline whose throughput we measure.
#
# Offline throughout. Measured on a 2-core CPU (no GPU): about 15 s (13 s) at full size and
# 20–35 s with `MMKERAS_SMOKE=1` (the smoke run only shortens the throughput loop; its time
# depends on what else shares the two cores).

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
PIPELINE_EPOCHS = 1 if SMOKE else 5

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mmkeras import datasets
from mmkeras.preprocessing import audio, image, text

work = Path(tempfile.mkdtemp(prefix="mmkeras-nb2-"))

# %% [markdown]
# ## Images with OpenCV
#
# OpenCV reads BGR; `read_image` converts to RGB, resizes (area interpolation when shrinking)
# and scales to [0, 1]. We write two emoji pictures to files first, as a user's data would be.

# %%
raw = np.load(datasets.data_dir() / "emoji.npz")
for i, style in enumerate(raw["style"]):
    image.write_image(work / f"grinning_{style}.png", raw["image"][0, i])
pictures = [image.read_image(work / f"grinning_{s}.png", size=(64, 64)) for s in raw["style"]]
standardised, mean, std = image.standardize(np.stack(pictures))
print(pictures[0].shape, pictures[0].dtype, "per-channel mean", mean.round(3))
fig, axes = plt.subplots(1, 2, figsize=(4, 2))
for ax, picture, style in zip(axes, pictures, raw["style"]):
    ax.imshow(picture)
    ax.set_title(style)
    ax.axis("off")

# %% [markdown]
# Augmentation is a Keras model of random layers, active only in training, so it can run
# inside `tf.data` or inside the model:

# %%
augment = image.augmentation(rotation=0.1, zoom=0.1, translation=0.1, seed=0)
variants = augment(np.repeat(pictures[:1], 4, axis=0), training=True)
fig, axes = plt.subplots(1, 4, figsize=(6, 1.7))
for ax, v in zip(axes, np.asarray(variants)):
    ax.imshow(np.clip(v, 0, 1))
    ax.axis("off")

# %% [markdown]
# ## Text with NLTK, offline
#
# `nltk.word_tokenize` and NLTK's stop-word corpus need `nltk.download`, which fails without
# network. The regular-expression and Treebank tokenizers are pure code; the stop-word list
# falls back to scikit-learn's English list when NLTK's corpus is absent.

# %%
sentence = "Smiling face with open mouth and tightly-closed eyes!"
stop, source = text.stop_words()
print("regexp:  ", text.tokenize(sentence))
print("treebank:", text.tokenize(sentence, method="treebank"))
print(f"without stop words ({source} list):", text.tokenize(sentence, stop_words=stop))
vocabulary = text.Vocabulary.build([text.tokenize(str(n)) for n in raw["name"][:500]])
print("ids:", vocabulary.encode([text.tokenize(sentence)], length=10))
rng = np.random.default_rng(0)
print("random deletion:", text.random_deletion(text.tokenize(sentence), p=0.3, rng=rng))
print("random swap:    ", text.random_swap(text.tokenize(sentence), n=2, rng=rng))

# %% [markdown]
# Keras' `TextVectorization` does the same inside the graph, with the same conventions
# (0 = padding, 1 = out of vocabulary):

# %%
vectorizer = text.text_vectorization([str(n) for n in raw["name"]], sequence_length=10)
print(np.asarray(vectorizer([sentence])))

# %% [markdown]
# ## Audio with librosa and tf.signal
#
# The `spoken_words` clips are synthetic speech (espeak-ng), stored as WAV files. librosa and
# `tf.signal` compute log-mel spectrograms and MFCCs with different conventions (frame
# centring, mel filters, dB vs natural log), so their numbers differ: pick one per project.

# %%
clip = datasets.spoken_words.spoken_word_files()[0]
wave, rate = audio.load_audio(clip["path"])
features = {
    "librosa log-mel (dB)": audio.logmel_librosa(wave, rate),
    "tf.signal log-mel (ln)": np.asarray(audio.logmel_tf(wave, rate)),
    "librosa MFCC": audio.mfcc_librosa(wave, rate),
    "tf.signal MFCC": np.asarray(audio.mfcc_tf(wave, rate)),
}
fig, axes = plt.subplots(1, 5, figsize=(14, 2.6))
axes[0].plot(np.arange(len(wave)) / rate, wave, linewidth=0.5)
axes[0].set_title(f"'{clip['word']}' ({clip['voice']})")
for ax, (name, values) in zip(axes[1:], features.items()):
    ax.imshow(values.T, origin="lower", aspect="auto")
    ax.set_title(f"{name}\n{values.shape[0]} frames", fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## The embedded datasets

# %%
for name in sorted(datasets.DATASETS):
    start = time.perf_counter()
    ds = datasets.load(name)
    print(f"{ds} — loaded in {time.perf_counter() - start:.2f} s")

# %% [markdown]
# ## Your own files: `from_dataframe`
#
# A table of paths, texts and labels becomes the same `MultimodalDataset` as the embedded data:
# seeded stratified splits, a vocabulary built on the training rows, ids that name each file,
# and a preprocessor for new files. The files are decoded in parallel, in order. Bad rows are
# never dropped silently: they raise an error naming the row, or with `on_error="skip"` are
# listed. An empty caption is a missing modality (zeros, flagged in `split.missing`).
# Notebook 8 takes such a folder all the way to a comparison and predictions.

# %%
rows = []
for i in range(0, 200, 4):
    path = work / f"emoji_{i}.png"
    image.write_image(path, raw["image"][i, 0])
    rows.append({"picture": path.name, "caption": str(raw["name"][i]) if i % 20 else "",
                 "label": str(raw["category_names"][raw["category"][i]])})
rows.append({"picture": "missing.png", "caption": "ghost", "label": "Objects"})
table = pd.DataFrame(rows)
table.to_csv(work / "my_emoji.csv", index=False)
files = datasets.from_dataframe(work / "my_emoji.csv", image="picture", text="caption",
                                split=(0.6, 0.2, 0.2), on_error="skip")
print(files)
print("skipped:", files.skipped)
print("missing captions per split:", {k: s.missing_counts() for k, s in files.splits.items()})

# ## tf.data pipelines and their throughput
#
# `to_tf_dataset` caches the arrays, shuffles, batches, augments in parallel after the cache,
# and prefetches. The pipeline should never be what training waits for:

# %%
av = datasets.load("av_digits")
pipeline = datasets.to_tf_dataset(av.train, batch_size=64, shuffle=True)
for _ in pipeline:  # the first pass fills the cache
    pass
start = time.perf_counter()
for _ in range(PIPELINE_EPOCHS):
    for _ in pipeline:
        pass
rate = PIPELINE_EPOCHS * len(av.train) / (time.perf_counter() - start)
print(f"av_digits pipeline: {rate:,.0f} samples/s (training a small model consumes ~1,000/s on this CPU)")

# %% [markdown]
# ## TensorFlow Datasets, for readers who are online
#
# `load_tfds_av_mnist()` pairs TFDS `mnist` with `spoken_digit`; `load_tfds_imdb()` loads
# IMDB reviews. Offline, TFDS would retry for minutes; these loaders check first and fail
# within seconds with advice:

# %%
from absl import logging as absl_logging

absl_logging.set_verbosity(absl_logging.ERROR)  # TFDS warns about the empty folder it probes
try:
    datasets.load_tfds_av_mnist(data_dir=str(work / "tfds"))
except datasets.DatasetUnavailableError as err:
    print("offline:", err)

# %% [markdown]
# ## Summary
#
# Each modality has a reader you can use alone (`mmkeras.preprocessing.image/text/audio`);
# the embedded datasets load in about a second; `from_dataframe` brings your own files with
# clear errors; `to_tf_dataset` feeds any of them to a model, far faster than it trains.
#
# ## Exercises
#
# 1. Tokenise the emoji names with and without stop words. Which frequent words disappear?
# 2. Compute MFCCs of the same clip with `n_mfcc=20`. How do librosa's and tf.signal's frame
#    counts differ, and why?
# 3. Add a corrupt PNG to the table above and run `from_dataframe` with `on_error="raise"`.
#    What does the error name? And with `missing="raise"`, what happens to the blank captions?
