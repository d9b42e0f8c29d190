"""The source documents' image+text classifier, reproduced exactly."""

import keras
from keras import layers

from mmkeras.models.head import check_num_classes


def conv_lstm_classifier(image_shape=(224, 224, 3), sequence_length=100, vocab_size=10000,
                    embedding_dim=None, lstm_units=128, conv_filters=32, kernel_size=3,
                    pool_size=2, dense_units=128, num_classes=2, binary=False,
                    optimizer="adam", compile=True):
    """Builds the Conv2D + LSTM classifier of the source documents.

    image (224, 224, 3) → Conv2D(32, 3×3, relu) → MaxPooling2D(2×2) → Flatten;
    text (100,) → Embedding(10000, 128) → LSTM(128);
    concatenate → Dense(128, relu) → Dense(2, softmax),
    compiled with adam, categorical_crossentropy and accuracy.

    **Where the 51.9 M parameters are.** The model has 51,896,066 parameters
    and 50,483,328 of them (97%) sit in one layer: the Dense(128) after
    Flatten. A 3×3 convolution without padding turns 224 into 222 pixels,
    pooling halves that to 111, and Flatten keeps every position of every
    filter: 111·111·32 = 394,272 features, each with 128 weights. The
    convolution itself has only 896 parameters. Such a model memorises
    easily and trains slowly (≈ 200 MB of weights). `mmkeras.build_model`
    with `mmkeras.encoders.image_cnn` pools globally instead, so the image
    embedding has a few dozen features whatever the image size.

    **What differs from the documents' code, and why.** Nothing in the
    architecture or the compile call. Article 000 §5.2's model code runs as
    written on TensorFlow 2.21 / Keras 3.15 (same 51,896,066 parameters) and
    compiles by keyword, `compile(optimizer="adam",
    loss="categorical_crossentropy", metrics=["accuracy"])`, as every compile
    in the articles does; so does this function. (Written positionally, Keras 3
    would take `["accuracy"]` as `loss_weights` and `fit` would fail.) Here
    the text input is declared `int32` (token ids) and the layers carry names
    so that `model.summary()` reads well. Two of the articles' variants do
    not run as written and are not reproduced: 001 calls `.output` on the
    tensors its `extract_features` returns (`AttributeError: 'KerasTensor'
    object has no attribute 'output'`), and 002 feeds one `Input((None,))`
    to both a Conv2D and an Embedding (`ValueError: ... expected min_ndim=4,
    found ndim=2`). The documentation's page on the articles (`docs/articles.md`)
    lists every snippet, what it raises and the fix.

    Args:
        image_shape: Image input shape (224, 224, 3).
        sequence_length: Padded text length (100).
        vocab_size: Embedding input size (10000).
        embedding_dim: Embedding width; `None` means 128, or 64 when `binary`
            (the documents' binary variant).
        lstm_units: LSTM units (128).
        conv_filters: Conv2D filters (32).
        kernel_size: Conv2D kernel size (3).
        pool_size: MaxPooling2D size (2).
        dense_units: Width of the Dense after fusion (128).
        num_classes: Softmax classes (2). Labels are one-hot, as in the
            documents (`categorical_crossentropy`).
        binary: The documents' binary variant: one sigmoid unit, `binary_crossentropy`,
            Embedding width 64 unless given.
        optimizer: Optimizer for `compile` ("adam").
        compile: Whether to compile the model.

    Returns:
        A functional `keras.Model` with inputs named `"image"` and `"text"`;
        call or fit it with a dict or with the documents' list
        `[image, text]`.

    Example:

    >>> model = conv_lstm_classifier()
    >>> model.count_params()
    51896066
    """
    check_num_classes(num_classes, binary)
    if embedding_dim is None:
        embedding_dim = 64 if binary else 128
    image_input = keras.Input(shape=tuple(image_shape), name="image")
    image_conv = layers.Conv2D(conv_filters, kernel_size, activation="relu",
                               name="image_conv")(image_input)
    image_pool = layers.MaxPooling2D(pool_size, name="image_pool")(image_conv)
    image_flat = layers.Flatten(name="image_flatten")(image_pool)

    text_input = keras.Input(shape=(sequence_length,), dtype="int32", name="text")
    text_embedding = layers.Embedding(vocab_size, embedding_dim,
                                      name="text_embedding")(text_input)
    text_lstm = layers.LSTM(lstm_units, name="text_lstm")(text_embedding)

    combined = layers.Concatenate(name="fusion")([image_flat, text_lstm])
    dense = layers.Dense(dense_units, activation="relu", name="dense")(combined)
    if binary:
        output = layers.Dense(1, activation="sigmoid", name="output")(dense)
        loss = "binary_crossentropy"
    else:
        output = layers.Dense(num_classes, activation="softmax", name="output")(dense)
        loss = "categorical_crossentropy"
    model = keras.Model(inputs=[image_input, text_input], outputs=output,
                        name="conv_lstm_classifier")
    if compile:
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return model
