"""`ImageConverter`: image files or arrays → float32 images in [0, 1] of one size."""

import keras

from mmkeras.preprocessing import image as image_lib
from mmkeras.preprocessing.converter import Converter, stack_fixed
from mmkeras.utils import validation


@keras.saving.register_keras_serializable(package="mmkeras")
class ImageConverter(Converter):
    """Reads images (OpenCV) or takes arrays, resized to `size`, scaled to [0, 1].

    A value is a file path, or an array (uint8 0–255 or float 0–1) of shape
    `(h, w)`, `(h, w, 1)` or `(h, w, 3)`.

    Args:
        size: `(height, width)` of the model's image input.
        color: `"rgb"` (3 channels) or `"grayscale"` (1).

    Example:

    >>> converter = ImageConverter(size=(4, 4), color="grayscale")
    >>> images, missing, _ = converter([np.ones((8, 8), "uint8") * 255, None])
    >>> images.shape, float(images[0].max()), missing.tolist()
    ((2, 4, 4, 1), 1.0, [False, True])
    """

    def __init__(self, size, color="rgb"):
        size = validation.check_positive_ints("size", size)
        if len(size) != 2:
            raise ValueError(f"`size` must be (height, width). Received: size={size!r}")
        self.size = [int(s) for s in size]
        self.color = validation.check_choice("color", color, image_lib.COLORS)

    @property
    def input_shape(self):
        return (*self.size, 1 if self.color == "grayscale" else 3)

    def read(self, value):
        if isinstance(value, str):
            return image_lib.read_image(value, size=self.size, color=self.color)
        return image_lib.resize_image(value, size=self.size, color=self.color)

    def stack(self, arrays):
        return stack_fixed(arrays, self.input_shape, "float32")

    def get_config(self):
        return {"size": list(self.size), "color": self.color}
