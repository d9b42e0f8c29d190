"""Audio preprocessing: loading, MFCC and log-mel (librosa and tf.signal),
normalisation, padding, and augmentation.

librosa and tf.signal give different numbers for "the same" features, and
neither is wrong: librosa centres frames (pads half an FFT frame, n_fft // 2
samples, at both ends, so a 1 s clip at 8 kHz with hop 80 has 101 frames,
tf.signal 98), uses Slaney-style mel filters and a decibel scale (10·log10),
and its MFCC is an orthonormal DCT of dB values; tf.signal uses HTK mel
filters and the natural log. Pick one and use it for training and inference alike.
"""

import numpy as np

from mmkeras.utils import validation

SAMPLE_RATE = 8000
FRAME_LENGTH = 200  # 25 ms at 8 kHz
FRAME_STEP = 80  # 10 ms
FFT_LENGTH = 256
N_MELS = 40
N_MFCC = 13


def load_audio(path, sr=SAMPLE_RATE):
    """Reads an audio file as mono float32 at `sr` Hz (resampled by librosa).

    Raises:
        FileNotFoundError: naming the path, if it does not exist.
        ValueError: naming the path, if it cannot be decoded.
    """
    import os
    import warnings

    import librosa

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Audio file not found. Received: path={str(path)!r}")
    try:
        with warnings.catch_warnings():
            # librosa warns when soundfile cannot read a file and it falls back to
            # audioread; a file neither reads is reported below, naming it.
            warnings.filterwarnings("ignore", message="PySoundFile failed")
            warnings.filterwarnings("ignore", category=FutureWarning, module="librosa")
            wave, rate = librosa.load(path, sr=sr, mono=True)
    except Exception as err:
        raise ValueError(f"Could not decode audio file {str(path)!r}: {err}") from err
    if wave.size == 0:
        raise ValueError(f"Audio file {str(path)!r} holds no samples")
    return wave.astype("float32"), rate


def mfcc_librosa(wave, sr=SAMPLE_RATE, n_mfcc=N_MFCC, n_mels=N_MELS, n_fft=FFT_LENGTH,
                 hop_length=FRAME_STEP, win_length=FRAME_LENGTH):
    """MFCCs with librosa, `(frames, n_mfcc)` (frames centred)."""
    import librosa

    return librosa.feature.mfcc(y=wave, sr=sr, n_mfcc=n_mfcc, n_mels=n_mels, n_fft=n_fft,
                                hop_length=hop_length, win_length=win_length).T.astype("float32")


def logmel_librosa(wave, sr=SAMPLE_RATE, n_mels=N_MELS, n_fft=FFT_LENGTH,
                   hop_length=FRAME_STEP, win_length=FRAME_LENGTH):
    """Log-mel spectrogram in dB with librosa, `(frames, n_mels)`."""
    import librosa

    mel = librosa.feature.melspectrogram(y=wave, sr=sr, n_mels=n_mels, n_fft=n_fft,
                                         hop_length=hop_length, win_length=win_length)
    return librosa.power_to_db(mel).T.astype("float32")


def logmel_tf(waves, sr=SAMPLE_RATE, n_mels=N_MELS, frame_length=FRAME_LENGTH,
              frame_step=FRAME_STEP, fft_length=FFT_LENGTH):
    """Log-mel spectrogram (natural log) with tf.signal, in-graph.

    Args:
        waves: `(..., samples)` float tensor.

    Returns:
        `(..., frames, n_mels)` with `frames = 1 + (samples - frame_length) // frame_step`.
    """
    import tensorflow as tf

    stft = tf.signal.stft(waves, frame_length, frame_step, fft_length)
    power = tf.math.square(tf.abs(stft))
    matrix = tf.signal.linear_to_mel_weight_matrix(n_mels, fft_length // 2 + 1, sr, 20.0,
                                                   sr / 2.0)
    mel = tf.tensordot(power, matrix, 1)
    return tf.math.log(mel + 1e-6)


def mfcc_tf(waves, sr=SAMPLE_RATE, n_mfcc=N_MFCC, **kwargs):
    """MFCCs with tf.signal, in-graph: DCT of the log-mel spectrogram."""
    import tensorflow as tf

    return tf.signal.mfccs_from_log_mel_spectrograms(logmel_tf(waves, sr, **kwargs))[..., :n_mfcc]


FEATURES = ("mfcc", "logmel")


def audio_features(wave, sr=SAMPLE_RATE, features="mfcc", normalize=True):
    """The features mmkeras computes from a waveform, everywhere it reads audio.

    tf.signal MFCCs (13) or log-mel (40) per 10 ms frame of a mono clip,
    standardised per utterance and feature. The file reader, the TFDS loader,
    the `Preprocessor` of saved models and the CLI all call this one function,
    so training and prediction see the same numbers.

    Args:
        wave: `(samples,)` float waveform at `sr` Hz (shorter than one
            25 ms frame: zero-padded to one frame).
        sr: Sample rate.
        features: `"mfcc"` or `"logmel"`.
        normalize: Standardise each feature over the clip's frames.

    Returns:
        `(frames, 13)` or `(frames, 40)` float32.
    """
    validation.check_choice("features", features, FEATURES)
    wave = np.asarray(wave, dtype="float32")
    if wave.ndim != 1 or wave.size == 0:
        raise ValueError(f"A waveform must be a non-empty 1-D array. Received: shape={wave.shape}")
    wave = np.pad(wave, (0, max(FRAME_LENGTH - len(wave), 0)))
    compute = mfcc_tf if features == "mfcc" else logmel_tf
    frames = np.asarray(compute(wave, sr=sr), dtype="float32")
    return normalize_utterance(frames) if normalize else frames


def num_frames(samples, frame_length=FRAME_LENGTH, frame_step=FRAME_STEP):
    """Frames tf.signal makes of `samples` samples (no centring)."""
    return np.maximum(1 + (np.asarray(samples) - frame_length) // frame_step, 0)


def normalize_utterance(frames, length=None, eps=1e-5):
    """Per-utterance, per-feature standardisation over the real frames.

    Frames past `length` are set to 0 so they read as padding.
    """
    frames = np.asarray(frames, dtype="float32")
    length = len(frames) if length is None else int(length)
    real = frames[:length]
    out = np.zeros_like(frames)
    out[:length] = (real - real.mean(0)) / (real.std(0) + eps)
    return out


def pad_sequences(sequences, max_len=None, value=0.0):
    """Stacks `(frames_i, features)` arrays into `(n, max_len, features)`.

    Keras' `pad_sequences`, padding and cutting at the end (frames past a
    clip's length read as padding). Returns `(padded, lengths)`.
    """
    import keras

    if not len(sequences):
        raise ValueError("`sequences` is empty. Received: 0 sequences")
    lengths = np.array([len(s) for s in sequences])
    max_len = int(lengths.max()) if max_len is None else int(max_len)
    padded = keras.utils.pad_sequences([np.asarray(s, "float32") for s in sequences],
                                       maxlen=max_len, dtype="float32", padding="post",
                                       truncating="post", value=value)
    return padded, np.minimum(lengths, max_len)


# Augmentations on tensors, for tf.data `map` (training data only).

def add_noise(x, stddev, seed=None):
    """Adds gaussian noise to the real (non-zero) frames of `(…, frames, features)`."""
    import tensorflow as tf

    real = tf.cast(tf.reduce_any(tf.not_equal(x, 0), axis=-1, keepdims=True), x.dtype)
    return x + real * tf.random.normal(tf.shape(x), stddev=stddev, seed=seed, dtype=x.dtype)


def time_shift(wave, max_shift):
    """Rolls a waveform by up to `max_shift` samples either way."""
    import tensorflow as tf

    shift = tf.random.uniform([], -max_shift, max_shift + 1, dtype=tf.int32)
    return tf.roll(wave, shift, axis=-1)


def spec_augment(frames, time_masks=1, time_width=8, freq_masks=1, freq_width=3):
    """SpecAugment-style masking: zeroes random bands of frames and of features.

    Args:
        frames: `(frames, features)` tensor of one utterance.
    """
    import tensorflow as tf

    steps, features = tf.shape(frames)[0], tf.shape(frames)[1]
    keep = tf.ones_like(frames)
    for _ in range(time_masks):
        width = tf.random.uniform([], 0, time_width + 1, dtype=tf.int32)
        start = tf.random.uniform([], 0, tf.maximum(steps - width, 1), dtype=tf.int32)
        band = tf.logical_and(tf.range(steps) >= start, tf.range(steps) < start + width)
        keep *= 1.0 - tf.cast(band, frames.dtype)[:, None]
    for _ in range(freq_masks):
        width = tf.random.uniform([], 0, freq_width + 1, dtype=tf.int32)
        start = tf.random.uniform([], 0, tf.maximum(features - width, 1), dtype=tf.int32)
        band = tf.logical_and(tf.range(features) >= start, tf.range(features) < start + width)
        keep *= 1.0 - tf.cast(band, frames.dtype)[None, :]
    # A fully masked real frame would read as padding; keep a tiny value instead.
    real = tf.reduce_any(tf.not_equal(frames, 0), axis=-1, keepdims=True)
    masked = frames * keep
    return tf.where(real & tf.equal(masked, 0), tf.cast(1e-6, frames.dtype), masked)
