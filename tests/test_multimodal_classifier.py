"""MultimodalClassifier: your own files -> compare -> saved model -> predictions on new files."""

import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest
from user_files import write_user_files

import mmkeras
from mmkeras import datasets, experiments
from mmkeras.models import MultimodalClassifier


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    table = write_user_files(root)
    # The same table with other column names, as a user's photos.csv would have them.
    table.rename(columns={"image": "file", "text": "caption"}).to_csv(root / "photos.csv",
                                                                      index=False)
    return root


@pytest.fixture(scope="module")
def study(folder, tmp_path_factory):
    """A tiny compare on the user's files: 2 fusions, 1 seed, 1 epoch, models kept."""
    data = datasets.from_dataframe(folder / "photos.csv", image="file", text="caption",
                                   audio="audio", label="label", name="own")
    out = tmp_path_factory.mktemp("study")
    results, _ = experiments.compare(data, fusions=["concat", "late"], seeds=[0], epochs=1,
                                     baselines=False, robustness=True, out=str(out),
                                     verbose=0, figures=False)
    return data, out, results


@pytest.mark.slow
def test_compare_keeps_models_that_load_with_keras_alone(study):
    data, out, results = study
    assert list(results["model"]) == ["concat", "late"]
    assert results["missing_text"].notna().all()
    models = sorted(os.listdir(out / "models"))
    assert models == ["own_concat_seed=0_fold=0.keras", "own_late_seed=0_fold=0.keras"]
    path = out / "models" / models[0]
    assert "mmkeras_preprocessor.json" not in zipfile.ZipFile(path).namelist()
    model = keras.models.load_model(path, safe_mode=True)
    assert isinstance(model, MultimodalClassifier)
    assert model.preprocessor.columns == {"image": "file", "text": "caption", "audio": "audio",
                                          "label": "label"}


def _new_table(folder, tmp_path):
    table = pd.read_csv(folder / "photos.csv", keep_default_na=False)
    new = table.iloc[[0, 3, 5, 7, 20]].drop(columns="label")  # blank caption, audio, image
    new["file"] = [str(folder / p) if p else "" for p in new.file]
    new.to_csv(tmp_path / "new.csv", index=False)
    return table


@pytest.mark.slow
def test_a_csv_is_read_by_the_training_columns_in_a_fresh_process_too(study, folder, tmp_path):
    data, out, _ = study
    path = out / "models" / "own_concat_seed=0_fold=0.keras"
    table = _new_table(folder, tmp_path)
    model = keras.models.load_model(path, safe_mode=True)
    in_memory = model.classify(tmp_path / "new.csv")
    np.testing.assert_allclose(model.predict(tmp_path / "new.csv", verbose=0),
                               in_memory.probabilities, rtol=1e-6, atol=1e-6)
    script = ("import sys, numpy as np, keras, mmkeras; "
              "m = keras.models.load_model(sys.argv[1], safe_mode=True); "
              "np.save(sys.argv[3], m.predict(sys.argv[2], verbose=0))")
    subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "new.csv"),
                    str(tmp_path / "p.npy")], check=True, cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), in_memory.probabilities,
                               rtol=1e-6, atol=1e-6)
    assert in_memory.missing["text"].tolist() == [False, True, False, False, False]
    assert in_memory.missing["image"].tolist() == [False, False, False, True, False]
    assert in_memory.class_names == data.class_names
    assert in_memory.ids[0] == str(folder / table.file[0])


@pytest.mark.slow
def test_other_column_names_are_given_for_one_call(study, folder, tmp_path):
    _, out, _ = study
    model = keras.models.load_model(out / "models" / "own_late_seed=0_fold=0.keras")
    _new_table(folder, tmp_path)
    pd.read_csv(tmp_path / "new.csv", keep_default_na=False).rename(
        columns={"file": "path"}).to_csv(tmp_path / "renamed.csv", index=False)
    with pytest.raises(ValueError, match=r"image from column 'file'"):
        model.predict(tmp_path / "renamed.csv")
    np.testing.assert_allclose(model.predict(tmp_path / "renamed.csv", columns={"image": "path"},
                                             verbose=0),
                               model.predict(tmp_path / "new.csv", verbose=0), atol=1e-6)


@pytest.mark.slow
def test_a_labelled_table_evaluates_and_fits_by_its_label_column(study, folder):
    _, out, _ = study
    model = keras.models.load_model(out / "models" / "own_concat_seed=0_fold=0.keras")
    loss, accuracy = model.evaluate(folder / "photos.csv", verbose=0)
    assert 0 <= accuracy <= 1 and np.isfinite(loss)
    history = model.fit(folder / "photos.csv", epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.slow
def test_predicting_from_files_equals_predicting_from_the_dataset(study, folder):
    data, out, _ = study
    model = keras.models.load_model(out / "models" / "own_late_seed=0_fold=0.keras")
    table = pd.read_csv(folder / "photos.csv", keep_default_na=False)
    rows = [list(table.file).index(i) for i in data.test.ids]
    from_files = model.classify({"image": [table.file[r] for r in rows],
                                 "text": [table.caption[r] for r in rows],
                                 "audio": [table.audio[r] for r in rows]}, base_dir=folder)
    from_arrays = model.predict(data.test.x, verbose=0)
    # The audio is padded to this batch's longest clip, not the dataset's: masks make it equal.
    np.testing.assert_allclose(from_files.probabilities, from_arrays, rtol=1e-5, atol=1e-5)


def test_a_classifier_on_embedded_data(tmp_path):
    data = datasets.load("emoji")
    model = MultimodalClassifier.from_dataset(data, "concat")
    model.save(tmp_path / "emoji.keras")
    loaded = keras.models.load_model(tmp_path / "emoji.keras", safe_mode=True)
    images = list(data.test.x["image"][:4])
    names = ["grinning face", "red heart", None, "flag: Canada"]
    a, b = model.classify({"image": images, "text": names}), loaded.classify(
        {"image": images, "text": names})
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-6, atol=1e-6)
    assert len(a.top(2)[0]) == 2 and set(a.labels) <= set(data.class_names)
    assert list(a.to_frame().columns[:3]) == ["id", "prediction", "confidence"]
    text_only = loaded.classify({"text": ["red heart"]})  # image left out: missing
    assert text_only.missing["image"].tolist() == [True]
    from_arrays = loaded.classify(data.test.x)
    assert len(from_arrays) == len(data.test.y) and from_arrays.missing == {}


def test_bad_inputs_are_named():
    data = datasets.load("emoji")
    model = MultimodalClassifier.from_dataset(data, "concat")
    with pytest.raises(ValueError, match=r"unexpected: \['audio'\]"):
        model.classify({"image": [None], "text": ["x"], "audio": ["a.wav"]})
    with pytest.raises(ValueError, match=r"one value per sample. Received: image=2, text=1"):
        model.classify({"image": [None, None], "text": ["x"]})
    with pytest.raises(FileNotFoundError, match="nope.png"):
        model.classify({"image": ["nope.png"], "text": ["x"]})
    network = mmkeras.build_model(mmkeras.encoders.standard_encoders(data), "concat",
                                  data.num_classes)
    with pytest.raises(ValueError, match="mismatched inputs"):
        MultimodalClassifier(network, datasets.load("av_digits"))
    with pytest.raises(ValueError, match="predicts 9 classes but the preprocessor names 2"):
        MultimodalClassifier(network, data.preprocessor.__class__(
            data.preprocessor.converters, ["a", "b"]))


@pytest.mark.slow
def test_same_seed_same_numbers_on_file_data(study, folder):
    data = datasets.from_dataframe(folder / "photos.csv", image="file", text="caption",
                                   audio="audio", name="own")  # read again from disk
    runs = [experiments.compare(data, fusions=["concat"], seeds=[1], epochs=1, baselines=False,
                                robustness=False, verbose=0)[0] for _ in range(2)]
    for column in ("test_accuracy", "macro_f1", "val_accuracy"):
        np.testing.assert_array_equal(runs[0][column], runs[1][column])
