import keras
from keras import ops

from mmkeras.layers.composite_layer import CompositeLayer
from mmkeras.utils import validation


@keras.saving.register_keras_serializable(package="mmkeras")
class SubwordEmbedding(CompositeLayer):
    """Word vectors from hashed character n-grams (fastText), with the word mask.

    The input holds, for each of `max_words` words, `max_ngrams` bucket ids
    (`mmkeras.preprocessing.text.subword_ids`; 0 is padding), flattened to
    `(batch, max_words * max_ngrams)`. Each word's vector is the mean of
    its pieces' embeddings:
    `v_w = Σ_j m_wj E[id_wj] / max(Σ_j m_wj, 1)`, `m_wj = [id_wj > 0]`.
    An all-padding word gives zeros. The layer also produces the word mask
    `any_j m_wj` (Keras mask propagation), so the next mask-aware layers
    (`MaskedGlobalPooling1D`, recurrent layers) skip empty words.

    Args:
        buckets: Number of hash buckets (ids `1..buckets`).
        output_dim: Width of the piece (and word) vectors.
        max_words: Words per text.
        max_ngrams: Pieces per word.
        embeddings_initializer: Initializer of the `(buckets + 1, output_dim)`
            embedding table.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> layer = SubwordEmbedding(buckets=10, output_dim=4, max_words=2, max_ngrams=3)
    >>> ids = np.array([[1, 2, 0, 0, 0, 0]])
    >>> tuple(layer(ids).shape), keras.ops.convert_to_numpy(layer.compute_mask(ids)).tolist()
    ((1, 2, 4), [[True, False]])
    """

    def __init__(self, buckets, output_dim, max_words, max_ngrams,
                 embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.buckets = validation.check_positive_int("buckets", buckets)
        self.output_dim = validation.check_positive_int("output_dim", output_dim)
        self.max_words = validation.check_positive_int("max_words", max_words)
        self.max_ngrams = validation.check_positive_int("max_ngrams", max_ngrams)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embedding = keras.layers.Embedding(
            self.buckets + 1, self.output_dim,
            embeddings_initializer=self.embeddings_initializer, name="ngram_embedding")
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.max_words * self.max_ngrams:
            raise ValueError(
                f"SubwordEmbedding expects (batch, max_words * max_ngrams) = (batch, "
                f"{self.max_words * self.max_ngrams}) ids. Received: shape={input_shape}")
        self.embedding.build((None, self.max_words, self.max_ngrams))

    def _pieces(self, ids):
        return ops.reshape(ids, (-1, self.max_words, self.max_ngrams))

    def call(self, inputs):
        ids = self._pieces(inputs)
        present = ops.cast(ops.greater(ids, 0), self.compute_dtype)
        vectors = self.embedding(ids) * ops.expand_dims(present, -1)
        count = ops.sum(present, axis=2, keepdims=True)
        return ops.sum(vectors, axis=2) / ops.maximum(count, 1.0)

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.greater(self._pieces(inputs), 0), axis=2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.max_words, self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update({
            "buckets": self.buckets,
            "output_dim": self.output_dim,
            "max_words": self.max_words,
            "max_ngrams": self.max_ngrams,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        })
        return config
