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
