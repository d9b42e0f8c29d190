"""Text encoders: `(sequence_length,)` token ids, 0 = padding → embedding.

`text_subword_bag` reads hashed character n-grams instead
(`mmkeras.preprocessing.SubwordTokenizer`).

All are mask-aware: padding tokens after the text do not change the
embedding. Layers named `"stem"` (token embeddings) and `"sequence"`
(per-token states) are there for early and attention fusions.
"""

import keras
from keras import layers

from mmkeras.encoders._checks import check_arguments, check_positive
from mmkeras.layers import (
    ApplyMask,
    LastStep,
    MaskedGlobalPooling1D,
    PaddingMask,
    PositionEmbedding,
    SubwordEmbedding,
    TransformerEncoderBlock,
)
from mmkeras.utils.validation import check_divisible


def _token_input(sequence_length, vocab_size, encoder):
    sequence_length, vocab_size = check_arguments(
        encoder, sequence_length=sequence_length, vocab_size=vocab_size)
    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="text")
    return inputs, sequence_length, vocab_size


def _masked_embedding(encoder, sequence_length, vocab_size, embedding_dim, units, name):
    """The recurrent encoders' checked input and `mask_zero` embedding (named `stem`)."""
    embedding_dim = check_positive("embedding_dim", embedding_dim, encoder)
    units, name = check_arguments(encoder, units=units, name=name)
    inputs, _, vocab_size = _token_input(sequence_length, vocab_size, encoder)
    x = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(inputs)
    return inputs, layers.Identity(name="stem")(x), units, name


def text_lstm(sequence_length=100, vocab_size=10000, embedding_dim=128, units=128,
              name="text_encoder"):
    """The documents' text branch: Embedding → LSTM, last hidden state.

    Unlike the documents' code, the Embedding sets `mask_zero=True` so the
    LSTM skips padding (the parameter count is the same).

    Args:
        sequence_length: Padded length (`None` for variable length).
        vocab_size: Number of token ids, padding (0) and OOV included.
        embedding_dim: Embedding width (the documents use 128, and 64 in their binary variant).
        units: LSTM units (128).
        name: Model name.

    Example:

    >>> text_lstm(sequence_length=20, vocab_size=500, units=32).output.shape
    (None, 32)
    """
    inputs, x, units, name = _masked_embedding("text_lstm", sequence_length, vocab_size,
                                               embedding_dim, units, name)
    x = layers.LSTM(units, return_sequences=True, name="lstm")(x)
    x = layers.Identity(name="sequence")(x)
    # The last real step of a masked LSTM's sequence is its final state.
    outputs = LastStep(name="last_state")(x)
    return keras.Model(inputs, outputs, name=name)


def text_bigru(sequence_length=100, vocab_size=10000, embedding_dim=64, units=64,
               name="text_encoder"):
    """Embedding → bidirectional GRU → masked average of the states.

    Args:
        sequence_length: Padded length (`None` for variable length).
        vocab_size: Number of token ids.
        embedding_dim: Embedding width.
        units: GRU units per direction; the embedding is `2·units` wide.
        name: Model name.

    Example:

    >>> text_bigru(sequence_length=20, vocab_size=500, units=16).output.shape
    (None, 32)
    """
    inputs, x, units, name = _masked_embedding("text_bigru", sequence_length, vocab_size,
                                               embedding_dim, units, name)
    x = layers.Bidirectional(layers.GRU(units, return_sequences=True), name="bigru")(x)
    x = layers.Identity(name="sequence")(x)
    outputs = MaskedGlobalPooling1D("avg", name="pool")(x)
    return keras.Model(inputs, outputs, name=name)


def text_conv1d(sequence_length=100, vocab_size=10000, embedding_dim=64, filters=128,
                kernel_size=5, name="text_encoder"):
    """Embedding → Conv1D → masked global max pooling (a Kim-style text CNN).

    Padding embeddings are zeroed before the convolution, which pads with
    zeros too, so extra padding cannot leak into the real tokens' features.

    Args:
        sequence_length: Padded length (`None` for variable length).
        vocab_size: Number of token ids.
        embedding_dim: Embedding width.
        filters: Conv1D filters (the embedding width).
        kernel_size: Conv1D window in tokens.
        name: Model name.

    Example:

    >>> text_conv1d(sequence_length=20, vocab_size=500, filters=16).output.shape
    (None, 16)
    """
    embedding_dim = check_positive("embedding_dim", embedding_dim, "text_conv1d")
    filters = check_positive("filters", filters, "text_conv1d")  # one layer
    kernel_size, name = check_arguments("text_conv1d", kernel_size=kernel_size, name=name)
    inputs, sequence_length, vocab_size = _token_input(sequence_length, vocab_size, "text_conv1d")
    mask = PaddingMask(name="padding_mask")(inputs)
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    x = ApplyMask(name="stem")(x, mask=mask)
    x = layers.Conv1D(filters, kernel_size, padding="same", activation="relu", name="conv")(x)
    x = ApplyMask(name="sequence")(x, mask=mask)
    outputs = MaskedGlobalPooling1D("max", name="pool")(x, mask=mask)
    return keras.Model(inputs, outputs, name=name)


def text_transformer(sequence_length=100, vocab_size=10000, embedding_dim=64, num_heads=2,
                     ff_dim=128, num_layers=1, dropout=0.1, name="text_encoder"):
    """Token + position embeddings → Transformer blocks → masked average.

    Args:
        sequence_length: Padded length (required: positions are learned).
        vocab_size: Number of token ids.
        embedding_dim: Model width.
        num_heads: Attention heads; each has `embedding_dim // num_heads` dims.
        ff_dim: Feed-forward width.
        num_layers: Number of blocks.
        dropout: Dropout rate inside the blocks.
        name: Model name.

    Example:

    >>> text_transformer(sequence_length=20, vocab_size=500).output.shape
    (None, 64)
    """
    if sequence_length is None:
        raise ValueError(
            "`text_transformer` learns position embeddings and needs a fixed "
            "length. Received: sequence_length=None"
        )
    embedding_dim = check_positive("embedding_dim", embedding_dim, "text_transformer")
    num_heads, ff_dim, num_layers, dropout, name = check_arguments(
        "text_transformer", num_heads=num_heads, ff_dim=ff_dim, num_layers=num_layers,
        dropout=dropout, name=name)
    check_divisible("embedding_dim", embedding_dim, "num_heads", num_heads, "text_transformer")
    inputs, sequence_length, vocab_size = _token_input(sequence_length, vocab_size,
                                                       "text_transformer")
    mask = PaddingMask(name="padding_mask")(inputs)
    x = layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    x = PositionEmbedding(sequence_length, name="position_embedding")(x)
    x = layers.Identity(name="stem")(x)
    for i in range(num_layers):
        x = TransformerEncoderBlock(
            num_heads=num_heads,
            key_dim=embedding_dim // num_heads,
            ff_dim=ff_dim,
            dropout=dropout,
            name=f"transformer_{i + 1}",
        )(x, mask=mask)
    x = layers.LayerNormalization(epsilon=1e-6, name="final_norm")(x)
    x = layers.Identity(name="sequence")(x)
    outputs = MaskedGlobalPooling1D("avg", name="pool")(x, mask=mask)
    return keras.Model(inputs, outputs, name=name)


def text_subword_bag(max_words=12, max_ngrams=24, buckets=2 ** 16, embedding_dim=64,
                     output_dim=128, name="text_encoder"):
    """Hashed character n-grams → word vectors (fastText) → masked mean → Dense.

    Each word is the mean of its n-gram embeddings (`SubwordEmbedding`), the
    text the mean of its words, `h = ReLU(W · mean_w v_w + b)`. A bag of
    words with no order, but words never seen in training are built from
    pieces that were: on emoji's 192 unseen test names it retrieves better
    than word or character sequences (see results/retrieval/).

    Args:
        max_words: Words per text (`SubwordTokenizer.max_words`).
        max_ngrams: Pieces per word (`SubwordTokenizer.max_ngrams`).
        buckets: Hash buckets (`SubwordTokenizer.buckets`).
        embedding_dim: Width of the n-gram and word vectors.
        output_dim: Width of the final Dense layer (the embedding).
        name: Model name.

    Example:

    >>> text_subword_bag(max_words=4, max_ngrams=6, buckets=100).output.shape
    (None, 128)
    """
    max_words, max_ngrams, buckets, output_dim = (
        check_positive(k, v, "text_subword_bag") for k, v in (
            ("max_words", max_words), ("max_ngrams", max_ngrams), ("buckets", buckets),
            ("output_dim", output_dim)))
    embedding_dim = check_positive("embedding_dim", embedding_dim, "text_subword_bag")
    (name,) = check_arguments("text_subword_bag", name=name)
    inputs = keras.Input(shape=(max_words * max_ngrams,), dtype="int32", name="text")
    x = SubwordEmbedding(buckets, embedding_dim, max_words, max_ngrams,
                         name="subword_embedding")(inputs)
    x = layers.Identity(name="stem")(x)
    x = layers.Identity(name="sequence")(x)
    x = MaskedGlobalPooling1D("avg", name="pool")(x)
    outputs = layers.Dense(output_dim, activation="relu", name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)
