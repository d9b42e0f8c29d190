# %% [markdown]
# # 2. Loading multimodal data
#
# **Goal:** read each modality yourself — images with OpenCV, text with a regular-expression
# tokenizer and Keras `TextVectorization`, audio with librosa and `tf.signal` — then load the
# embedded datasets, bring your own folder of files with `from_dataframe`, and write the
# `tf.data` pipeline that feeds a model, measuring its throughput.
#
# **Prerequisites:** Python and NumPy (arrays, shapes, dtypes); notebook 1 (what the model's
# image and text inputs look like). No Keras training here.
#
# **Time:** about 20 s (21 s) at full size on a 2-core CPU (no GPU); `MMKERAS_SMOKE=1`
# (15 s) times the pipelines over 1 epoch instead of 5. Offline throughout.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
PIPELINE_EPOCHS = 1 if SMOKE else 5

# %%
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf

from mmkeras import datasets
from mmkeras.preprocessing import audio, image, text

work = Path(tempfile.mkdtemp(prefix="mmkeras-nb2-"))

# %% [markdown]
# ## Images with OpenCV
#
# We write two emoji pictures to files first, as a user's data would be, and read one back
# with OpenCV by hand. OpenCV returns the channels in BGR order and as uint8 (0–255): convert
# to RGB, resize (linear interpolation when enlarging, `INTER_AREA` when shrinking), and scale
# to [0, 1]. `image.read_image` does the same (the two differ by less than one grey level,
# 1/255, from rounding).

# %%
raw = np.load(datasets.data_dir() / "emoji.npz")
for i, style in enumerate(raw["style"]):
    image.write_image(work / f"grinning_{style}.png", raw["image"][0, i])
path = str(work / f"grinning_{raw['style'][0]}.png")
bgr = cv2.imread(path)  # (32, 32, 3) uint8, BGR
rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
hand_made = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_LINEAR).astype("float32") / 255
print("cv2.imread:", bgr.shape, bgr.dtype, "→ by hand:", hand_made.shape, hand_made.dtype)
pictures = [image.read_image(work / f"grinning_{s}.png", size=(64, 64)) for s in raw["style"]]
standardised, mean, std = image.standardize(np.stack(pictures))
print("read_image:", pictures[0].shape, pictures[0].dtype,
      f"largest difference from the hand-made version {np.abs(pictures[0] - hand_made).max():.3f}")
print("per-channel mean", mean.round(3))
fig, axes = plt.subplots(1, 2, figsize=(4, 2))
for ax, picture, style in zip(axes, pictures, raw["style"]):
    ax.imshow(picture)
    ax.set_title(style)
    ax.axis("off")

# %% [markdown]
# Augmentation is a Keras model of random layers, active only in training, so it can run
# inside `tf.data` or inside the model. A rotation, zoom or shift brings in pixels from
# outside the picture, and `image.augmentation` fills them with `fill_value`: 0.0 (black)
# by default, which would leave black wedges at the edges of these pictures on a white
# background; `fill_value=1.0` fills them with white.

# %%
augment = image.augmentation(rotation=0.1, zoom=0.1, translation=0.1, fill_value=1.0, seed=0)
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
# falls back to scikit-learn's English list when NLTK's corpus is absent. mmkeras's default
# tokenizer is one regular expression — a word is a run of letters and digits, with inner
# apostrophes — so "tightly-closed" gives two words:

# %%
print(text._WORD.pattern, "→", text._WORD.findall("tightly-closed eyes, don't"))

# %% [markdown]
# A `Vocabulary` lists the words of the training texts, most frequent first, after two
# reserved entries: id 0 is padding and id 1 stands for any word not in the vocabulary.

# %%
sentence = "Smiling face with open mouth and tightly-closed eyes!"
stop, source = text.stop_words()
print("regexp:  ", text.tokenize(sentence))
print("treebank:", text.tokenize(sentence, method="treebank"))
print(f"without stop words ({source} list):", text.tokenize(sentence, stop_words=stop))
vocabulary = text.Vocabulary.build([text.tokenize(str(n)) for n in raw["name"][:500]])
print("first entries:", vocabulary.tokens[:6])
print("ids:", vocabulary.encode([text.tokenize(sentence)], length=10))
rng = np.random.default_rng(0)
print("random deletion:", text.random_deletion(text.tokenize(sentence), p=0.3, rng=rng))
print("random swap:    ", text.random_swap(text.tokenize(sentence), n=2, rng=rng))

# %% [markdown]
# Keras' `TextVectorization` layer does this inside the model's graph. It keeps the same
# two conventions (0 = padding, 1 = out of vocabulary), but its ids are not the ones above:

# %%
vectorizer = text.text_vectorization([str(n) for n in raw["name"]], sequence_length=10)
ids = np.asarray(vectorizer([sentence]))[0]
words = vectorizer.get_vocabulary()
print("ids:", ids)
print("tokens:", [str(words[i]) for i in ids if i])

# %% [markdown]
# Two differences. Its default standardisation lower-cases and *deletes* punctuation before
# splitting on spaces, so "tightly-closed" becomes one token, "tightlyclosed" (8 tokens
# instead of 9). And it was adapted to all the names, not the first 500, so the frequency
# ranks, and hence the ids, differ. A model trained on one tokenisation must be fed the same
# one: pick one per project (mmkeras's datasets use the regular expression).

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
# The two log-mel panels look alike, and so do the two MFCC panels, although their numbers
# differ. `imshow` spreads each panel's colours from its own smallest to its largest value,
# and there is no colour bar, so one colour stands for different numbers in different
# panels: librosa's log-mel is in decibels (10·log10 of the mel power), tf.signal's is a
# natural log (ln of the mel power + 10⁻⁶), and each MFCC is a DCT of its log-mel.
#
# The word ends at about 0.34 s; the rest of the 0.512 s clip (4,096 samples at 8 kHz) is
# silent. From frame 34 (tf.signal) or 35 (librosa) on, the log-mel panels show one flat
# dark block, the lowest value each log gives (librosa's stops 80 dB below the loudest
# value, tf.signal's cannot go below ln 10⁻⁶ ≈ −13.8), and the MFCC panels turn flat.
# librosa's block starts one frame later because it centres its frames: its frame t is
# centred on sample 80·t, tf.signal's on sample 80·t + 100.
#
# The `tf.signal` chain is four steps: a short-time Fourier transform (25 ms frames every
# 10 ms), the power of each frequency, a matrix that sums frequencies into mel bands, and a
# log. Written out, it gives the same numbers as `audio.logmel_tf`:

# %%
# at 8 kHz: 200 samples = 25 ms, 80 samples = 10 ms
stft = tf.signal.stft(wave, frame_length=200, frame_step=80, fft_length=256)
power = tf.square(tf.abs(stft))  # (frames, 129 frequencies)
mel_matrix = tf.signal.linear_to_mel_weight_matrix(40, 129, rate, 20.0, rate / 2)
logmel = tf.math.log(tf.tensordot(power, mel_matrix, 1) + 1e-6)  # (frames, 40 mel bands)
difference = np.abs(logmel.numpy() - features["tf.signal log-mel (ln)"]).max()
print(f"by hand: {tuple(logmel.shape)}, largest difference from logmel_tf {difference:.1e}")

# %% [markdown]
# ## The embedded datasets

# %%
for name in sorted(datasets.DATASETS):
    start = time.perf_counter()
    ds = datasets.load(name)
    print(f"{ds} — loaded in {time.perf_counter() - start:.2f} s")

# %% [markdown]
# `av_digits` takes longest: at every load it removes 75% of the image energy with a PCA
# fitted on the training images and standardises the audio (the time also depends on what
# else runs on the cores).
#
# ## Your own files: `from_dataframe`
#
# A table of paths, texts and labels becomes the same `MultimodalDataset` as the embedded
# data: seeded stratified splits, a vocabulary built on the training rows, ids that name
# each file, and a preprocessor for new files. The files are decoded in parallel, in order.
# Bad rows are never dropped silently: they raise an error naming the row, or with
# `on_error="skip"` are listed. An empty caption is a missing modality (zeros, flagged in
# `split.missing`). Notebook 8 takes such a folder all the way to a comparison and
# predictions.

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
with warnings.catch_warnings():  # the skipped row is also listed in files.skipped, below
    warnings.simplefilter("ignore", UserWarning)
    files = datasets.from_dataframe(work / "my_emoji.csv", image="picture", text="caption",
                                    split=(0.6, 0.2, 0.2), on_error="skip")
print(files)
print("skipped:", files.skipped)
print("missing captions per split:", {k: s.missing_counts() for k, s in files.splits.items()})

# %% [markdown]
# Only 2 classes: the stored emoji are sorted by category, and the first 200 rows we wrote
# cover two of them. The 51st row names a file that does not exist; with `on_error="skip"`
# it is left out and reported, and the 10 rows with an empty caption keep their picture and
# are flagged as missing text.
#
# ## tf.data pipelines and their throughput
#
# A model is fed batches by a `tf.data` pipeline: slice the arrays into samples, cache them,
# shuffle, batch, and prefetch the next batch while the model works on this one. Here it is
# by hand, then the same chain from `datasets.to_tf_dataset` (which also applies optional
# augmentation after the cache). The pipeline should never be what training waits for:

# %%
av = datasets.load("av_digits")
by_hand = (tf.data.Dataset.from_tensor_slices((av.train.x, av.train.y))
           .cache()
           .shuffle(len(av.train.y), seed=0)
           .batch(64)
           .prefetch(tf.data.AUTOTUNE))
packaged = datasets.to_tf_dataset(av.train, batch_size=64, shuffle=True)


def samples_per_second(pipeline, epochs):
    for _ in pipeline:  # the first pass fills the cache
        pass
    start = time.perf_counter()
    for _ in range(epochs):
        for _ in pipeline:
            pass
    return epochs * len(av.train.y) / (time.perf_counter() - start)


images, labels = next(iter(by_hand))
print("one batch:", {m: tuple(v.shape) for m, v in images.items()}, tuple(labels.shape))
for name, pipeline in [("by hand", by_hand), ("to_tf_dataset", packaged)]:
    print(f"{name}: {samples_per_second(pipeline, PIPELINE_EPOCHS):,.0f} samples/s")

# %% [markdown]
# Tens of thousands of samples per second and more is far more than a small model trains on
# (notebook 3 measures training speed), so with data this small the pipeline is never the
# bottleneck.

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
# - An image is `cv2.imread` → BGR-to-RGB → `cv2.resize` → `/ 255`;
#   `image.read_image` does the same (and composites transparent pixels on white).
# - Text becomes ids through a tokenizer and a vocabulary with 0 = padding and 1 = unknown.
#   Keras' `TextVectorization` keeps those conventions but tokenises differently (it deletes
#   punctuation), so its ids differ: feed a model the tokenisation it was trained on.
# - Audio features are STFT → power → mel matrix → log (→ DCT for MFCCs); librosa and
#   `tf.signal` use different conventions, so pick one.
# - `from_dataframe` turns a table of files into a dataset, reporting bad rows and flagging
#   missing modalities; a `tf.data` chain (slices → cache → shuffle → batch → prefetch)
#   feeds it to a model, far faster than a small model trains.
#
# ## Exercises
#
# 1. Tokenise the emoji names with and without stop words. Which frequent words disappear?
# 2. Compute MFCCs of the same clip with `n_mfcc=20`. How do librosa's and tf.signal's frame
#    counts differ, and why?
# 3. Add a corrupt PNG to the table above and run `from_dataframe` with `on_error="raise"`.
#    What does the error name? And with `missing="raise"`, what happens to the blank captions?
#
# ## Solutions
#
# The solutions are collapsed below: click a cell to expand it.

# %% tags=["solution"]
# Exercise 1: frequent words removed by the stop-word list
from collections import Counter

names = [str(n) for n in raw["name"]]
every = Counter(w for n in names for w in text.tokenize(n))
kept = Counter(w for n in names for w in text.tokenize(n, stop_words=stop))
print("most frequent:", [w for w, _ in every.most_common(12)])
print("removed among them:", [w for w, _ in every.most_common(40) if w not in kept][:10])
# Function words ("with", "and", "in", "of") are frequent and carry little meaning for a
# category. "no" is another matter: the list turns "NO ENTRY" into ["entry"] and "FACE WITH
# NO GOOD GESTURE" into ["face", "good", "gesture"], the opposite of what they mean. Check
# what a stop-word list removes from your texts before you use it.

# %% tags=["solution"]
# Exercise 2: 20 MFCCs and the frame counts
by_librosa = audio.mfcc_librosa(wave, rate, n_mfcc=20)
by_tf = np.asarray(audio.mfcc_tf(wave, rate, n_mfcc=20))
print(f"{len(wave)} samples: librosa {by_librosa.shape}, tf.signal {by_tf.shape}")
# n_mfcc changes the width, not the frame count. librosa centres its frames: it pads
# n_fft // 2 = 128 samples at both ends (half its 256-sample FFT frame, not half the
# 200-sample window), so it has 1 + samples // 80 frames; tf.signal starts at sample 0 and
# keeps only whole frames, 1 + (samples - 200) // 80.

# %% tags=["solution"]
# Exercise 3: a corrupt picture, then missing="raise"
(work / "corrupt.png").write_bytes(b"not a png at all")
broken = pd.concat([table.iloc[:-1], pd.DataFrame(
    [{"picture": "corrupt.png", "caption": "broken", "label": "Objects"}])])
broken.to_csv(work / "broken.csv", index=False)
try:
    datasets.from_dataframe(work / "broken.csv", image="picture", text="caption")
except datasets.BadRowError as err:
    print("on_error='raise':", err)
try:
    datasets.from_dataframe(work / "my_emoji.csv", image="picture", text="caption",
                            missing="raise", on_error="skip")
except datasets.BadRowError as err:
    print("missing='raise':", err)
