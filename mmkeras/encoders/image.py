"""Image encoders: `(height, width, channels)` floats in [0, 1] → embedding.

Each encoder is a functional `keras.Model` with one input and one output (the
embedding). Two inner layers are named so fusions can reach them:
`"stem"` (shallow features, used by early fusion) and `"sequence"` (the
feature map as a sequence of positions, used by attention fusions).
"""

import keras
from keras import layers

from mmkeras.encoders._checks import (
    as_layers,
    check_arguments,
    check_input_shape,
    check_positive,
)
from mmkeras.layers import TiledMaxPooling2D
from mmkeras.utils import validation

_SHAPE = "(height, width, channels)"

# keras.applications backbones and the in-graph rescaling from [0, 1] that each
# expects (scale, offset); EfficientNet and MobileNetV3 rescale 0..255 inside.
BACKBONES = {
    "MobileNetV2": (2.0, -1.0),
    "MobileNetV3Small": (255.0, 0.0),
    "EfficientNetB0": (255.0, 0.0),
    "ResNet50V2": (2.0, -1.0),
}


def image_conv_flatten(input_shape=(224, 224, 3), filters=32, kernel_size=3, pool_size=2,
              name="image_encoder"):
    """The documents' image branch: Conv2D → MaxPooling2D → Flatten.

    With the defaults its embedding is 111·111·32 = 394,272 wide; that width
    is what gives the documents' classifier its 50 M-parameter Dense layer.

    Args:
        input_shape: `(height, width, channels)`.
        filters: Conv2D filters (the documents use 32).
        kernel_size: Conv2D kernel size (3).
        pool_size: MaxPooling2D size (2).
        name: Model name.

    Example:

    >>> image_conv_flatten(input_shape=(28, 28, 1)).output.shape
    (None, 5408)
    """
    shape = check_input_shape(input_shape, 3, _SHAPE, "image_conv_flatten")
    filters = check_positive("filters", filters, "image_conv_flatten")  # one layer
    kernel_size, pool_size, name = check_arguments(
        "image_conv_flatten", kernel_size=kernel_size, pool_size=pool_size, name=name)
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Conv2D(filters, kernel_size, activation="relu", name="conv")(inputs)
    x = layers.Identity(name="stem")(x)
    x = layers.MaxPooling2D(pool_size, name="pool")(x)
    # Flattening the (positions, filters) sequence equals flattening the map.
    x = layers.Reshape((-1, filters), name="sequence")(x)
    outputs = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, outputs, name=name)


def image_cnn(input_shape=(28, 28, 1), filters=(32, 64), embedding_dim=64,
              dropout=0.0, augmentation=None, name="image_encoder"):
    """A small modern CNN: [Conv-BN-ReLU → MaxPool] blocks, global pooling.

    Global average pooling instead of Flatten keeps the embedding (and the
    Dense layers after it) small whatever the image size.

    Args:
        input_shape: `(height, width, channels)`.
        filters: Filters of each block; each block halves the resolution.
        embedding_dim: Width of the final Dense projection; `None` keeps the
            pooled features (width `filters[-1]`).
        dropout: Dropout before the projection.
        augmentation: Optional layer applied to the input first, active in
            training only (e.g. `mmkeras.preprocessing.image.augmentation()`);
            it travels with the saved model and does nothing at inference.
        name: Model name.

    Example:

    >>> image_cnn(input_shape=(28, 28, 1), embedding_dim=64).output.shape
    (None, 64)
    """
    shape = check_input_shape(input_shape, 3, _SHAPE, "image_cnn")
    filters, embedding_dim, dropout, name = check_arguments(
        "image_cnn", filters=filters, embedding_dim=embedding_dim, dropout=dropout, name=name)
    filters = as_layers(filters)
    if augmentation is not None and not isinstance(augmentation, keras.layers.Layer):
        raise TypeError("`image_cnn`: `augmentation` must be a Keras layer or model. "
                        f"Received: augmentation={augmentation!r}")
    inputs = keras.Input(shape=shape, name="image")
    x = inputs if augmentation is None else augmentation(inputs)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv_{i + 1}")(x)
        # momentum 0.9, not Keras' 0.99: the small data sets here give few steps
        # per epoch, and slow moving statistics make early evaluations lag.
        x = layers.BatchNormalization(momentum=0.9, name=f"bn_{i + 1}")(x)
        x = layers.ReLU(name=f"relu_{i + 1}")(x)
        if i == 0:
            x = layers.Identity(name="stem")(x)
        # MaxPooling2D's outputs; its gradient is ~10x cheaper on JAX (XLA on CPU).
        x = TiledMaxPooling2D(2, padding="same", name=f"pool_{i + 1}")(x)
    x = layers.Reshape((-1, filters[-1]), name="sequence")(x)
    x = layers.GlobalAveragePooling1D(name="global_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    if embedding_dim:
        x = layers.Dense(embedding_dim, activation="relu", name="embedding")(x)
    return keras.Model(inputs, x, name=name)


def image_flatten_dense(input_shape=(28, 28, 1), embedding_dim=128, name="image_encoder"):
    """The documents' PyTorch variant: the image flattened into one Dense layer.

    No convolution at all: every pixel gets its own weights, so the layer has
    `height·width·channels·embedding_dim` of them and no notion of locality.

    Args:
        input_shape: `(height, width, channels)`.
        embedding_dim: Width of the Dense layer.
        name: Model name.

    Example:

    >>> image_flatten_dense(input_shape=(8, 8, 1), embedding_dim=16).count_params()
    1040
    """
    shape = check_input_shape(input_shape, 3, _SHAPE, "image_flatten_dense")
    embedding_dim = check_positive("embedding_dim", embedding_dim, "image_flatten_dense")
    (name,) = check_arguments("image_flatten_dense", name=name)
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Identity(name="stem")(inputs)
    # Rows of pixels as the sequence: the only structure this encoder keeps.
    x = layers.Reshape((shape[0], -1), name="sequence")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(embedding_dim, activation="relu", name="embedding")(x)
    return keras.Model(inputs, x, name=name)


def image_backbone(architecture="MobileNetV2", input_shape=(96, 96, 3), weights=None,
                   trainable=True, embedding_dim=None, name="image_encoder"):
    """A `keras.applications` backbone with global pooling.

    Downloading weights is optional and never happens by default:
    `weights=None` initialises randomly, a path loads a local weights file
    (e.g. one saved earlier by `keras.applications`), and `"imagenet"`
    downloads, which needs network access and fails clearly without it.

    Args:
        architecture: One of `BACKBONES`.
        input_shape: `(height, width, 3)`; images in [0, 1], rescaled in-graph
            to what the backbone expects.
        weights: `None`, a local weights file path, or `"imagenet"`.
        trainable: `False` freezes the backbone (transfer learning).
        embedding_dim: Optional Dense projection after pooling.
        name: Model name.

    Example:

    >>> enc = image_backbone("MobileNetV2", input_shape=(64, 64, 3))
    >>> enc.output.shape
    (None, 1280)
    """
    validation.check_choice("architecture", architecture, sorted(BACKBONES))
    shape = check_input_shape(input_shape, 3, _SHAPE, "image_backbone")
    trainable, embedding_dim, name = check_arguments(
        "image_backbone", trainable=trainable, embedding_dim=embedding_dim, name=name)
    if shape[-1] != 3:
        raise ValueError(
            "keras.applications backbones need 3 channels. "
            f"Received: input_shape={input_shape!r}"
        )
    local_file = None
    if weights not in (None, "imagenet"):
        import os

        if not os.path.isfile(str(weights)):
            raise FileNotFoundError(
                f"Weights file not found. Received: weights={weights!r}; expected "
                "None, 'imagenet' (downloads) or the path of a local weights file"
            )
        local_file = str(weights)
    builder = getattr(keras.applications, architecture)
    try:
        backbone = builder(
            include_top=False,
            weights="imagenet" if weights == "imagenet" else None,
            input_shape=shape,
            pooling=None,
        )
    except Exception as err:  # network errors come in many types
        if weights == "imagenet":
            raise RuntimeError(
                f"Could not download ImageNet weights for {architecture} ({err}). "
                "Offline, pass weights=None or the path of a weights file you "
                "downloaded earlier."
            ) from err
        raise
    if local_file:
        backbone.load_weights(local_file, skip_mismatch=False)
    backbone.trainable = trainable
    scale, offset = BACKBONES[architecture]
    inputs = keras.Input(shape=shape, name="image")
    x = layers.Rescaling(scale, offset, name="rescale")(inputs)
    x = layers.Identity(name="stem")(x)
    x = backbone(x, training=None if trainable else False)
    x = layers.Reshape((-1, x.shape[-1]), name="sequence")(x)
    x = layers.GlobalAveragePooling1D(name="global_pool")(x)
    if embedding_dim:
        x = layers.Dense(embedding_dim, activation="relu", name="embedding")(x)
    return keras.Model(inputs, x, name=name)
