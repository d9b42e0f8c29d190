"""Predictor: your own files -> compare -> saved model -> predictions on new files."""

import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

import mmkeras
from mmkeras import datasets, experiments
from user_files import write_user_files


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    write_user_files(root)
    return root


@pytest.fixture(scope="module")
def study(folder, tmp_path_factory):
    """A tiny compare on the user's files: 2 fusions, 1 seed, 1 epoch, models kept."""
    data = datasets.from_dataframe(folder / "table.csv", image="image", text="text",
                                   audio="audio", label="label", name="own")
    out = tmp_path_factory.mktemp("study")
    results, _ = experiments.compare(data, fusions=["concat", "late"], seeds=[0], epochs=1,
                                     baselines=False, robustness=True, out=str(out),
                                     verbose=0, figures=False)
    return data, out, results


def test_compare_runs_on_file_data_and_keeps_its_models(study):
    data, out, results = study
    assert list(results["model"]) == ["concat", "late"]
    assert results["missing_text"].notna().all()
    models = sorted(os.listdir(out / "models"))
    assert models == ["own_concat_seed=0_fold=0.keras", "own_late_seed=0_fold=0.keras"]
    # A plain Keras load still works (safe mode): the preprocessor is one extra member.
    path = out / "models" / models[0]
    assert mmkeras.predictor.PREPROCESSOR_FILE in zipfile.ZipFile(path).namelist()
    keras.models.load_model(path, safe_mode=True)


def test_predictions_in_a_fresh_process_equal_those_in_memory(study, folder, tmp_path):
    data, out, _ = study
    path = out / "models" / "own_concat_seed=0_fold=0.keras"
    table = pd.read_csv(folder / "table.csv", keep_default_na=False)
    new = table.iloc[[0, 3, 5, 7, 20]].drop(columns="label")  # blank caption, audio, image
    new["image"] = [str(folder / p) if p else "" for p in new.image]
    new.to_csv(tmp_path / "new.csv", index=False)
    in_memory = mmkeras.load_predictor(path).predict(tmp_path / "new.csv")
    script = ("import sys, numpy as np, mmkeras; p = mmkeras.load_predictor(sys.argv[1]); "
              "np.save(sys.argv[3], p.predict(sys.argv[2]).probabilities)")
    subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "new.csv"),
                    str(tmp_path / "p.npy")], check=True, cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), in_memory.probabilities,
                               rtol=1e-6, atol=1e-6)
    assert in_memory.missing["text"].tolist() == [False, True, False, False, False]
    assert in_memory.missing["image"].tolist() == [False, False, False, True, False]
    assert in_memory.class_names == data.class_names
    assert in_memory.ids[0] == str(folder / table.image[0])


def test_predicting_from_files_equals_predicting_from_the_dataset(study, folder):
    data, out, _ = study
    predictor = mmkeras.load_predictor(out / "models" / "own_late_seed=0_fold=0.keras")
    table = pd.read_csv(folder / "table.csv", keep_default_na=False)
    rows = [list(table.image).index(i) for i in data.test.ids]
    from_files = predictor.predict({m: [table[m][r] for r in rows] for m in
                                    ("image", "text", "audio")}, base_dir=folder)
    from_arrays = predictor.model.predict(data.test.x, verbose=0)
    # The audio is padded to this batch's longest clip, not the dataset's: masks make it equal.
    np.testing.assert_allclose(from_files.probabilities, from_arrays, rtol=1e-5, atol=1e-5)


def test_predictor_from_python_on_embedded_data(tmp_path):
    data = datasets.load("emoji")
    model = mmkeras.build_model(experiments.standard_encoders(data), "concat", data.num_classes)
    predictor = mmkeras.Predictor(model, data)
    predictor.save(tmp_path / "emoji.keras")
    loaded = mmkeras.load_predictor(tmp_path / "emoji.keras")
    images = list(data.test.x["image"][:4])
    names = ["grinning face", "red heart", None, "flag: Canada"]
    a, b = predictor.predict({"image": images, "text": names}), loaded.predict(
        {"image": images, "text": names})
    np.testing.assert_allclose(a.probabilities, b.probabilities, rtol=1e-6, atol=1e-6)
    assert len(a.top(2)[0]) == 2 and set(a.labels) <= set(data.class_names)
    assert list(a.to_frame().columns[:3]) == ["id", "prediction", "confidence"]
    text_only = loaded.predict({"text": ["red heart"]})  # image left out: missing
    assert text_only.missing["image"].tolist() == [True]


def test_bad_inputs_are_named(tmp_path):
    data = datasets.load("emoji")
    model = mmkeras.build_model(experiments.standard_encoders(data), "concat", data.num_classes)
    predictor = mmkeras.Predictor(model, data)
    with pytest.raises(ValueError, match=r"unexpected: \['audio'\]"):
        predictor.predict({"image": [None], "text": ["x"], "audio": ["a.wav"]})
    with pytest.raises(ValueError, match=r"one value per sample. Received: \{'image': 2, 'text': 1\}"):
        predictor.predict({"image": [None, None], "text": ["x"]})
    with pytest.raises(FileNotFoundError, match="nope.png"):
        predictor.predict({"image": ["nope.png"], "text": ["x"]})
    with pytest.raises(ValueError, match="must end in .keras"):
        predictor.save(tmp_path / "m.h5")
    model.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="without its preprocessor"):
        mmkeras.load_predictor(tmp_path / "plain.keras")
    (tmp_path / "cut.keras").write_bytes((tmp_path / "plain.keras").read_bytes()[:100])
    with pytest.raises(ValueError, match="not a .keras archive"):
        mmkeras.load_predictor(tmp_path / "cut.keras")
    other = datasets.load("av_digits")
    with pytest.raises(ValueError, match="mismatched inputs"):
        mmkeras.Predictor(model, other)


def test_same_seed_same_numbers_on_file_data(study, folder):
    data = datasets.from_dataframe(folder / "table.csv", image="image", text="text",
                                   audio="audio", name="own")  # read again from disk
    runs = [experiments.compare(data, fusions=["concat"], seeds=[1], epochs=1, baselines=False,
                                robustness=False, verbose=0)[0] for _ in range(2)]
    for column in ("test_accuracy", "macro_f1", "val_accuracy"):
        np.testing.assert_array_equal(runs[0][column], runs[1][column])
