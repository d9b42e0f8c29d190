"""Converters and the Preprocessor: raw values to model inputs, columns, config round trips."""

import json
import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from mmkeras.preprocessing import (
    AudioConverter,
    ImageConverter,
    Preprocessor,
    TextTokenizer,
    as_columns,
    is_missing,
)

VOCABULARY = ["<pad>", "<oov>", "red", "heart"]


def _preprocessor():
    return Preprocessor({"image": ImageConverter((4, 4), "grayscale"),
                         "text": TextTokenizer(VOCABULARY, 3),
                         "audio": AudioConverter("precomputed", num_features=2)},
                        class_names=["x", "y"], columns={"image": "file", "text": "caption",
                                                         "label": "kind"})


def test_each_converter_reads_its_values_and_flags_the_missing():
    images, missing, _ = ImageConverter((4, 4), "rgb")([np.zeros((8, 8), "uint8"), None])
    assert images.shape == (2, 4, 4, 3) and missing.tolist() == [False, True]
    ids, missing, _ = TextTokenizer(VOCABULARY, 3)(["heart red red red", "!!", "blue"])
    assert ids.tolist() == [[3, 2, 2], [0, 0, 0], [1, 0, 0]] and missing.tolist() == [
        False, True, False]
    frames, missing, _ = AudioConverter("precomputed", num_features=2)([np.ones((3, 2)), ""])
    assert frames.shape == (2, 3, 2) and not frames[1].any() and missing.tolist() == [False, True]
    frames, _, _ = AudioConverter("precomputed", num_features=2)([None, None])
    assert frames.shape == (2, 1, 2)


def test_texts_are_never_joined_to_the_base_folder(tmp_path):
    # Regression: with base_dir set, "red heart" was read as the path tmp_path/red heart.
    ids, _, _ = TextTokenizer(VOCABULARY, 3)(["red heart"], base_dir=tmp_path)
    assert ids.tolist() == [[2, 3, 0]]


@pytest.mark.parametrize("converter", [ImageConverter((4, 5), "grayscale"),
                                       TextTokenizer(VOCABULARY, 3, "characters"),
                                       AudioConverter("logmel", sample_rate=16000, max_frames=9)])
def test_converters_serialise_with_keras(converter):
    config = keras.saving.serialize_keras_object(converter)
    again = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert type(again) is type(converter) and again.get_config() == converter.get_config()


@pytest.mark.parametrize("make, message", [
    (lambda: ImageConverter((4,)), r"\(height, width\)"),
    (lambda: ImageConverter((4, 4), "cmyk"), r"`color` must be one of 'rgb', 'grayscale'"),
    (lambda: TextTokenizer(VOCABULARY, 0), r"sequence_length=0"),
    (lambda: AudioConverter("wav"), r"`features` must be one of"),
    (lambda: AudioConverter("precomputed"), r"num_features=None"),
    (lambda: AudioConverter("mfcc", num_features=40), r"'mfcc' frames have 13 features"),
])
def test_converter_arguments_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_table_is_read_by_the_training_columns_or_by_overrides(tmp_path):
    prep = _preprocessor()
    table = pd.DataFrame({"file": ["a.png"], "caption": ["red"], "audio": [""], "kind": ["y"]})
    table.to_csv(tmp_path / "new.csv", index=False)
    inputs, labels, base_dir = prep.read_table(tmp_path / "new.csv")
    assert inputs == {"image": ["a.png"], "text": ["red"], "audio": [""]} and labels == ["y"]
    assert base_dir == str(tmp_path)
    renamed = table.rename(columns={"file": "path"})
    with pytest.raises(ValueError, match=r"image from column 'file'.*columns=\{modality"):
        prep.read_table(renamed)
    inputs, _, _ = prep.read_table(renamed, columns={"image": "path"})
    assert inputs["image"] == ["a.png"]
    assert prep.encode_labels(labels).tolist() == [1]


def test_a_modality_left_out_is_missing_for_every_sample():
    # Two modalities left out: both get one None per sample (mmkeras 0.1 gave the second none).
    columns = as_columns({"text": ["red", "heart"]}, ["image", "text", "audio"])
    assert columns == {"text": ["red", "heart"], "image": [None, None], "audio": [None, None]}
    x, missing = _preprocessor()(columns)
    assert x["image"].shape == (2, 4, 4, 1) and missing["audio"].tolist() == [True, True]
    with pytest.raises(ValueError, match="one value per sample. Received: image=1, text=2"):
        as_columns({"image": ["a"], "text": ["b", "c"]}, ["image", "text"])


def test_the_preprocessor_round_trips_and_reads_the_format_of_mmkeras_0_1():
    prep = _preprocessor()
    again = keras.saving.deserialize_keras_object(
        json.loads(json.dumps(keras.saving.serialize_keras_object(prep))))
    assert again.get_config() == prep.get_config() and again.select(["text"]).modalities == [
        "text"]
    old = {"inputs": {"text": {"kind": "text", "vocabulary": VOCABULARY, "sequence_length": 3},
                      "audio": {"kind": "frames", "features": 13, "max_frames": None}},
           "class_names": ["x", "y"], "dataset": "emoji"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        legacy = Preprocessor.from_json(json.dumps(old))
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert legacy.input_shape("audio") == (None, 13) and legacy.vocabulary == VOCABULARY


def test_missing_values():
    assert all(is_missing(v) for v in (None, float("nan"), "", "  "))
    assert not any(is_missing(v) for v in ("NaN", 0, "a.png"))
