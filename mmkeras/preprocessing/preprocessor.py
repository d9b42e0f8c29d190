"""`Preprocessor`: raw inputs (files, arrays, strings, waveforms) to model inputs.

Whatever turned a dataset's raw items into arrays must travel with a model
trained on it, or the model cannot be used on new items (keras-hub pairs
each task with its preprocessor for the same reason). A `Preprocessor`
holds those settings per modality, and the class names, as plain JSON.
"""

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mmkeras.preprocessing import audio as audio_lib
from mmkeras.preprocessing.text import Vocabulary, tokenize

KINDS = ("image", "text", "audio", "frames")


class Preprocessor:
    """Turns raw inputs into the arrays a model takes, one spec per modality.

    Specs (plain dicts, so the whole preprocessor is JSON):

    - `{"kind": "image", "size": [h, w], "color": "rgb" | "grayscale"}`:
      a file path or an array (uint8 0–255 or float 0–1) → float32 in
      [0, 1], resized to `size`.
    - `{"kind": "text", "vocabulary": [...], "sequence_length": n,
      "tokenizer": "regexp"}`: a string → token ids (0 padding, 1 unknown).
    - `{"kind": "audio", "features": "mfcc" | "logmel", "sample_rate": sr,
      "max_frames": n or None}`: an audio file path, a waveform array, or an
      already computed `(frames, features)` array / `.npy` file → frames
      standardised per utterance (`mmkeras.preprocessing.audio.audio_features`).
    - `{"kind": "frames", "features": f, "max_frames": n or None}`:
      precomputed `(frames, f)` feature arrays or `.npy` files only.

    A missing value — `None`, NaN, an empty string or path, or a text with no
    word — gives all zeros for that sample (only padding for text and audio),
    as `ModalityDropout` and the robustness checks represent a missing
    modality, and is flagged in the returned `missing` dict.

    Args:
        inputs: `{modality: spec}`.
        class_names: The model's class names, label `i` = `class_names[i]`.
        base_dir: Folder relative paths start from (default: working directory).
        dataset: Name of the dataset the settings come from (informative).

    Example:

    >>> prep = Preprocessor({"text": {"kind": "text", "vocabulary": ["<pad>", "<oov>", "red",
    ...                      "heart"], "sequence_length": 4}}, class_names=["a", "b"])
    >>> x, missing = prep({"text": ["Red heart", ""]})
    >>> x["text"]
    array([[2, 3, 0, 0],
           [0, 0, 0, 0]], dtype=int32)
    >>> missing["text"]
    array([False,  True])
    """

    def __init__(self, inputs, class_names=None, base_dir=None, dataset=None):
        if not isinstance(inputs, dict) or not inputs:
            raise ValueError(f"`inputs` must be a non-empty dict {{modality: spec}}. "
                             f"Received: {inputs!r}")
        for modality, spec in inputs.items():
            kind = spec.get("kind") if isinstance(spec, dict) else None
            if kind not in KINDS:
                raise ValueError(f"Unknown input kind for {modality!r}. Received: {kind!r}; "
                                 f"expected one of {KINDS}")
        self.inputs = {m: dict(spec) for m, spec in inputs.items()}
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.base_dir = base_dir
        self.dataset = dataset
        self._vocabularies = {m: Vocabulary(s["vocabulary"]) for m, s in self.inputs.items()
                              if s["kind"] == "text"}

    @property
    def modalities(self):
        return list(self.inputs)

    def __call__(self, inputs, on_error="raise"):
        """`(x, missing)`: model inputs and missing flags for a batch of raw values.

        Args:
            inputs: `{modality: sequence of raw values}`, one per sample.
            on_error: `"raise"`: a file that cannot be read or decoded raises
                an error naming it. `"collect"`: also return `{sample index:
                reason}` of such samples (their inputs are zeros).
        """
        unknown = sorted(set(inputs) - set(self.inputs))
        absent = sorted(set(self.inputs) - set(inputs))
        if unknown or absent:
            raise ValueError(f"Inputs must be keyed by {self.modalities}. Received keys: "
                             f"{sorted(inputs)} (missing: {absent}, unexpected: {unknown}); "
                             "give None for a modality that is absent")
        sizes = {m: len(v) for m, v in inputs.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"Every modality needs one value per sample. Received: {sizes}")
        x, missing, failures = {}, {}, {}
        for modality in self.inputs:
            arrays, failed = self._read(modality, list(inputs[modality]), on_error)
            failures.update({i: f"{modality}: {msg}" for i, msg in failed.items()})
            missing[modality] = np.array([a is None for a in arrays], dtype=bool)
            x[modality] = self._stack(modality, arrays)
        return (x, missing, failures) if on_error == "collect" else (x, missing)

    def _read(self, modality, values, on_error):
        """One array per value (None where missing), files read in parallel, in order."""
        spec = self.inputs[modality]

        def read(value):
            if _is_missing(value):
                return None, None
            try:
                return self._read_one(modality, spec, value), None
            except (OSError, ValueError) as err:
                if on_error == "raise":
                    raise
                return None, str(err)

        workers = min(32, (os.cpu_count() or 1) + 4)
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(read, values))
        failed = {i: err for i, (_, err) in enumerate(results) if err is not None}
        return [a for a, _ in results], failed

    def _read_one(self, modality, spec, value):
        kind = spec["kind"]
        if kind == "image":
            return _image(self._path(value), spec)
        if kind == "text":
            if not isinstance(value, str):
                raise ValueError(f"{modality!r} values must be strings. Received: {value!r}")
            tokens = tokenize(value, method=spec.get("tokenizer", "regexp"))
            if not tokens:
                return None
            return self._vocabularies[modality].encode([tokens], spec["sequence_length"])[0]
        return _frames(self._path(value), spec)

    def _path(self, value):
        if isinstance(value, (str, os.PathLike)):
            value = os.fspath(value)
            if self.base_dir and not os.path.isabs(value):
                return os.path.join(self.base_dir, value)
        return value

    def _stack(self, modality, arrays):
        spec = self.inputs[modality]
        kind = spec["kind"]
        if kind == "text":
            empty = np.zeros(spec["sequence_length"], dtype="int32")
            return np.stack([empty if a is None else a for a in arrays]).astype("int32")
        if kind == "image":
            empty = np.zeros(self.input_shape(modality), dtype="float32")
            return np.stack([empty if a is None else a for a in arrays]).astype("float32")
        width = self.input_shape(modality)[-1]
        length = max([len(a) for a in arrays if a is not None] + [1])
        if all(a is None for a in arrays):  # pad_sequences infers the width from a sample
            return np.zeros((len(arrays), length, width), dtype="float32")
        frames = [np.zeros((0, width), "float32") if a is None else a for a in arrays]
        return audio_lib.pad_sequences(frames, max_len=length)[0]

    def input_shape(self, modality):
        """The model input shape of `modality` (no batch axis; `None` = variable)."""
        spec = self.inputs[modality]
        kind = spec["kind"]
        if kind == "image":
            return tuple(spec["size"]) + (1 if spec.get("color") == "grayscale" else 3,)
        if kind == "text":
            return (spec["sequence_length"],)
        if kind == "frames":
            return (None, spec["features"])
        return (None, audio_lib.N_MFCC if spec.get("features", "mfcc") == "mfcc"
                else audio_lib.N_MELS)

    def select(self, modalities):
        """A preprocessor for some of the modalities only."""
        return Preprocessor({m: self.inputs[m] for m in modalities}, self.class_names,
                            self.base_dir, self.dataset)

    def get_config(self):
        return {"inputs": self.inputs, "class_names": self.class_names, "dataset": self.dataset}

    @classmethod
    def from_config(cls, config):
        return cls(config["inputs"], config.get("class_names"), dataset=config.get("dataset"))

    def to_json(self):
        return json.dumps(self.get_config())

    @classmethod
    def from_json(cls, text):
        try:
            config = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"The preprocessor is not valid JSON: {err}") from err
        return cls.from_config(config)

    def __repr__(self):
        kinds = ", ".join(f"{m}: {s['kind']}" for m, s in self.inputs.items())
        classes = len(self.class_names) if self.class_names else 0
        return f"Preprocessor({kinds}; {classes} classes)"


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, (str, os.PathLike)) and not os.fspath(value).strip()


def _image(value, spec):
    from mmkeras.preprocessing.image import read_image, resize_image

    color = spec.get("color", "rgb")
    if isinstance(value, str):
        return read_image(value, size=spec["size"], color=color)
    return resize_image(value, size=spec["size"], color=color)


def _frames(value, spec):
    """Feature frames from an audio file, a `.npy` of frames, a waveform or frames."""
    width = (spec["features"] if spec["kind"] == "frames" else
             audio_lib.N_MFCC if spec.get("features", "mfcc") == "mfcc" else audio_lib.N_MELS)
    if isinstance(value, str) and value.endswith(".npy"):
        if not os.path.isfile(value):
            raise FileNotFoundError(f"Feature file not found. Received: path={value!r}")
        value = np.load(value)
    if isinstance(value, str):
        if spec["kind"] == "frames":
            raise ValueError(
                f"This model was trained on precomputed audio features, not on audio files; "
                f"give a (frames, {width}) array or a .npy file of one. Received: {value!r}")
        wave, _ = audio_lib.load_audio(value, sr=spec.get("sample_rate", audio_lib.SAMPLE_RATE))
        frames = audio_lib.audio_features(wave, spec.get("sample_rate", audio_lib.SAMPLE_RATE),
                                          spec.get("features", "mfcc"))
    else:
        value = np.asarray(value, dtype="float32")
        if value.ndim == 1 and spec["kind"] == "audio":
            frames = audio_lib.audio_features(
                value, spec.get("sample_rate", audio_lib.SAMPLE_RATE), spec.get("features", "mfcc"))
        elif value.ndim == 2 and value.shape[-1] == width:
            frames = value
        else:
            raise ValueError(f"Audio must be a waveform (samples,) or frames (frames, {width}). "
                             f"Received: shape={value.shape}")
    max_frames = spec.get("max_frames")
    return frames[:max_frames] if max_frames else frames
