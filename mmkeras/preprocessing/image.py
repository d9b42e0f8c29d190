"""Image preprocessing: reading with OpenCV, scaling, standardising, augmentation."""

import os

import numpy as np

from mmkeras.utils import validation

COLORS = ("rgb", "grayscale")


def read_image(path, size=None, color="rgb"):
    """Reads an image file with OpenCV as float32 in [0, 1].

    Transparent pixels (PNG alpha) are composited on white, as the emoji
    pictures of `data/` are.

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

    _check_color(color)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file not found. Received: path={str(path)!r}")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"OpenCV could not decode image file {str(path)!r} (corrupt or not an image)")
    if image.dtype == np.uint16:
        image = (image // 257).astype("uint8")
    if image.ndim == 3 and image.shape[-1] == 4:
        alpha = image[..., 3:].astype("float32") / 255.0
        image = (image[..., :3] * alpha + 255 * (1 - alpha)).round().astype("uint8")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return resize_image(image, size, color)


def resize_image(image, size=None, color="rgb"):
    """An image array as float32 in [0, 1] with the given size and colour.

    Args:
        image: `(h, w)`, `(h, w, 1)` or `(h, w, 3)` RGB, uint8 (0–255) or
            float (0–1).
        size: `(height, width)`, or `None` to keep it.
        color: `"rgb"` (grey images are repeated over 3 channels) or
            `"grayscale"` (colour images are converted, ITU-R 601 weights).
    """
    import cv2

    _check_color(color)
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3)):
        raise ValueError(f"An image must be (height, width[, 1 or 3 channels]). "
                         f"Received: shape={image.shape}")
    if image.dtype == np.uint8:
        image = image.astype("float32") / 255.0
    image = image.astype("float32")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if color == "grayscale" and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    elif color == "rgb" and image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if size is not None and tuple(size) != image.shape[:2]:
        height, width = (int(v) for v in size)
        shrinking = height * width < image.shape[0] * image.shape[1]
        image = cv2.resize(image, (width, height),
                           interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    if image.ndim == 2:
        image = image[..., None]
    return image.astype("float32")


def image_info(path):
    """`(height, width, color)` of an image file, read from its header only.

    `color` is `"grayscale"` for grey (and grey with alpha) images, else `"rgb"`.
    """
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file not found. Received: path={str(path)!r}")
    try:
        with Image.open(path) as im:
            width, height = im.size
            mode = im.mode
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"Could not read image file {str(path)!r}: {err}") from err
    return height, width, "grayscale" if mode in ("1", "L", "LA", "I", "I;16", "F") else "rgb"


def _check_color(color):
    validation.check_choice("color", color, COLORS)


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


def augmentation(rotation=0.05, zoom=0.1, translation=0.1, flip=False, contrast=0.0,
                 fill_value=0.0, seed=None):
    """In-graph random augmentation as a Keras model (active only in training).

    Args:
        rotation: Max rotation as a fraction of a full turn.
        zoom: Max zoom in or out as a fraction.
        translation: Max shift as a fraction of height and width.
        flip: Horizontal flips; leave off where mirroring changes the class
            (digits, text, emoji with direction).
        contrast: Max contrast change as a fraction (`RandomContrast`).
        fill_value: Value of the pixels a rotation, zoom or shift brings in
            (`1.0` for pictures on a white background in `[0, 1]`).
        seed: Seed of the random layers.

    Example:

    >>> aug = augmentation(rotation=0, zoom=0.1, translation=0.08, contrast=0.2,
    ...                    fill_value=1.0)
    >>> " ".join(layer.name.split("_")[1] for layer in aug.layers)
    'zoom translation contrast'
    >>> tuple(aug(np.ones((2, 8, 8, 3)), training=False).shape)
    (2, 8, 8, 3)
    """
    import keras

    for name, value in (("rotation", rotation), ("zoom", zoom), ("translation", translation),
                        ("contrast", contrast)):
        validation.check_rate(name, value)
    fill = {"fill_mode": "constant", "fill_value": float(fill_value)}
    steps = []
    if rotation:
        steps.append(keras.layers.RandomRotation(rotation, seed=seed, **fill))
    if zoom:
        steps.append(keras.layers.RandomZoom(zoom, seed=seed, **fill))
    if translation:
        steps.append(keras.layers.RandomTranslation(translation, translation, seed=seed,
                                                    **fill))
    if flip:
        steps.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if contrast:
        steps.append(keras.layers.RandomContrast(contrast, seed=seed))
    return keras.Sequential(steps, name="image_augmentation")
