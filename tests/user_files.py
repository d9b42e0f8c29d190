"""A small folder of a user's own files, written from data/ (shared by several test files)."""

import numpy as np
import pandas as pd

from mmkeras import datasets
from mmkeras.preprocessing.image import write_image


def write_user_files(root):
    """55 emoji PNGs with their names, each paired by class with a spoken-word WAV.

    Flags go with "yes" clips and smileys with "no" clips (class-level pairs,
    as in av_digits). Rows 3 and 10 have an empty caption, row 5 an empty
    audio path, row 7 an empty image path. Writes `root/table.csv` (relative
    image paths, absolute audio paths) and returns the table.
    """
    (root / "img").mkdir(exist_ok=True)
    raw = np.load(datasets.data_dir() / "emoji.npz")
    keep = np.flatnonzero(np.isin(raw["category"], [2, 6]))[::8]
    words = {w: [r["path"] for r in datasets.spoken_words.spoken_word_files() if r["word"] == w]
             for w in ("yes", "no")}
    rows = []
    for n, i in enumerate(keep):
        name = f"img/{raw['unified'][i]}.png"
        write_image(root / name, raw["image"][i, 0])
        label = str(raw["category_names"][raw["category"][i]])
        clips = words["yes" if label == "Flags" else "no"]
        rows.append({"image": name, "text": str(raw["name"][i]), "audio": clips[n % len(clips)],
                     "label": label})
    table = pd.DataFrame(rows)
    table.loc[[3, 10], "text"] = ""
    table.loc[5, "audio"] = ""
    table.loc[7, "image"] = ""
    table.to_csv(root / "table.csv", index=False)
    return table
