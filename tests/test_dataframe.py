"""from_dataframe on a small folder of real files made from data/."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mmkeras
from mmkeras import datasets, encoders
from mmkeras.preprocessing.image import write_image


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """60 emoji PNGs with their names, and 40 spoken-word WAV paths."""
    root = tmp_path_factory.mktemp("files")
    (root / "img").mkdir()
    raw = np.load(datasets.data_dir() / "emoji.npz")
    keep = np.flatnonzero(np.isin(raw["category"], [2, 6]))[::8][:60]  # Flags vs Smileys
    rows = []
    for i in keep:
        name = f"img/{raw['unified'][i]}.png"
        write_image(root / name, raw["image"][i, 0])
        rows.append({"image": name, "text": str(raw["name"][i]),
                     "label": str(raw["category_names"][raw["category"][i]])})
    pd.DataFrame(rows).to_csv(root / "emoji.csv", index=False)
    words = [r for r in datasets.spoken_words.spoken_word_files() if r["word"] in ("yes", "no")]
    pd.DataFrame({"audio": [r["path"] for r in words], "label": [r["word"] for r in words]}
                 ).to_csv(root / "words.csv", index=False)
    return root


def test_csv_of_images_and_texts_trains(folder):
    files = datasets.from_dataframe(folder / "emoji.csv", image="image", text="text",
                                    image_size=(32, 32), sequence_length=8, batch_size=16,
                                    shuffle=True)
    assert files.class_names == ["Flags", "Smileys & Emotion"]
    assert files.input_shapes == {"image": (32, 32, 3), "text": (8,)}
    x, y = next(iter(files.dataset))
    assert x["image"].shape == (16, 32, 32, 3) and x["text"].shape == (16, 8)
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(32, 32, 3), filters=(8,)),
         "text": encoders.text_conv1d(sequence_length=8, vocab_size=len(files.vocabulary),
                                      filters=8)},
        num_classes=2, learning_rate=3e-3)
    history = model.fit(files.dataset, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    n = sum(len(b[1]) for b in files.dataset)
    assert n == files.num_rows == len(pd.read_csv(folder / "emoji.csv")) and not files.skipped


def test_audio_paths_give_padded_mfcc_batches(folder):
    files = datasets.from_dataframe(folder / "words.csv", audio="audio", batch_size=8)
    x, y = next(iter(files.dataset))
    assert x["audio"].shape[0] == 8 and x["audio"].shape[2] == 13
    lengths = np.any(x["audio"].numpy() != 0, -1).sum(1)
    assert lengths.max() == x["audio"].shape[1] and lengths.min() > 0
    assert set(y.numpy()) <= {0, 1} and files.class_names == ["no", "yes"]


def _table(folder):
    return pd.read_csv(folder / "emoji.csv", keep_default_na=False).head(6)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.assign(image=["img/missing.png"] + list(t.image[1:])), "Row 0: image file not found"),
        (lambda t: t.assign(text=[""] + list(t.text[1:])), "Row 0: empty text"),
        (lambda t: t.assign(label=["Food"] + list(t.label[1:])), "Row 0: label 'Food' is not a known class"),
    ],
)
def test_bad_rows_raise_or_skip_with_a_count(folder, change, message):
    table = change(_table(folder))
    kwargs = dict(image="image", text="text", class_names=["Flags", "Smileys & Emotion"],
                  base_dir=folder, batch_size=4)
    with pytest.raises(datasets.BadRowError, match=message):
        datasets.from_dataframe(table, **kwargs)
    with pytest.warns(UserWarning, match="skipped 1 of 6 rows"):
        files = datasets.from_dataframe(table, on_error="skip", **kwargs)
    assert list(files.skipped) == [0]
    assert sum(len(y) for _, y in files.dataset) == 5


def test_corrupt_file_is_named_or_skipped(folder):
    (folder / "img" / "corrupt.png").write_bytes(b"garbage")
    table = _table(folder)
    table.loc[2, "image"] = "img/corrupt.png"
    files = datasets.from_dataframe(table, image="image", base_dir=folder, batch_size=6)
    with pytest.raises(Exception, match="Row 2: OpenCV could not decode"):
        list(files.dataset)
    files = datasets.from_dataframe(table, image="image", base_dir=folder, batch_size=6,
                                    on_error="skip")
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        n = sum(len(y) for _, y in files.dataset)
    assert n == 5 and 2 in files.skipped and "corrupt.png" in files.skipped[2]


def test_table_level_errors(folder):
    with pytest.raises(ValueError, match=r"Received: \['picture'\]"):
        datasets.from_dataframe(_table(folder), image="picture")
    with pytest.raises(ValueError, match=r"different lengths. Received: \{'text': 2, 'label': 1\}"):
        datasets.from_dataframe({"text": ["a", "b"], "label": ["x"]}, text="text")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        datasets.from_dataframe(folder / "nope.csv", text="text")
    with pytest.raises(ValueError, match="at least one modality"):
        datasets.from_dataframe(_table(folder))
    with pytest.raises(ValueError, match="Received: on_error='ignore'"):
        datasets.from_dataframe(_table(folder), text="text", on_error="ignore")
