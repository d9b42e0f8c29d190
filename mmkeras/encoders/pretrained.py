"""Encoders that start from trained weights: a `.keras` file, `keras.applications`,
keras-hub presets, and word vectors (GloVe / word2vec text files) for a text
encoder's `Embedding`.

Downloads happen only for `keras.applications` and keras-hub sources, for
users who are online; offline they fail within seconds with an error that
says how to get the weights (a `.keras` file made on a connected machine).
"""

import os

import numpy as np

APPLICATIONS_PREFIX = "keras.applications:"
KERAS_HUB_PREFIX = "keras_hub:"


def load_encoder(source, *, modality=None, input_shape=None, trainable=True):
    """A pretrained encoder: one input, one `(batch, features)` embedding.

    Args:
        source: One of
            - a `.keras` file: an encoder, a unimodal model or a fused model
              from `build_model` (then `modality` picks its
              `"<modality>_encoder"`); loaded with `safe_mode=True`;
            - `"keras.applications:<Name>"`, e.g.
              `"keras.applications:MobileNetV2"`: ImageNet weights, no top,
              global average pooling (downloads once, needs the network);
              the architectures of `mmkeras.encoders.BACKBONES` come through
              `image_backbone` and take images in [0, 1];
            - `"keras_hub:<preset>"`: a keras-hub backbone preset (needs
              `pip install keras-hub` and the network).
        modality: Which encoder of a multimodal `.keras` model to take.
        input_shape: Input shape for `keras.applications` models.
        trainable: Whether the encoder's weights train (freeze with `False`).

    Returns:
        A `keras.Model` usable in `build_model(encoders={...})`.

    Example:

    >>> # encoders = {"image": load_encoder("image_only.keras", modality="image"),
    >>> #             "audio": mmkeras.encoders.sequence_lstm(input_shape=(None, 13))}
    """
    if not isinstance(source, str) or not source:
        raise ValueError("`source` must be a .keras path, 'keras.applications:<Name>' or "
                         f"'keras_hub:<preset>'. Received: source={source!r}")
    if source.startswith(APPLICATIONS_PREFIX):
        encoder = _from_applications(source[len(APPLICATIONS_PREFIX):], input_shape)
    elif source.startswith(KERAS_HUB_PREFIX):
        encoder = _from_keras_hub(source[len(KERAS_HUB_PREFIX):])
    else:
        encoder = _from_file(source, modality)
    encoder.trainable = bool(trainable)
    return encoder


def _from_file(path, modality):
    import keras

    if not path.endswith(".keras"):
        raise ValueError("An encoder file must be a .keras file. Received: source="
                         f"{path!r}; or use 'keras.applications:<Name>' / 'keras_hub:<preset>'")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such encoder file. Received: source={path!r}")
    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    encoders = {layer.name[:-len("_encoder")]: layer for layer in model.layers
                if layer.name.endswith("_encoder") and isinstance(layer, keras.Model)}
    if not encoders:
        if len(model.inputs) == 1 and len(model.outputs) == 1 and \
                len(model.outputs[0].shape) == 2:
            return model
        raise ValueError(f"{path!r} holds neither an encoder nor a model with "
                         "'<modality>_encoder' layers")
    if modality is None and len(encoders) == 1:
        modality = next(iter(encoders))
    if modality not in encoders:
        raise ValueError(f"Unknown modality. Received: modality={modality!r}; {path!r} has "
                         f"encoders for {sorted(encoders)}")
    encoder = encoders[modality]
    return keras.Model(encoder.inputs[0], encoder.outputs[0], name=f"{modality}_pretrained")


def _from_applications(name, input_shape):
    """`image_backbone` (inputs in [0, 1], rescaled in-graph) for the architectures it
    knows; any other `keras.applications` model as is (inputs as that model expects)."""
    import keras

    from mmkeras.encoders.image import BACKBONES, image_backbone

    constructor = getattr(keras.applications, name, None)
    if not callable(constructor):
        raise ValueError(f"Unknown keras.applications model. Received: {name!r}; e.g. "
                         f"{sorted(BACKBONES)}")
    try:
        if name in BACKBONES:
            return image_backbone(name, input_shape=input_shape or (96, 96, 3),
                                  weights="imagenet", name="image_pretrained")
        return constructor(include_top=False, weights="imagenet", pooling="avg",
                           input_shape=input_shape)
    except Exception as err:  # noqa: BLE001 - any download failure gets the same advice
        if _is_network_error(err) or _is_network_error(err.__cause__):
            raise ConnectionError(
                f"keras.applications.{name} needs to download its ImageNet weights and the "
                f"network cannot be reached ({err.__cause__ or err}). On a connected machine "
                f"run `mmkeras.encoders.image_backbone({name!r}, weights='imagenet')"
                ".save('encoder.keras')`, copy the file here and pass its path.") from err
        raise


def _from_keras_hub(preset):
    try:
        import keras_hub
    except ImportError as err:
        raise ImportError("keras-hub presets need keras-hub: `pip install keras-hub`. "
                          f"Received: source='keras_hub:{preset}'") from err
    try:
        backbone = keras_hub.models.Backbone.from_preset(preset)
    except Exception as err:  # noqa: BLE001
        if _is_network_error(err):
            raise ConnectionError(
                f"keras-hub preset {preset!r} needs to be downloaded and the network cannot be "
                f"reached ({err}). Download it on a connected machine, save the encoder as a "
                ".keras file and pass its path.") from err
        raise
    return backbone


def _is_network_error(err):
    if err is None:
        return False
    text = f"{type(err).__name__} {err}".lower()
    return isinstance(err, (ConnectionError, TimeoutError)) or any(
        w in text for w in ("url fetch failure", "name or service not known", "urlopen",
                            "connection", "temporary failure in name resolution", "timed out",
                            "network is unreachable"))


def read_word_vectors(path, vocabulary, dim=None):
    """The vectors of a GloVe or word2vec text file for a vocabulary's tokens.

    One line per word: the word, then its numbers separated by spaces; a
    word2vec header line (`count dim`) is skipped. Only the vocabulary's
    words are kept, so a large file costs one pass and little memory.

    Args:
        path: The text file.
        vocabulary: Tokens by id (`dataset.vocabulary`); ids 0 (padding)
            and 1 (out-of-vocabulary) are not looked up.
        dim: Expected vector size; default that of the file's first vector.

    Returns:
        `(vectors, found)`: `vectors` is `(len(vocabulary), dim)` float32
        with the file's vector at each found word's id (zeros elsewhere);
        `found` is a boolean mask over ids.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such word-vector file. Received: path={path!r}")
    ids = {w: i for i, w in enumerate(vocabulary) if i >= 2}
    vectors, found = None, np.zeros(len(vocabulary), dtype=bool)
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            parts = line.rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                continue  # word2vec header
            if len(parts) < 2:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(f"{path!r} line {number}: expected {dim} numbers after the "
                                 f"word. Received: {len(parts) - 1}")
            if vectors is None:
                vectors = np.zeros((len(vocabulary), dim), dtype="float32")
            i = ids.get(parts[0])
            if i is not None and not found[i]:
                vectors[i] = np.asarray(parts[1:], dtype="float32")
                found[i] = True
    if vectors is None:
        raise ValueError(f"{path!r} holds no word vectors")
    return vectors, found


def set_word_vectors(encoder, path, vocabulary, trainable=True, layer="embedding"):
    """Puts a word-vector file's vectors into a text encoder's `Embedding`.

    Rows of words found in the file get their vectors; padding, the
    out-of-vocabulary id and words not in the file keep the layer's
    initialisation. The widths must agree (`text_bigru(embedding_dim=...)`).

    Args:
        encoder: A text encoder (`mmkeras.encoders.text_bigru`, ...) or a
            model holding its `Embedding` under the name `layer`.
        path: GloVe / word2vec text file.
        vocabulary: Tokens by id, the ones the encoder's inputs use.
        trainable: Keep training the embedding (`False` freezes it).
        layer: Name of the `Embedding` layer.

    Returns:
        `{"found": n, "unknown": [words not in the file]}`.
    """
    embedding = encoder.get_layer(layer)
    table = embedding.embeddings
    if table.shape[0] != len(vocabulary):
        raise ValueError(f"The embedding has {table.shape[0]} rows but the vocabulary "
                         f"{len(vocabulary)} tokens: build the encoder with "
                         f"vocab_size={len(vocabulary)}")
    vectors, found = read_word_vectors(path, vocabulary, dim=None)
    if vectors.shape[1] != table.shape[1]:
        raise ValueError(f"{path!r} has {vectors.shape[1]}-d vectors, the embedding is "
                         f"{table.shape[1]}-d. Received: embedding_dim={table.shape[1]}")
    weights = np.array(table.numpy() if hasattr(table, "numpy") else table, dtype="float32")
    weights[found] = vectors[found]
    table.assign(weights)
    embedding.trainable = bool(trainable)
    unknown = [w for i, w in enumerate(vocabulary) if i >= 2 and not found[i]]
    return {"found": int(found.sum()), "unknown": unknown}
