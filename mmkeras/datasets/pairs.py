"""`load_pairs`: the embedded data as matching pairs, where `y` says which items match.

For retrieval and matching, a sample is a pair of two modalities that
belong together, and `Split.y` is its *match group*: items of the same
group match. `emoji` (image–text, audio–text, audio–image) matches at the
item level: the group is the emoji, whose two pictures share one name, and
`class_names[g]` is its name. `av_digits` (audio–image) only knows that a
spoken and a written digit are the same digit: the group is the digit,
so matching there is class-level (any "7" picture matches any spoken "7").
"""

import dataclasses

import numpy as np

from mmkeras.datasets.av_digits import load_av_digits
from mmkeras.datasets.emoji import load_emoji
from mmkeras.datasets.multimodal_dataset import Split
from mmkeras.datasets.paths import data_file
from mmkeras.utils import validation

PAIRS = {"emoji": (("image", "text"), ("audio", "text"), ("audio", "image")),
         "av_digits": (("audio", "image"),)}
# Characters: the longest emoji name has 78; longer names are cut. Subwords:
# `SubwordTokenizer`'s 12 words of 24 hashed pieces (the length is its own).
SEQUENCE_LENGTHS = {"regexp": 16, "characters": 64, "subwords": 288}


def load_pairs(dataset="emoji", modalities=None, tokenizer="regexp", styles=("google", "twitter")):
    """Loads an embedded dataset as pairs with match groups.

    Args:
        dataset: `"emoji"` or `"av_digits"`.
        modalities: Two modalities of `PAIRS[dataset]` (any order); default
            the first listed.
        tokenizer: emoji text: `"regexp"` (words; the vocabulary is the
            training names', so unseen words become out-of-vocabulary),
            `"characters"`, or `"subwords"` (hashed character n-grams of
            each word, `SubwordTokenizer`: unseen words share pieces with
            training words).
        styles: emoji picture styles.

    Returns:
        A `MultimodalDataset` whose `y` is the match group; `class_names[g]`
        names group `g` (the emoji's name, or the digit). Its
        `description` says whether matching is item- or class-level.

    Example:

    >>> data = load_pairs("emoji")
    >>> data.modalities, len(set(data.test.y)), len(data.test)
    (['image', 'text'], 192, 384)
    """
    validation.check_choice("dataset", dataset, sorted(PAIRS))
    modalities = tuple(sorted(modalities or PAIRS[dataset][0]))
    allowed = [tuple(sorted(p)) for p in PAIRS[dataset]]
    if modalities not in allowed:
        raise ValueError(f"Unknown pair of modalities for {dataset!r}. Received: "
                         f"modalities={list(modalities)}; expected one of {allowed}")
    if dataset == "av_digits":
        data = load_av_digits()
        return dataclasses.replace(data, description=(
            "Class-level matching: a spoken and a handwritten digit match when they are the "
            "same digit (the group is the digit). " + data.description))
    validation.check_choice("tokenizer", tokenizer, sorted(SEQUENCE_LENGTHS))
    data = load_emoji(text="name", tokenizer=tokenizer, styles=styles,
                      sequence_length=SEQUENCE_LENGTHS[tokenizer], speech="audio" in modalities)
    with np.load(data_file("emoji.npz")) as npz:
        unified, names = list(npz["unified"]), [str(n) for n in npz["name"]]
    position = {u: i for i, u in enumerate(unified)}
    splits = {}
    for name, split in data.splits.items():
        groups = np.array([position[str(i).split("/")[0]] for i in split.ids], dtype="int64")
        splits[name] = Split({m: split.x[m] for m in modalities}, groups, split.ids)
    return dataclasses.replace(
        data.select(list(modalities)), splits=splits, class_names=names, description=(
            "Item-level matching: a picture, its name and its spoken name match when they are "
            "the same emoji (the group; both styles of an emoji share it). Test emoji are "
            "unseen in training. " + data.description))


def unique_groups(split):
    """The first sample of each group, in order of appearance: `(rows, groups)`.

    For queries: each emoji's name once, not once per picture style.
    """
    _, rows = np.unique(split.y, return_index=True)
    rows = np.sort(rows)
    return rows, split.y[rows]


def shared_modalities(split):
    """Modalities whose items repeat within a group (emoji names, one per picture style)."""
    shared = []
    for modality, values in split.x.items():
        first = {}
        same = True
        for value, group in zip(values, split.y):
            if group in first:
                same = same and np.array_equal(first[group], value)
            else:
                first[group] = value
        if same and len(first) < len(split.y):
            shared.append(modality)
    return shared


def directions(split):
    """`[(query modality, gallery modality)]` both ways, named like `"text_to_image"`."""
    a, b = sorted(split.x)
    return [(a, b), (b, a)]


def query_and_gallery(split, query_modality, gallery_modality):
    """`(query x, query groups, gallery x, gallery groups)`; a shared modality once per group.

    Example:

    >>> from mmkeras.datasets import Split
    >>> pairs = Split({"image": np.arange(4), "text": np.array([7, 7, 8, 8])},
    ...               np.array([0, 0, 1, 1]), np.arange(4))
    >>> directions(pairs)
    [('image', 'text'), ('text', 'image')]
    >>> query, groups, gallery, gallery_groups = query_and_gallery(pairs, "text", "image")
    >>> query["text"], groups, gallery_groups
    (array([7, 8]), array([0, 1]), array([0, 0, 1, 1]))
    """
    shared = shared_modalities(split)

    def side(modality):
        rows = unique_groups(split)[0] if modality in shared else np.arange(len(split.y))
        return split.x[modality][rows], split.y[rows]

    (qx, qg), (gx, gg) = side(query_modality), side(gallery_modality)
    return {query_modality: qx}, qg, {gallery_modality: gx}, gg
