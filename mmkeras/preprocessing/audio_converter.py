"""`AudioConverter`: audio files, waveforms or feature frames → padded frame sequences."""

import os

import keras
import numpy as np

from mmkeras.preprocessing import audio as audio_lib
from mmkeras.preprocessing.converter import Converter
from mmkeras.utils import validation

# "precomputed": the model was trained on feature frames computed elsewhere
# (av_digits' MFCCs), which cannot be recomputed from a recording.
FEATURES = (*audio_lib.FEATURES, "precomputed")
_WIDTHS = {"mfcc": audio_lib.N_MFCC, "logmel": audio_lib.N_MELS}


@keras.saving.register_keras_serializable(package="mmkeras")
class AudioConverter(Converter):
    """Frames of audio features, standardised per utterance, padded to the batch's longest.

    A value is an audio file path (read with librosa at `sample_rate`), a
    waveform `(samples,)`, an already computed `(frames, num_features)` array,
    or a `.npy` file of one. Features are those of
    `mmkeras.preprocessing.audio.audio_features`.

    Args:
        features: `"mfcc"` (13 per frame), `"logmel"` (40), or `"precomputed"`:
            frames only (arrays or `.npy` files of `num_features` columns).
        num_features: Columns per frame; required for `"precomputed"`.
        sample_rate: Audio is resampled to this rate.
        max_frames: Frames kept per clip (`None`: all).

    Example:

    >>> converter = AudioConverter("precomputed", num_features=2)
    >>> frames, missing, _ = converter([np.ones((3, 2)), np.ones((1, 2)), None])
    >>> frames.shape, missing.tolist()
    ((3, 3, 2), [False, False, True])
    """

    def __init__(self, features="mfcc", num_features=None, sample_rate=audio_lib.SAMPLE_RATE,
                 max_frames=None):
        self.features = validation.check_choice("features", features, FEATURES)
        if features == "precomputed":
            num_features = validation.check_positive_int("num_features", num_features)
        elif num_features is not None and num_features != _WIDTHS[features]:
            raise ValueError(f"{features!r} frames have {_WIDTHS[features]} features. "
                             f"Received: num_features={num_features!r}")
        self.num_features = int(num_features or _WIDTHS[features])
        self.sample_rate = validation.check_positive_int("sample_rate", sample_rate)
        self.max_frames = validation.check_positive_int("max_frames", max_frames,
                                                        allow_none=True)

    @property
    def input_shape(self):
        return (None, self.num_features)

    def read(self, value):
        if isinstance(value, str) and value.endswith(".npy"):
            if not os.path.isfile(value):
                raise FileNotFoundError(f"Feature file not found. Received: path={value!r}")
            value = np.load(value)
        frames = self._from_file(value) if isinstance(value, str) else self._from_array(value)
        return frames[:self.max_frames] if self.max_frames else frames

    def _from_file(self, path):
        if self.features == "precomputed":
            raise ValueError(
                "This model was trained on precomputed audio features, not on audio files; give "
                f"a (frames, {self.num_features}) array or a .npy file of one. Received: {path!r}")
        wave, _ = audio_lib.load_audio(path, sr=self.sample_rate)
        return audio_lib.audio_features(wave, self.sample_rate, self.features)

    def _from_array(self, value):
        value = np.asarray(value, dtype="float32")
        if value.ndim == 1 and self.features != "precomputed":
            return audio_lib.audio_features(value, self.sample_rate, self.features)
        if value.ndim == 2 and value.shape[-1] == self.num_features:
            return value
        wanted = ("frames" if self.features == "precomputed" else "a waveform (samples,) or "
                  "frames")
        raise ValueError(f"Audio must be {wanted} (frames, {self.num_features}). "
                         f"Received: shape={value.shape}")

    def stack(self, arrays):
        length = max([len(a) for a in arrays if a is not None] + [1])
        frames = [np.zeros((0, self.num_features), "float32") if a is None else a
                  for a in arrays]
        if all(a is None for a in arrays):  # pad_sequences reads the width off a sample
            return np.zeros((len(arrays), length, self.num_features), "float32")
        return audio_lib.pad_sequences(frames, max_len=length)[0]

    def get_config(self):
        return {"features": self.features, "num_features": self.num_features,
                "sample_rate": self.sample_rate, "max_frames": self.max_frames}
