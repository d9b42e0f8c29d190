import numpy as np
import pytest
import tensorflow as tf

from mmkeras import datasets
from mmkeras.preprocessing import audio


@pytest.fixture(scope="module")
def clip():
    path = datasets.spoken_words.spoken_word_files()[0]["path"]
    return audio.load_audio(path)


def test_load_and_resample(clip):
    wave, sr = clip
    assert sr == 8000 and wave.dtype == np.float32 and 0 < np.abs(wave).max() <= 1
    path = datasets.spoken_words.spoken_word_files()[0]["path"]
    wave16, sr16 = audio.load_audio(path, sr=16000)
    assert sr16 == 16000 and abs(len(wave16) - 2 * len(wave)) <= 2


def test_bad_audio_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        audio.load_audio(tmp_path / "missing.wav")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(ValueError, match="corrupt.wav"):
        audio.load_audio(corrupt)


def test_librosa_and_tf_signal_features(clip):
    wave, sr = clip
    one_second = np.resize(wave, 8000)
    lib_mfcc = audio.mfcc_librosa(one_second, sr)
    tf_mfcc = np.asarray(audio.mfcc_tf(one_second, sr))
    # centring: librosa 1 + 8000 // 80 = 101 frames, tf.signal 1 + (8000 - 200) // 80 = 98
    assert lib_mfcc.shape == (101, 13) and tf_mfcc.shape == (98, 13)
    assert audio.num_frames(8000) == 98
    assert audio.logmel_librosa(one_second, sr).shape == (101, 40)
    assert np.asarray(audio.logmel_tf(one_second, sr)).shape == (98, 40)
    # batched, in a tf.function, same numbers as eager
    batch = np.stack([one_second, one_second[::-1].copy()])
    graph = tf.function(audio.mfcc_tf)(tf.constant(batch))
    np.testing.assert_allclose(graph.numpy()[0], tf_mfcc, rtol=1e-3, atol=1e-3)


def test_normalize_and_pad():
    rng = np.random.default_rng(0)
    frames = rng.normal(3, 2, (10, 4)).astype("float32")
    out = audio.normalize_utterance(frames, length=7)
    np.testing.assert_allclose(out[:7].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out[:7].std(0), 1, atol=1e-3)
    assert np.all(out[7:] == 0)
    padded, lengths = audio.pad_sequences([frames[:3], frames[:5]])
    assert padded.shape == (2, 5, 4) and list(lengths) == [3, 5] and np.all(padded[0, 3:] == 0)
    cut, lengths = audio.pad_sequences([frames], max_len=4)
    assert cut.shape == (1, 4, 4) and list(lengths) == [4]
    with pytest.raises(ValueError, match="empty"):
        audio.pad_sequences([])


def test_augmentations_keep_padding():
    x = np.zeros((2, 10, 13), "float32")
    x[:, :6] = np.random.default_rng(0).normal(size=(2, 6, 13))
    noisy = audio.add_noise(tf.constant(x), 0.5).numpy()
    assert np.all(noisy[:, 6:] == 0) and not np.allclose(noisy[:, :6], x[:, :6])
    masked = audio.spec_augment(tf.constant(x[0]), time_width=3, freq_width=3).numpy()
    assert masked.shape == (10, 13)
    np.testing.assert_array_equal(np.any(masked != 0, -1), np.any(x[0] != 0, -1))
    shifted = audio.time_shift(tf.range(10, dtype=tf.float32), 3).numpy()
    assert sorted(shifted) == list(range(10))
