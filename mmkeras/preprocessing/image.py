"""Image preprocessing: reading with OpenCV, scaling, standardising, augmentation."""

import os

import numpy as np


def read_image(path, size=None, color="rgb"):
    """Reads an image file with OpenCV as float32 in [0, 1].

    Args:
        path: File path.
        size: `(height, width)` to resize to (area interpolation when
            shrinking, linear when enlarging), or `None`.
        color: `"rgb"` (3 channels; OpenCV's BGR converted) or `"grayscale"`
            (1 channel).

    Returns:
        `(height, width, channels)` float32.

    Raises:
        FileNotFoundError: naming the path, if it does not exist.
        ValueError: naming the path, if OpenCV cannot decode it.
    """
    import cv2

    if color not in ("rgb", "grayscale"):
        raise ValueError(f"`color` must be 'rgb' or 'grayscale'. Received: color={color!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file not found. Received: path={str(path)!r}")
    flag = cv2.IMREAD_GRAYSCALE if color == "grayscale" else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        raise ValueError(f"OpenCV could not decode image file {str(path)!r} (corrupt or not an image)")
    if color == "rgb":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if size is not None:
        height, width = size
        shrinking = height * width < image.shape[0] * image.shape[1]
        image = cv2.resize(image, (width, height),
                           interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    if image.ndim == 2:
        image = image[..., None]
    return image.astype("float32") / 255.0


def write_image(path, image):
    """Writes a float [0, 1] (or uint8) RGB/grey image with OpenCV."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.round(image * 255), 0, 255).astype("uint8")
    if image.ndim == 3 and image.shape[-1] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), image):
        raise ValueError(f"OpenCV could not write {str(path)!r}")


def standardize(images, mean=None, std=None, eps=1e-6):
    """Per-channel standardisation; returns `(images, mean, std)`.

    Compute `mean`/`std` on the training split and pass them for the others.
    """
    images = np.asarray(images, dtype="float32")
    axes = tuple(range(images.ndim - 1))
    mean = images.mean(axes) if mean is None else mean
    std = images.std(axes) if std is None else std
    return (images - mean) / (std + eps), mean, std


def augmentation(rotation=0.05, zoom=0.1, translation=0.1, flip=False, seed=None):
    """In-graph random augmentation as a Keras model (active only in training).

    Args:
        rotation: Max rotation as a fraction of a full turn.
        zoom: Max zoom in or out as a fraction.
        translation: Max shift as a fraction of height and width.
        flip: Horizontal flips; leave off where mirroring changes the class
            (digits, text, emoji with direction).
        seed: Seed of the random layers.
    """
    import keras

    steps = []
    if rotation:
        steps.append(keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed))
    if zoom:
        steps.append(keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed))
    if translation:
        steps.append(keras.layers.RandomTranslation(translation, translation,
                                                    fill_mode="constant", seed=seed))
    if flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed))
    return keras.Sequential(steps, name="image_augmentation")
