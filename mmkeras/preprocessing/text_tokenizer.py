"""`TextTokenizer`: strings → padded token ids from a fixed vocabulary."""

import keras

from mmkeras.preprocessing.converter import Converter, stack_fixed
from mmkeras.preprocessing.text import TOKENIZERS, Vocabulary, tokenize
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
