# %% [markdown]
# # 8. Your own data, end to end
#
# **Goal:** take a folder of your own files — pictures and a CSV of captions and labels, some
# captions blank — to a fusion comparison, and use the best model on new pictures: read the
# table into the same `MultimodalDataset` the embedded data uses (splits, vocabulary, missing
# modalities, ids), run `compare`, then load a saved model with its preprocessor and predict
# from file paths and strings.
#
# Offline throughout. Measured on a 2-core CPU (no GPU): about 1 min (60 s) at full size;
# `MMKERAS_SMOKE=1` takes about 65 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EMOJI_PER_CATEGORY = 12 if SMOKE else 60
EPOCHS = 1 if SMOKE else 12

# %%
import tempfile
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mmkeras import datasets, experiments
from mmkeras.preprocessing.image import write_image

work = Path(tempfile.mkdtemp(prefix="mmkeras-nb8-"))

# %% [markdown]
# ## A folder of files, as you would have it
#
# We write emoji pictures (Google's style) to PNG files and a CSV naming each file, its caption
# and its category — the shape of a typical user's data. One caption in ten is left blank, as
# happens in real tables. The Twitter-style pictures of some emoji are kept aside as "new
# pictures" to classify at the end.

# %%
raw = np.load(datasets.data_dir() / "emoji.npz")
rng = np.random.default_rng(0)
(work / "pictures").mkdir()
rows = []
for category in np.unique(raw["category"]):
    members = rng.permutation(np.flatnonzero(raw["category"] == category))[:EMOJI_PER_CATEGORY]
    for i in members:
        name = f"pictures/{raw['unified'][i]}.png"
        write_image(work / name, raw["image"][i, 0])
        rows.append({"file": name, "caption": str(raw["name"][i]),
                     "category": str(raw["category_names"][category]), "index": int(i)})
table = pd.DataFrame(rows)
table.loc[rng.random(len(table)) < 0.1, "caption"] = ""
table.drop(columns="index").to_csv(work / "emoji.csv", index=False)
print(len(table), "rows;", (table.caption == "").sum(), "blank captions")
table.head()

# %% [markdown]
# ## From the table to a dataset
#
# `from_dataframe` checks the columns and labels, makes a stratified, seeded split, builds the
# vocabulary on the training rows only, reads the images at their own size (32×32 here: an
# error would list the sizes if they differed), and decodes the files in parallel, in order.
# A blank caption is a *missing modality*: zeros for that row, flagged in `split.missing`.

# %%
data = datasets.from_dataframe(work / "emoji.csv", image="file", text="caption",
                               label="category", split=(0.7, 0.15, 0.15), seed=0, name="my_emoji")
print(data)
print("report:", data.report)
print("first training ids:", data.train.ids[:3].tolist())
print("vocabulary (training rows only):", len(data.vocabulary), "tokens, e.g.",
      data.vocabulary[2:12])
print("preprocessor:", data.preprocessor)

# %% [markdown]
# Bad input is named, never dropped silently. A row whose file does not exist is an error (or,
# with `on_error="skip"`, left out and listed in `report["skipped"]`); so is a label cell left
# empty:

# %%
broken = table.drop(columns="index").copy()
broken.loc[0, "file"] = "pictures/not-there.png"
broken.loc[1, "category"] = ""
try:
    datasets.from_dataframe(broken, image="file", text="caption", label="category",
                            base_dir=work)
except datasets.BadRowError as err:
    print("error:", err)
skipping = datasets.from_dataframe(broken, image="file", text="caption", label="category",
                                   base_dir=work, on_error="skip", split=(0.7, 0.15, 0.15))
print("skipped:", skipping.skipped)

# %% [markdown]
# ## The comparison on your data
#
# The same `compare` as on the embedded datasets: unimodal baselines and fusions, same encoders
# and budget. With `out=`, every trained model is kept in `out/models/` together with the
# preprocessor that reads raw files for it.

# %%
out = work / "study"
results, summary = experiments.compare(data, fusions=["concat", "late"], seeds=[0],
                                       epochs=EPOCHS, patience=4, out=str(out), verbose=1)
print(experiments.markdown_table(summary))
print(sorted(os.listdir(out / "models")))

# %% [markdown]
# ## Predicting on new pictures
#
# Each saved model is a `MultimodalClassifier`: the network and the preprocessor that reads
# raw files for it, in one `.keras` file that `keras.models.load_model` opens (in safe mode).
# `classify` takes a batch of raw inputs — file paths, strings, arrays — with `None` where a
# modality is missing, and returns class names and probabilities; `predict` returns the
# probabilities alone, as for any Keras model. Here: the Twitter-style pictures of some test
# emoji, once with their names and once without.

# %%
model = keras.models.load_model(out / "models" / "my_emoji_concat_seed=0_fold=0.keras",
                                safe_mode=True)
print(type(model).__name__, model.preprocessor.columns)
new = table.set_index("file").loc[list(data.test.ids[:8])]
paths = []
for file, row in new.iterrows():
    path = work / f"new_{Path(file).name}"
    write_image(path, raw["image"][row["index"], 1])  # the other artist's drawing
    paths.append(str(path))
# A dict is keyed by modality (image, text, audio), whatever the CSV's columns were.
with_names = model.classify({"image": paths, "text": list(new.caption)})
pictures_only = model.classify({"image": paths, "text": [None] * len(paths)})
frame = with_names.to_frame()[["prediction", "confidence"]]
frame.insert(0, "truth", list(new.category))
frame["picture only"] = pictures_only.labels
frame

# %%
fig, axes = plt.subplots(1, len(paths), figsize=(1.6 * len(paths), 2))
for ax, path, label, truth in zip(axes, paths, with_names.labels, new.category):
    ax.imshow(plt.imread(path))
    ax.set_title(f"{label[:12]}\n({truth[:12]})", fontsize=7)
    ax.axis("off")

# %% [markdown]
# A table of new files is read by the columns the training table had (`file`, `caption`):

# %%
pd.DataFrame({"file": paths, "caption": list(new.caption)}).to_csv(work / "new.csv", index=False)
model.classify(work / "new.csv").to_frame()[["prediction", "confidence"]].head(3)

# %% [markdown]
# The same from the command line, on a CSV of new files:
#
# ```
# python -m mmkeras compare --csv emoji.csv --image file --text caption --label category --out study
# python -m mmkeras predict --model study/models/emoji_concat_seed=0_fold=0.keras --csv new.csv --out predictions.csv
# ```
#
# ## Summary
#
# `from_dataframe` turns a table of your files into the same dataset type as the embedded data:
# seeded splits, a training-only vocabulary, missing modalities as zeros with flags, ids that
# trace each sample to its file, and a preprocessor. `compare` runs on it unchanged and keeps
# its models; `keras.models.load_model` brings one back with everything needed to read new
# files, by the columns it was trained on.
#
# ## Exercises
#
# 1. Read the table with `missing="skip"`. How many rows go, and does the text-only baseline
#    change?
# 2. Give the CSV a `split` column of your own (e.g. by emoji subcategory) and pass
#    `split="split"`. Why might a split by subcategory be harder than a random one?
# 3. Save one of your own PNGs of an emoji at 64×64 and predict on it. What does the
#    preprocessor do to its size?
