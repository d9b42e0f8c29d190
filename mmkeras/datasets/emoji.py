"""`emoji`: emoji pictures in two artistic styles with their names (image+text)."""

import numpy as np

from mmkeras.datasets.multimodal_dataset import MultimodalDataset, Split
from mmkeras.datasets.paths import data_file
from mmkeras.datasets.ragged import unpack_ragged
from mmkeras.preprocessing import (
    AudioConverter,
    ImageConverter,
    Preprocessor,
    SubwordTokenizer,
    TextTokenizer,
)
from mmkeras.preprocessing.text import Vocabulary, tokenize
from mmkeras.utils import validation

DESCRIPTION = (
    "1,906 emoji (Unicode 16, npm `emoji-datasource` 16.0.0, MIT) in two styles: Google "
    "Noto Emoji (Apache-2.0) and Twitter Twemoji (graphics CC BY 4.0, Twitter, Inc. and "
    "contributors), 32x32 RGB cut from the package's 32 px sheets and composited on white. "
    "Text: the emoji's name and short names. Optional audio (speech=True): synthetic "
    "speech (espeak-ng) of the first short name, as MFCCs. Label: its category (9; the 5 skin-tone "
    "'Component' entries are dropped) or subcategory (98). Splits are by emoji, so both "
    "pictures of an emoji are in the same split and the test emoji are unseen."
)
STYLES = ("google", "twitter")
TEXTS = {"name": lambda n, s: n, "short_names": lambda n, s: s.replace("_", " "),
         "name+short_names": lambda n, s: f"{n} {s.replace('_', ' ')}"}
LABELS = ("category", "subcategory")


def load_emoji(label="category", styles=STYLES, sequence_length=16, image_size=32,
               text="name+short_names", speech=False, max_frames=150, tokenizer="regexp",
               extra_labels=()):
    """Loads `emoji` as a `MultimodalDataset` with inputs `image` and `text`.

    Args:
        label: `"category"` (9 classes) or `"subcategory"` (98, some unseen in
            training).
        styles: Which picture styles to include; each is one sample per emoji.
        sequence_length: Token ids per text, padded with 0.
        image_size: Side of the images (resized with area interpolation).
        text: `"name"`, `"short_names"` or `"name+short_names"`.
        speech: Add a third modality, `audio`: SYNTHETIC speech (espeak-ng,
            random English voice) of the emoji's first short name, as 13 MFCCs
            per 10 ms frame, normalised per utterance and zero-padded.
        max_frames: Speech frames kept per clip (longer clips are cut).
        extra_labels: Other label columns to carry for multi-task models,
            e.g. `("subcategory",)` beside `label="category"`: each split's
            `targets[name]`, with class names in the dataset's
            `target_names[name]` (`split.y` stays `label`).
        tokenizer: `"regexp"` (words) or `"characters"`: a character
            vocabulary knows the letters of names never seen in training,
            where unseen words become out-of-vocabulary (`tokenize`).
            `"subwords"`: hashed character n-grams of each word
            (`SubwordTokenizer`, no vocabulary; `sequence_length` is then
            unused, the text is `(288,)`: 12 words of 24 pieces).

    Returns:
        Splits with `x = {"image": (n, s, s, 3) float32 in [0, 1],
        "text": (n, sequence_length) int32}`; the vocabulary is built on the
        training split only (ids 0 padding, 1 out-of-vocabulary).
    """
    validation.check_choice("label", label, LABELS)
    sequence_length = validation.check_positive_int("sequence_length", sequence_length)
    image_size = validation.check_positive_int("image_size", image_size)
    speech = validation.check_bool("speech", speech)
    max_frames = validation.check_positive_int("max_frames", max_frames)
    validation.check_choice("tokenizer", tokenizer, ("regexp", "characters", "subwords"))
    validation.check_choice("text", text, sorted(TEXTS))
    extra_labels = _check_extra_labels(extra_labels, label)
    styles = [styles] if isinstance(styles, str) else list(styles)
    if not styles or any(s not in STYLES for s in styles):
        raise ValueError(f"Unknown styles. Received: styles={styles}; expected some of {STYLES}")
    with np.load(data_file("emoji.npz")) as npz:
        raw = {k: npz[k] for k in npz.files}
    images = _images(raw, styles, image_size)
    texts = [TEXTS[text](n, s) for n, s in zip(raw["name"], raw["short_names"])]
    if tokenizer == "subwords":
        text_converter, vocabulary = SubwordTokenizer(), None
        text_ids = text_converter.stack([text_converter.read(t) for t in texts])
    else:
        tokens = [tokenize(t.replace("-", " "), method=tokenizer) for t in texts]
        vocabulary = Vocabulary.build([t for t, sp in zip(tokens, raw["split"])
                                       if sp == "train"])
        text_converter = TextTokenizer(vocabulary.tokens, sequence_length, tokenizer)
        text_ids = vocabulary.encode(tokens, sequence_length)
    x = {"image": images, "text": text_ids}
    if speech:
        x["audio"] = _speech(raw["unified"], max_frames)
    targets = {e: raw[e].astype("int32") for e in [label, *extra_labels]}
    shapes = {"image": (image_size, image_size, 3), "text": text_converter.input_shape}
    converters = {"image": ImageConverter((image_size, image_size), "rgb"),
                  "text": text_converter}
    if speech:
        shapes["audio"] = (None, 13)
        converters["audio"] = AudioConverter("precomputed", num_features=13,
                                             max_frames=max_frames)
    class_names = [str(c) for c in raw[f"{label}_names"]]
    return MultimodalDataset(
        name="emoji",
        splits=_splits(raw, x, targets, label, styles),
        class_names=class_names,
        input_shapes=shapes,
        vocabulary=None if vocabulary is None else vocabulary.tokens,
        description=DESCRIPTION,
        preprocessor=Preprocessor(converters, class_names, dataset="emoji"),
        label=label,
        target_names={e: [str(c) for c in raw[f"{e}_names"]] for e in extra_labels},
    )


def _check_extra_labels(extra_labels, label):
    extra_labels = [extra_labels] if isinstance(extra_labels, str) else list(extra_labels)
    if any(e not in LABELS or e == label for e in extra_labels) or \
            len(set(extra_labels)) != len(extra_labels):
        raise ValueError(f"Unknown or repeated extra_labels. Received: extra_labels={extra_labels}"
                         f"; expected some of {[l for l in LABELS if l != label]}")
    return extra_labels


def _images(raw, styles, image_size):
    """`(emoji, styles, s, s, 3)` uint8 pictures of the chosen styles at `image_size`."""
    images = raw["image"][:, [STYLES.index(s) for s in styles]]
    if image_size == images.shape[2]:
        return images
    import cv2

    flat = images.reshape((-1,) + images.shape[2:])
    flat = np.stack([cv2.resize(im, (image_size, image_size), interpolation=cv2.INTER_AREA)
                     for im in flat])
    return flat.reshape(images.shape[:2] + flat.shape[1:])


def _splits(raw, x, targets, label, styles):
    """Train, validation and test `Split`s by emoji, one sample per emoji and style."""
    n_styles, splits = len(styles), {}
    for name in ("train", "validation", "test"):
        rows = np.flatnonzero(raw["split"] == name)
        inputs = {"image": x["image"][rows].reshape((-1,) + x["image"].shape[2:])
                  .astype("float32") / 255.0}
        inputs.update({m: np.repeat(v[rows], n_styles, axis=0) for m, v in x.items()
                       if m != "image"})
        item_ids = [f"{raw['unified'][r]}/{style}" for r in rows for style in styles]
        repeated = {e: np.repeat(v[rows], n_styles) for e, v in targets.items()}
        splits[name] = Split(inputs, repeated.pop(label), item_ids, targets=repeated)
    return splits


def _speech(unified, max_frames):
    from mmkeras.preprocessing.audio import normalize_utterance

    with np.load(data_file("emoji_speech.npz")) as npz:
        if not np.array_equal(npz["unified"], unified):
            raise ValueError("data/emoji_speech.npz does not match data/emoji.npz; rebuild both "
                             "with scripts/build_data.py")
        frames, lengths = npz["frames"].astype("float32"), npz["lengths"]
    out = np.zeros((len(lengths), max_frames, frames.shape[1]), dtype="float32")
    for i, clip in enumerate(unpack_ragged(frames, lengths)):
        clip = clip[:max_frames]
        out[i, :len(clip)] = normalize_utterance(clip)
    return out
