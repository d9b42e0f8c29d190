"""`spoken_words`: synthetic speech (espeak-ng) of ten command words, as WAV files."""

import csv

import numpy as np

from mmkeras.datasets.multimodal_dataset import MultimodalDataset, Split
from mmkeras.datasets.paths import data_file
from mmkeras.preprocessing import AudioConverter, Preprocessor
from mmkeras.preprocessing import audio as audio_lib
from mmkeras.utils import validation

DESCRIPTION = (
    "320 WAV clips (8 kHz, 16-bit mono) of the words yes, no, up, down, left, right, on, "
    "off, stop, go, SYNTHESISED by espeak-ng (Debian package, GPL-3; its output is not "
    "covered by the GPL) in 8 English accents x 4 voice variants with random speed and "
    "pitch. This is synthetic speech, not recordings of people: it exercises the waveform "
    "pipeline (loading, MFCC, log-mel), it does not measure real speech recognition."
)
FEATURES = ("mfcc", "logmel", "waveform")


def spoken_word_files():
    """Rows of `data/spoken_words/metadata.csv` with an absolute `path`."""
    folder = data_file("spoken_words")
    with open(data_file("spoken_words", "metadata.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["path"] = str(folder / row["file"])
    return rows


def load_spoken_words(features="mfcc", normalize=True):
    """Loads `spoken_words` as a `MultimodalDataset` with one input, `audio`.

    Args:
        features: `"mfcc"` (13 per frame) or `"logmel"` (40), computed
            in-graph with tf.signal, or `"waveform"` (raw samples, zero-padded).
        normalize: Per-utterance standardisation of the features.

    Returns:
        Splits with `x = {"audio": (n, frames, features)}` (or `(n, samples)`
        for waveforms), zero-padded at the end.
    """
    validation.check_choice("features", features, FEATURES)
    normalize = validation.check_bool("normalize", normalize)
    import soundfile

    rows = spoken_word_files()
    waves = [soundfile.read(r["path"], dtype="float32")[0] for r in rows]
    words = sorted({r["word"] for r in rows}, key=[r["word"] for r in rows].index)
    labels = np.array([words.index(r["word"]) for r in rows], dtype="int32")
    split = np.array([r["split"] for r in rows])
    samples = np.array([len(w) for w in waves])
    padded = np.zeros((len(waves), samples.max()), dtype="float32")
    for i, w in enumerate(waves):
        padded[i, : len(w)] = w
    if features == "waveform":
        x, shape = padded, (None,)
    else:
        compute = audio_lib.mfcc_tf if features == "mfcc" else audio_lib.logmel_tf
        x = np.array(compute(padded))
        lengths = audio_lib.num_frames(samples)
        for i, n in enumerate(lengths):
            x[i] = audio_lib.normalize_utterance(x[i], n) if normalize else x[i]
            x[i, n:] = 0
        shape = (None, x.shape[-1])
    ids = np.array([r["file"] for r in rows])
    splits = {name: Split({"audio": x[split == name]}, labels[split == name], ids[split == name])
              for name in ("train", "validation", "test")}
    preprocessor = None
    if features != "waveform" and normalize:
        preprocessor = Preprocessor(
            {"audio": AudioConverter(features, sample_rate=audio_lib.SAMPLE_RATE)}, words,
            dataset="spoken_words")
    return MultimodalDataset(name="spoken_words", splits=splits, class_names=words,
                             input_shapes={"audio": shape}, description=DESCRIPTION,
                             preprocessor=preprocessor)
