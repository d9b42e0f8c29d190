"""from_dataframe / from_folder on small folders of real files made from data/."""

import numpy as np
import pandas as pd
import pytest
from user_files import write_user_files

from mmkeras import datasets
from mmkeras.preprocessing.image import write_image


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    write_user_files(root)
    return root


def _read(folder, **kwargs):
    options = dict(image="image", text="text", audio="audio", label="label")
    options.update(kwargs)
    return datasets.from_dataframe(folder / "table.csv", **options)


def test_table_becomes_the_one_dataset_type(folder):
    data = _read(folder)
    assert isinstance(data, datasets.MultimodalDataset)
    assert data.class_names == ["Flags", "Smileys & Emotion"] and data.num_classes == 2
    assert data.input_shapes["image"] == (32, 32, 3)  # the images' own size
    assert data.input_shapes["audio"] == (None, 13)
    assert sum(len(s) for s in data.splits.values()) == 55 == data.report["rows"]
    assert [len(data.train), len(data.validation), len(data.test)] == [43, 6, 6]
    assert data.train.ids[0].startswith("img/") and data.train.x["text"].dtype == np.int32
    assert data.report["missing"] == {"image": 1, "text": 2, "audio": 1}
    assert data.select("image").modalities == ["image"]


def test_missing_policies(folder):
    data = _read(folder)
    everything = {**data.train.missing}
    for split in (data.validation, data.test):
        for m in everything:
            everything[m] = np.concatenate([everything[m], split.missing[m]])
    all_x = {m: np.concatenate([s.x[m] for s in data.splits.values()]) for m in data.modalities}
    all_missing = {m: np.concatenate([s.missing[m] for s in data.splits.values()])
                   for m in data.modalities}
    for m in data.modalities:
        assert all_missing[m].sum() == data.report["missing"][m]
        assert not np.any(all_x[m][all_missing[m]])  # missing = zeros
        assert np.all(np.any(all_x[m][~all_missing[m]].reshape(
            (~all_missing[m]).sum(), -1) != 0, axis=1))
    with pytest.raises(datasets.BadRowError, match=r"Row 3: empty text in column 'text'.*"
                                                   r"missing='keep'"):
        _read(folder, missing="raise")
    with pytest.warns(UserWarning, match="skipped 4 of 55 rows"):
        skipped = _read(folder, missing="skip")
    assert sorted(skipped.skipped) == [3, 5, 7, 10]
    assert sum(len(s) for s in skipped.splits.values()) == 51
    with pytest.raises(ValueError, match="Received: missing='ignore'"):
        _read(folder, missing="ignore")


@pytest.mark.slow
def test_same_seed_same_data_and_splits(folder):
    a, b, c = _read(folder, seed=3), _read(folder, seed=3), _read(folder, seed=4)
    for name in ("train", "test"):
        np.testing.assert_array_equal(a.splits[name].ids, b.splits[name].ids)
        for m in a.modalities:
            np.testing.assert_array_equal(a.splits[name].x[m], b.splits[name].x[m])
    assert list(a.test.ids) != list(c.test.ids)
    # Stratified: both classes in every split.
    assert all(len(set(s.y)) == 2 for s in a.splits.values())


def test_split_column_and_separate_tables_share_vocabulary_and_classes(folder):
    table = pd.read_csv(folder / "table.csv", keep_default_na=False)
    table["part"] = ["train"] * 35 + ["validation"] * 10 + ["test"] * 10
    table.loc[[35, 45], "label"] = ["Flags", "Smileys & Emotion"]
    by_column = datasets.from_dataframe(table, image="image", text="text", split="part",
                                        base_dir=folder)
    assert [len(s) for s in by_column.splits.values()] == [35, 10, 10]
    parts = {s: table[table.part == s].drop(columns="part") for s in ("train", "validation", "test")}
    separate = datasets.from_dataframe(parts, image="image", text="text", base_dir=folder)
    assert separate.vocabulary == by_column.vocabulary
    np.testing.assert_array_equal(separate.test.x["text"], by_column.test.x["text"])
    # The vocabulary is the training rows' only: a word seen only in test is unknown (id 1).
    test_only = set(parts["test"].text.str.lower().str.split().sum()) - set(
        parts["train"].text.str.lower().str.split().sum())
    assert not test_only & set(separate.vocabulary)


def test_label_unseen_in_training_is_named(folder):
    table = pd.read_csv(folder / "table.csv", keep_default_na=False)
    table["part"] = ["train"] * 45 + ["test"] * 5 + ["validation"] * 5
    table = table[table.image != ""].reset_index(drop=True)
    table.loc[47, "label"] = "Food & Drink"
    with pytest.raises(ValueError, match=r"never occur in the training split.*'Food & Drink' "
                                         r"\(rows \[47\]\)"):
        datasets.from_dataframe(table, image="image", split="part", base_dir=folder)


def test_bad_labels_are_named(folder):
    table = pd.read_csv(folder / "table.csv", keep_default_na=False).head(12)
    table.loc[2, "label"] = ""
    with pytest.raises(datasets.BadRowError, match="Row 2: empty label"):
        datasets.from_dataframe(table, text="text", base_dir=folder)
    frame = table.assign(label=[np.nan] + list(table.label[1:]))
    with pytest.raises(datasets.BadRowError, match="Row 0: empty label"):
        datasets.from_dataframe(frame, text="text", base_dir=folder)


def test_nan_caption_stays_text(tmp_path):
    (tmp_path / "t.csv").write_text(
        "text,label,part\nNaN,a,train\nred heart,b,train\nNone,a,validation\n"
        "blue heart,b,validation\nnan nan,a,test\ngreen heart,b,test\n")
    data = datasets.from_dataframe(tmp_path / "t.csv", text="text", split="part")
    assert "nan" in data.vocabulary and data.report["missing"] == {"text": 0}


def test_mixed_image_sizes_name_image_size(folder, tmp_path):
    write_image(tmp_path / "big.png", np.ones((40, 48, 3)))
    table = pd.read_csv(folder / "table.csv", keep_default_na=False).head(12).drop(index=7)
    table["image"] = [str(folder / p) if p else "" for p in table.image]
    table.loc[0, "image"] = str(tmp_path / "big.png")
    with pytest.raises(ValueError, match=r"2 different sizes: 40x48 .*32x32.*image_size="):
        datasets.from_dataframe(table, image="image", split=(0.4, 0.3, 0.3))
    data = datasets.from_dataframe(table, image="image", image_size=(16, 16),
                                   split=(0.4, 0.3, 0.3))
    assert data.input_shapes["image"] == (16, 16, 3)


def test_grey_images_stay_grey_at_their_size(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(5):
            write_image(tmp_path / c / f"{i}.png", rng.random((28, 28, 1)))
    data = datasets.from_folder(tmp_path, split=(0.6, 0.2, 0.2))
    assert data.input_shapes == {"image": (28, 28, 1)} and data.class_names == ["a", "b"]
    assert data.train.ids[0].endswith(".png")


def test_missing_or_corrupt_file_is_an_error_or_listed(folder):
    (folder / "img" / "corrupt.png").write_bytes(b"garbage")
    table = pd.read_csv(folder / "table.csv", keep_default_na=False)
    table.loc[2, "image"] = "img/corrupt.png"
    table.loc[4, "image"] = "img/nope.png"
    table = table.drop(index=7)
    kwargs = dict(image="image", base_dir=folder)
    with pytest.raises(datasets.BadRowError, match="Row 4: image file not found"):
        datasets.from_dataframe(table, **kwargs)
    with pytest.raises(datasets.BadRowError, match="Row 2: image: OpenCV could not decode"):
        datasets.from_dataframe(table.drop(index=4), **kwargs)
    with pytest.warns(UserWarning, match="skipped 2 of 54 rows"):
        data = datasets.from_dataframe(table, on_error="skip", **kwargs)
    assert sorted(data.skipped) == [2, 4] and "corrupt.png" in data.skipped[2]
    assert sum(len(s) for s in data.splits.values()) == 52


def test_table_level_errors(folder):
    table = pd.read_csv(folder / "table.csv", keep_default_na=False)
    table = table[table.text != ""].reset_index(drop=True)
    with pytest.raises(ValueError, match=r"Received: \['picture'\]"):
        datasets.from_dataframe(table, image="picture")
    with pytest.raises(ValueError, match=r"different lengths. Received: \{'text': 2, 'label': 1\}"):
        datasets.from_dataframe({"text": ["a", "b"], "label": ["x"]}, text="text")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        datasets.from_dataframe(folder / "nope.csv", text="text")
    with pytest.raises(ValueError, match="at least one modality"):
        datasets.from_dataframe(table)
    with pytest.raises(ValueError, match="Received: on_error='ignore'"):
        datasets.from_dataframe(table, text="text", on_error="ignore")
    with pytest.raises(ValueError, match=r"three fractions.*Received: split=\(0.9, 0.2, 0.1\)"):
        datasets.from_dataframe(table, text="text", split=(0.9, 0.2, 0.1))
    with pytest.raises(ValueError, match=r"at least 3 rows per class.*Received: \{'z': 1\}"):
        datasets.from_dataframe(table.assign(label=["z"] + list(table.label[1:])), text="text")


def test_a_bad_argument_or_a_corrupt_file_is_reported_before_a_split_error(folder, tmp_path):
    """Four rows cannot be split three ways per class; what is wrong first is said first."""
    table = pd.read_csv(folder / "table.csv", keep_default_na=False).iloc[[0, 1, 30, 31]]
    table["image"] = [str(folder / p) if p else "" for p in table.image]
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not an image")
    small = table.assign(image=[str(tmp_path / "broken.png")] + list(table.image[1:]))
    with pytest.raises(ValueError, match="stratified split needs at least 3 rows per class"):
        datasets.from_dataframe(table, image="image", label="label")
    with pytest.raises(ValueError, match="Received: color='cmyk'"):
        datasets.from_dataframe(table, image="image", label="label", color="cmyk")
    with pytest.raises(ValueError, match=r"Received: image_size=\(0, 8\)"):
        datasets.from_dataframe(table, image="image", label="label", image_size=(0, 8))
    with pytest.raises(datasets.BadRowError, match="Row 0: image: .*broken.png"):
        datasets.from_dataframe(small, image="image", label="label")
