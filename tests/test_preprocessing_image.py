import keras
import numpy as np
import pytest

from mmkeras.preprocessing import image


def test_read_write_resize_and_colour(tmp_path):
    rgb = np.zeros((20, 30, 3), "uint8")
    rgb[..., 0] = 255  # pure red
    path = tmp_path / "red.png"
    image.write_image(path, rgb)
    loaded = image.read_image(path)
    assert loaded.shape == (20, 30, 3) and loaded.dtype == np.float32
    np.testing.assert_allclose(loaded[0, 0], [1, 0, 0])  # BGR converted to RGB
    small = image.read_image(path, size=(10, 15))
    assert small.shape == (10, 15, 3)
    grey = image.read_image(path, size=(8, 8), color="grayscale")
    assert grey.shape == (8, 8, 1)


def test_bad_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        image.read_image(tmp_path / "nothing.png")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="corrupt.png"):
        image.read_image(corrupt)
    with pytest.raises(ValueError, match="Received: color='bgr'"):
        image.read_image(corrupt, color="bgr")


def test_standardize_with_training_statistics():
    rng = np.random.default_rng(0)
    train = rng.random((10, 4, 4, 3)).astype("float32") * 5 + 2
    out, mean, std = image.standardize(train)
    np.testing.assert_allclose(out.mean((0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std((0, 1, 2)), 1, atol=1e-4)
    test, _, _ = image.standardize(train[:2], mean, std)
    np.testing.assert_allclose(test, out[:2], rtol=1e-5)


def test_augmentation_is_training_only():
    aug = image.augmentation(flip=True, seed=1)
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(aug(x, training=False)), x)
    assert not np.allclose(np.asarray(aug(x, training=True)), x)
    names = [type(l).__name__ for l in aug.layers]
    assert names == ["RandomRotation", "RandomZoom", "RandomTranslation", "RandomFlip"]
    assert isinstance(aug, keras.Model)


def test_augmentation_contrast_fill_and_bad_rates():
    aug = image.augmentation(rotation=0, zoom=0.1, translation=0.08, contrast=0.2,
                             fill_value=1.0, seed=1)
    assert [type(l).__name__ for l in aug.layers] == ["RandomZoom", "RandomTranslation",
                                                      "RandomContrast"]
    x = np.ones((2, 16, 16, 3), "float32")
    shifted = np.asarray(aug.layers[1](x, training=True))
    np.testing.assert_allclose(shifted, 1.0)  # white comes in, not black
    with pytest.raises(ValueError, match="Received: contrast=1.5"):
        image.augmentation(contrast=1.5)
