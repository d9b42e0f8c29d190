"""Text preprocessing that needs no downloads: tokens, stop words, ids, augmentation.

NLTK's `word_tokenize` and its stop-word corpus need data downloaded with
`nltk.download`, which fails offline; the tokenizers used here (a Unicode
regular expression, NLTK's Treebank rules, the optional jieba segmenter) are
pure code. The stop-word list is NLTK's when its corpus is installed,
otherwise scikit-learn's built-in English list.
"""

import json
import re
import unicodedata
import zlib
from collections import Counter

import numpy as np

from mmkeras.utils import validation

PAD, OOV = 0, 1
PAD_TOKEN, OOV_TOKEN = "<pad>", "<oov>"
TOKENIZERS = ("regexp", "characters", "treebank", "jieba")
# Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer,
# Myanmar): without a segmenter, each character is a token.
_UNSPACED = (r"\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
             r"\u4e00-\u9fff\uf900-\ufaff")
_UNSPACED_CHAR = re.compile(f"([{_UNSPACED}])")
# A word: letters and digits of any script, with inner apostrophes ("don't").
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text, method="regexp", lowercase=True, stop_words=None):
    """Splits a text in any language into word tokens.

    The text is first normalised to Unicode NFKC (so "é" typed as "e" plus an
    accent, or full-width "Ａ", read as one letter), and "’" to "'".

    Args:
        text: A string.
        method: `"regexp"`: words of letters and digits in any script,
            keeping inner apostrophes ("don't"); scripts written without
            spaces (Chinese, Japanese, Thai...) give one token per character.
            `"characters"`: every non-space character. `"treebank"`: NLTK's
            Penn Treebank rules for English ("do", "n't", punctuation).
            `"jieba"`: Chinese word segmentation with the optional `jieba`
            package (`pip install jieba`), other scripts as `"regexp"`.
        lowercase: Lower-case before splitting.
        stop_words: Optional collection of words to drop.

    Example:

    >>> tokenize("Smiling face, with tears!")
    ['smiling', 'face', 'with', 'tears']
    >>> tokenize("Crème brûlée, naïve café")
    ['crème', 'brûlée', 'naïve', 'café']
    >>> tokenize("猫が好き")
    ['猫', 'が', '好', 'き']
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a string. Received: {text!r}")
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    if lowercase:
        text = text.lower()
    if method == "regexp":
        tokens = _WORD.findall(_UNSPACED_CHAR.sub(r" \1 ", text))
    elif method == "characters":
        tokens = [c for c in text if not c.isspace()]
    elif method == "treebank":
        from nltk.tokenize import TreebankWordTokenizer

        tokens = TreebankWordTokenizer().tokenize(text)
    elif method == "jieba":
        tokens = [t for piece in _jieba().cut(text) for t in _WORD.findall(piece)]
    else:
        raise ValueError(f"Unknown tokenizer. Received: method={method!r}; expected one of {TOKENIZERS}")
    if stop_words:
        stop = set(stop_words)
        tokens = [t for t in tokens if t not in stop]
    return tokens


def _jieba():
    try:
        import jieba
    except ImportError:
        raise ImportError("tokenize(method='jieba') needs the optional `jieba` package: "
                          "pip install jieba (or use method='regexp', which splits Chinese "
                          "into characters).") from None
    return jieba


def stop_words(language="english"):
    """NLTK's stop words when its corpus is installed, else an offline list.

    The offline fallback is scikit-learn's `ENGLISH_STOP_WORDS` (318 words,
    from the Glasgow Information Retrieval Group), for English only.

    Returns:
        `(set of words, source)` where source is `"nltk"` or `"sklearn"`.
    """
    try:
        from nltk.corpus import stopwords

        return set(stopwords.words(language)), "nltk"
    except LookupError:
        if language != "english":
            raise LookupError(
                f"NLTK's stop words for {language!r} are not installed and the offline "
                "fallback is English only. Online, run nltk.download('stopwords')."
            ) from None
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return set(ENGLISH_STOP_WORDS), "sklearn"


class Vocabulary:
    """Maps tokens to integer ids: 0 is padding, 1 is out-of-vocabulary.

    Example:

    >>> vocab = Vocabulary.build([["a", "cat"], ["a", "dog"]])
    >>> vocab.encode([["a", "bird"]], length=4)
    array([[2, 1, 0, 0]], dtype=int32)
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tokens[:2] != [PAD_TOKEN, OOV_TOKEN]:
            tokens = [PAD_TOKEN, OOV_TOKEN] + [t for t in tokens if t not in (PAD_TOKEN, OOV_TOKEN)]
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def build(cls, token_lists, max_size=None, min_count=1):
        """Most frequent tokens first (ties alphabetical), at most `max_size` ids."""
        counts = Counter(t for tokens in token_lists for t in tokens)
        ranked = sorted((t for t, c in counts.items() if c >= min_count),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max(max_size - 2, 0)]
        return cls([PAD_TOKEN, OOV_TOKEN] + ranked)

    def __len__(self):
        return len(self.tokens)

    def encode(self, token_lists, length, truncate="post"):
        """Ids padded with 0 (after the text) or truncated to `length`."""
        import keras

        validation.check_choice("truncate", truncate, ("pre", "post"))
        ids = [[self.index.get(t, OOV) for t in tokens] for tokens in token_lists]
        if not ids:
            return np.zeros((0, length), dtype="int32")
        return keras.utils.pad_sequences(ids, maxlen=length, dtype="int32", padding="post",
                                         truncating=truncate, value=PAD)

    def decode(self, ids):
        return [self.tokens[i] for i in ids if i != PAD]

    def to_json(self):
        return json.dumps(self.tokens)

    @classmethod
    def from_json(cls, text):
        return cls(json.loads(text))


SUBWORD_BUCKETS = 2 ** 16
NGRAM_SIZES = (3, 4, 5)


def word_ngrams(word, ngram_sizes=NGRAM_SIZES):
    """fastText's pieces of one word: the word in boundary marks, then its n-grams.

    The word is written `"<word>"`, so a prefix (`"<sm"`) and a suffix
    (`"ng>"`) differ from the same letters inside a word. Each piece is kept
    once, in order of first appearance.

    Args:
        word: A token (a string).
        ngram_sizes: Lengths of the character n-grams.

    Example:

    >>> word_ngrams("cat", ngram_sizes=(3,))
    ['<cat>', '<ca', 'cat', 'at>']
    """
    if not isinstance(word, str):
        raise TypeError(f"`word` must be a string. Received: {word!r}")
    ngram_sizes = validation.check_positive_ints("ngram_sizes", ngram_sizes)
    marked = f"<{word}>"
    pieces = [marked] + [marked[i:i + n] for n in ngram_sizes
                         for i in range(len(marked) - n + 1)]
    return list(dict.fromkeys(pieces))


def hash_subword(piece, buckets=SUBWORD_BUCKETS):
    """A stable bucket id in `1..buckets` for a string (CRC-32; 0 stays padding).

    Python's `hash` of a string changes from one process to the next; CRC-32
    does not, so a saved model reads the same ids in a new process.

    Example:

    >>> hash_subword("<cat>", buckets=1000)
    666
    """
    buckets = validation.check_positive_int("buckets", buckets)
    return zlib.crc32(piece.encode("utf-8")) % buckets + 1


def subword_ids(text, buckets=SUBWORD_BUCKETS, max_words=12, max_ngrams=24,
                ngram_sizes=NGRAM_SIZES, method="regexp"):
    """A text as hashed character n-grams, one row per word (fastText's subwords).

    The text is split into words (`tokenize`, hyphens read as spaces), each
    word into `word_ngrams`, and each piece hashed into `1..buckets`
    (`hash_subword`). A word never seen in training still shares most of its
    pieces with words that were ("smiling" and "smile" share `"<sm"`,
    `"smi"`, `"mil"`...), where a word vocabulary maps it to `<oov>`.

    Args:
        text: A string.
        buckets: Number of hash buckets (ids `1..buckets`; 0 is padding).
        max_words: Words kept (later words are cut).
        max_ngrams: Pieces kept per word (the whole word first, then its
            n-grams by size).
        ngram_sizes: Lengths of the character n-grams.
        method: The `tokenize` method that splits the words.

    Returns:
        `(max_words * max_ngrams,)` int32: row `w` of the
        `(max_words, max_ngrams)` reshape holds word `w`'s bucket ids,
        padded with 0.

    Example:

    >>> ids = subword_ids("Red heart", buckets=1000, max_words=3, max_ngrams=4,
    ...                   ngram_sizes=(3,))
    >>> ids.reshape(3, 4)[2].tolist(), bool((ids.reshape(3, 4)[:2] > 0).all())
    ([0, 0, 0, 0], True)
    """
    buckets = validation.check_positive_int("buckets", buckets)
    max_words = validation.check_positive_int("max_words", max_words)
    max_ngrams = validation.check_positive_int("max_ngrams", max_ngrams)
    ids = np.zeros((max_words, max_ngrams), dtype="int32")
    words = tokenize(text.replace("-", " ") if isinstance(text, str) else text,
                     method=method)[:max_words]
    for w, word in enumerate(words):
        pieces = word_ngrams(word, ngram_sizes)[:max_ngrams]
        ids[w, :len(pieces)] = [hash_subword(p, buckets) for p in pieces]
    return ids.reshape(-1)


def text_vectorization(texts, max_tokens=10000, sequence_length=100):
    """Keras' in-graph alternative: a `TextVectorization` layer adapted to `texts`.

    It lower-cases, strips punctuation, splits on whitespace, and outputs
    padded int ids (0 padding, 1 OOV) — the same conventions as `Vocabulary`,
    so its output feeds the mask-aware text encoders unchanged.
    """
    import keras

    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens, output_mode="int", output_sequence_length=sequence_length
    )
    layer.adapt(list(texts))
    return layer


def random_deletion(tokens, p=0.1, rng=None):
    """Drops each token with probability `p`, keeping at least one."""
    if not 0 <= p < 1:
        raise ValueError(f"`p` must be in [0, 1). Received: p={p!r}")
    rng = rng or np.random.default_rng()
    kept = [t for t in tokens if rng.random() >= p]
    if not kept and tokens:
        kept = [tokens[int(rng.integers(len(tokens)))]]
    return kept


def random_swap(tokens, n=1, rng=None):
    """Swaps two random positions, `n` times."""
    rng = rng or np.random.default_rng()
    tokens = list(tokens)
    if len(tokens) < 2:
        return tokens
    for _ in range(n):
        i, j = rng.choice(len(tokens), size=2, replace=False)
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return tokens
