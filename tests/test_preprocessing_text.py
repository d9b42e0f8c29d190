import numpy as np
import pytest

from mmkeras.preprocessing import text
from mmkeras.preprocessing import text as text_lib


def test_tokenizers_need_no_downloads():
    assert text.tokenize("Smiling FACE, with tears!") == ["smiling", "face", "with", "tears"]
    assert text.tokenize("Don't go", method="treebank") == ["do", "n't", "go"]
    assert text.tokenize("the cat and the dog", stop_words={"the", "and"}) == ["cat", "dog"]
    with pytest.raises(ValueError, match="Received: method='bert'"):
        text.tokenize("x", method="bert")
    with pytest.raises(TypeError, match="Received: 3"):
        text.tokenize(3)


def test_stop_words_fall_back_offline():
    words, source = text.stop_words()
    assert source in ("nltk", "sklearn")
    assert {"the", "and", "of"} <= words


def test_vocabulary_ids_padding_truncation_and_json():
    vocab = text.Vocabulary.build([["b", "a", "a"], ["c", "a", "b"]])
    assert vocab.tokens == ["<pad>", "<oov>", "a", "b", "c"]
    ids = vocab.encode([["a", "zzz", "c"], ["a", "b", "c", "a", "b"]], length=4)
    np.testing.assert_array_equal(ids, [[2, 1, 4, 0], [2, 3, 4, 2]])
    np.testing.assert_array_equal(vocab.encode([["a", "b", "c", "a", "b"]], 2, truncate="pre"),
                                  [[2, 3]])
    assert vocab.decode(ids[0]) == ["a", "<oov>", "c"]
    assert text.Vocabulary.from_json(vocab.to_json()).tokens == vocab.tokens
    assert len(text.Vocabulary.build([["a"], ["b"], ["b"]], max_size=3)) == 3


def test_text_vectorization_uses_the_same_conventions():
    layer = text.text_vectorization(["a cat", "a dog"], sequence_length=4)
    ids = np.asarray(layer(["a cat bird"]))
    vocab = layer.get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"]
    assert ids[0, 2] == 1 and ids[0, 3] == 0


def test_augmentation():
    rng = np.random.default_rng(0)
    tokens = list("abcdefghij")
    kept = text.random_deletion(tokens, p=0.5, rng=rng)
    assert 0 < len(kept) < len(tokens) and all(t in tokens for t in kept)
    assert text.random_deletion(["only"], p=0.99, rng=rng) == ["only"]
    swapped = text.random_swap(tokens, n=2, rng=rng)
    assert sorted(swapped) == tokens and swapped != tokens
    with pytest.raises(ValueError, match="Received: p=1"):
        text.random_deletion(tokens, p=1)


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Crème brûlée, naïve café", ["crème", "brûlée", "naïve", "café"]),
        ("Cre\u0300me", ["crème"]),  # decomposed accent, NFKC-normalised
        ("猫が好き", ["猫", "が", "好", "き"]),
        ("图像和文本 model", ["图", "像", "和", "文", "本", "model"]),
        ("Don’t stop", ["don't", "stop"]),
        ("ＡＢＣ 123", ["abc", "123"]),
        ("NaN", ["nan"]),
    ],
)
def test_tokenize_any_language(text, tokens):
    assert text_lib.tokenize(text) == tokens


def test_tokenize_characters_and_unknown_method():
    assert text_lib.tokenize("a b猫", method="characters") == ["a", "b", "猫"]
    with pytest.raises(ValueError, match="Received: method='spacy'"):
        text_lib.tokenize("x", method="spacy")


def test_subword_pieces_and_stable_hash():
    assert text.word_ngrams("cat", ngram_sizes=(3,)) == ["<cat>", "<ca", "cat", "at>"]
    assert text.word_ngrams("aaaa", ngram_sizes=(2,)) == ["<aaaa>", "<a", "aa", "a>"]  # once each
    # CRC-32, not Python's salted hash: the same id in every process.
    import zlib

    assert text.hash_subword("<cat>", 1000) == zlib.crc32(b"<cat>") % 1000 + 1
    assert 1 <= text.hash_subword("x", 7) <= 7
    with pytest.raises(ValueError, match="Received: buckets=0"):
        text.hash_subword("x", 0)
    with pytest.raises(ValueError, match="Received: ngram_sizes=()"):
        text.word_ngrams("cat", ngram_sizes=())
    with pytest.raises(TypeError, match="Received: 3"):
        text.word_ngrams(3)


def test_subword_ids_share_pieces_between_related_words():
    ids = text.subword_ids("Smiling face", buckets=1000, max_words=3, max_ngrams=30)
    rows = ids.reshape(3, 30)
    assert ids.dtype == np.int32 and ids.shape == (90,)
    assert (rows[2] == 0).all() and (rows[:2, 0] > 0).all()
    smile = set(text.subword_ids("smile", buckets=1000, max_words=1, max_ngrams=30)) - {0}
    assert len(smile & set(rows[0])) >= 4  # "<sm", "smi", "mil", "<smi", ...
    # Hyphens split words; words and pieces beyond the limits are cut.
    assert (text.subword_ids("t-rex", max_words=2)[:24] > 0).any()
    assert (text.subword_ids("t-rex", max_words=2).reshape(2, 24)[1] > 0).any()
    assert (text.subword_ids("a b c", max_words=2, max_ngrams=1) > 0).sum() == 2
    with pytest.raises(ValueError, match="Received: max_words=0"):
        text.subword_ids("x", max_words=0)


def test_subword_tokenizer_reads_texts_and_round_trips():
    from mmkeras.preprocessing import Preprocessor, SubwordTokenizer

    tok = SubwordTokenizer(buckets=500, max_words=2, max_ngrams=5, ngram_sizes=(3,))
    ids, missing, _ = tok(["Red heart", "!!", "red"])
    assert ids.shape == (3, 10) and tok.input_shape == (10,)
    assert missing.tolist() == [False, True, False]
    np.testing.assert_array_equal(ids[2], text.subword_ids("red", 500, 2, 5, (3,)))
    prep = Preprocessor({"text": tok})
    again = Preprocessor.from_json(prep.to_json()).converters["text"]
    assert again.get_config() == tok.get_config()
    with pytest.raises(ValueError, match="Received: method='bert'"):
        SubwordTokenizer(method="bert")
    with pytest.raises(ValueError, match="Received: 5"):
        tok.read(5)
