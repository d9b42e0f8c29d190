"""`TextTokenizer`: strings → padded token ids from a fixed vocabulary;
`SubwordTokenizer`: strings → hashed character n-grams per word."""

import keras

from mmkeras.preprocessing.converter import Converter, stack_fixed
from mmkeras.preprocessing.text import (
    NGRAM_SIZES,
    SUBWORD_BUCKETS,
    TOKENIZERS,
    Vocabulary,
    subword_ids,
    tokenize,
)
from mmkeras.utils import validation


@keras.saving.register_keras_serializable(package="mmkeras")
class TextTokenizer(Converter):
    """Tokenises texts in any language and maps tokens to ids (0 padding, 1 unknown).

    A text with no token (e.g. only punctuation) counts as missing, like an
    empty cell: all padding, flagged.

    Args:
        vocabulary: The tokens in id order (`Vocabulary.tokens`), starting
            with `"<pad>"` and `"<oov>"`.
        sequence_length: Ids per text; longer texts are cut.
        method: A `mmkeras.preprocessing.text.tokenize` method.

    Example:

    >>> tokenizer = TextTokenizer(["<pad>", "<oov>", "red", "heart"], sequence_length=4)
    >>> ids, missing, _ = tokenizer(["Red heart", "blue heart", ""])
    >>> ids
    array([[2, 3, 0, 0],
           [1, 3, 0, 0],
           [0, 0, 0, 0]], dtype=int32)
    >>> missing.tolist()
    [False, False, True]
    """

    reads_files = False  # a text is the data, never a path to join to `base_dir`

    def __init__(self, vocabulary, sequence_length, method="regexp"):
        self.vocabulary = Vocabulary(list(vocabulary))
        self.sequence_length = validation.check_positive_int("sequence_length", sequence_length)
        self.method = validation.check_choice("method", method, TOKENIZERS)

    @property
    def input_shape(self):
        return (self.sequence_length,)

    def read(self, value):
        if not isinstance(value, str):
            raise ValueError(f"Texts must be strings. Received: {value!r}")
        tokens = tokenize(value, method=self.method)
        if not tokens:
            return None
        return self.vocabulary.encode([tokens], self.sequence_length)[0]

    def stack(self, arrays):
        return stack_fixed(arrays, self.input_shape, "int32")

    def get_config(self):
        return {"vocabulary": list(self.vocabulary.tokens),
                "sequence_length": self.sequence_length, "method": self.method}


@keras.saving.register_keras_serializable(package="mmkeras")
class SubwordTokenizer(Converter):
    """Texts → hashed character n-grams per word (fastText's subwords); no vocabulary.

    Each text becomes `subword_ids`: `max_words` rows of `max_ngrams`
    bucket ids, flattened. Words never seen in training still share pieces
    with training words, so they are not all `<oov>`. Feed the ids to
    `mmkeras.encoders.text_subword_bag` (or `mmkeras.layers.SubwordEmbedding`).

    A text with no word counts as missing: all padding, flagged.

    Args:
        buckets: Number of hash buckets (ids `1..buckets`, 0 padding).
        max_words: Words kept per text.
        max_ngrams: Pieces kept per word.
        ngram_sizes: Lengths of the character n-grams.
        method: The `tokenize` method that splits the words.

    Example:

    >>> tokenizer = SubwordTokenizer(buckets=1000, max_words=2, max_ngrams=4,
    ...                              ngram_sizes=(3,))
    >>> ids, missing, _ = tokenizer(["Red heart", ""])
    >>> ids.shape, missing.tolist()
    ((2, 8), [False, True])
    """

    reads_files = False

    def __init__(self, buckets=SUBWORD_BUCKETS, max_words=12, max_ngrams=24,
                 ngram_sizes=NGRAM_SIZES, method="regexp"):
        self.buckets = validation.check_positive_int("buckets", buckets)
        self.max_words = validation.check_positive_int("max_words", max_words)
        self.max_ngrams = validation.check_positive_int("max_ngrams", max_ngrams)
        self.ngram_sizes = validation.check_positive_ints("ngram_sizes", ngram_sizes)
        self.method = validation.check_choice("method", method, TOKENIZERS)

    @property
    def input_shape(self):
        return (self.max_words * self.max_ngrams,)

    def read(self, value):
        if not isinstance(value, str):
            raise ValueError(f"Texts must be strings. Received: {value!r}")
        ids = subword_ids(value, self.buckets, self.max_words, self.max_ngrams,
                          self.ngram_sizes, self.method)
        return ids if ids.any() else None

    def stack(self, arrays):
        return stack_fixed(arrays, self.input_shape, "int32")

    def get_config(self):
        return {"buckets": self.buckets, "max_words": self.max_words,
                "max_ngrams": self.max_ngrams, "ngram_sizes": list(self.ngram_sizes),
                "method": self.method}
