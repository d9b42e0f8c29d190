"""The result store: damaged records are found and only their runs re-run; other settings
are refused."""

import inspect
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from mmkeras import datasets, experiments
from mmkeras.experiments import training_run
from mmkeras.experiments.result_store import (
    LEGACY_FILES,
    RUNS_FILE,
    DamagedResultsWarning,
    ResultStore,
    StudySettingsError,
)

STUDY = dict(fusions=["concat"], seeds=[0], epochs=1, verbose=0, figures=False)
RUNS = ["av_digits|image only|seed=0|fold=0", "av_digits|audio only|seed=0|fold=0",
        "av_digits|concat|seed=0|fold=0"]


@pytest.fixture(scope="module")
def small(small_av_digits):
    return small_av_digits(120, 40, 40)


@pytest.fixture(scope="module")
def finished(small, tmp_path_factory):
    """A finished three-run study (two baselines and concat), with robustness curves."""
    out = str(tmp_path_factory.mktemp("finished") / "study")
    experiments.compare(small, out=out, **STUDY)
    return out


@pytest.fixture
def study(finished, tmp_path):
    out = str(tmp_path / "study")
    shutil.copytree(finished, out)
    return out


@pytest.fixture
def trained(monkeypatch):
    """The run keys `compare` actually trains."""
    calls = []
    real = training_run.run_one
    signature = inspect.signature(real)

    def recording(*args, **kwargs):
        calls.append(signature.bind(*args, **kwargs).arguments["key"])
        return real(*args, **kwargs)

    monkeypatch.setattr(training_run, "run_one", recording)
    return calls


def _lines(out):
    with open(os.path.join(out, RUNS_FILE), "rb") as f:
        return f.read().split(b"\n")


def _write(out, lines):
    with open(os.path.join(out, RUNS_FILE), "wb") as f:
        f.write(b"\n".join(lines))


def cut_last_line(out):
    path = os.path.join(out, RUNS_FILE)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) - 40])  # a crash in the middle of the last line
    return [RUNS[2]]


def nan_row(out):
    lines = _lines(out)
    record = json.loads(lines[1])
    record["row"]["test_accuracy"] = float("nan")  # the audio baseline's number is gone
    lines[1] = json.dumps(record).encode()
    _write(out, lines)
    return [RUNS[1]]


def binary_garbage(out):
    lines = _lines(out)
    lines[0] = bytes(range(128, 256)) + b"\x00\xff\xfe"  # the image baseline's line, overwritten
    _write(out, lines)
    return [RUNS[0]]


def bad_curve(out):
    lines = _lines(out)
    record = json.loads(lines[2])
    record["curves"][0]["accuracy"] = 7.0
    lines[2] = json.dumps(record).encode()
    _write(out, lines)
    return [RUNS[2]]


def bad_history(out):
    lines = _lines(out)
    record = json.loads(lines[0])
    record["history"] = {"loss": "1.0"}
    lines[0] = json.dumps(record).encode()
    _write(out, lines)
    return [RUNS[0]]


@pytest.mark.slow
@pytest.mark.parametrize("damage", [cut_last_line, nan_row, binary_garbage, bad_curve,
                                    bad_history])
def test_damaged_records_are_found_and_only_their_runs_are_run_again(small, finished, study,
                                                                     trained, damage):
    before = pd.read_csv(os.path.join(study, "results.csv"))
    damaged = damage(study)
    with pytest.warns(DamagedResultsWarning) as caught:
        results, _ = experiments.compare(small, out=study, **STUDY)
    message = str(caught[0].message)
    assert os.path.join(study, RUNS_FILE) in message
    if damage is not binary_garbage:  # a garbage line has no readable run key
        assert damaged[0] in message
    assert trained == damaged
    assert list(results["run"]) == RUNS  # in plan order, whatever order they finished in
    assert results["test_accuracy"].between(0, 1).all() and results["epochs_run"].notna().all()
    untouched = [r for r in RUNS if r not in damaged]
    kept = results.set_index("run").loc[untouched, "test_accuracy"]
    np.testing.assert_allclose(kept, before.set_index("run").loc[untouched, "test_accuracy"])
    # the repaired file reads back clean, and the damaged one is kept
    assert os.path.exists(os.path.join(study, RUNS_FILE + ".damaged"))
    again = ResultStore(study)
    assert again.damaged == [] and len(again.rows) == 3
    # each run's robustness curve is there exactly once
    counts = pd.read_csv(os.path.join(study, "robustness.csv")).groupby("run").size()
    expected = pd.read_csv(os.path.join(finished, "robustness.csv")).groupby("run").size()
    pd.testing.assert_series_equal(counts.sort_index(), expected.sort_index())


@pytest.mark.slow
def test_a_run_is_one_appended_line(small, study):
    lines = [line for line in _lines(study) if line]
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert [r["row"]["run"] for r in records] == RUNS
    assert all(r["curves"] and r["history"]["loss"] for r in records)


@pytest.mark.slow
def test_an_intact_study_is_not_run_again(small, study, trained, recwarn):
    results, _ = experiments.compare(small, out=study, **STUDY)
    assert trained == [] and len(results) == 3
    assert not [w for w in recwarn if issubclass(w.category, DamagedResultsWarning)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, named",
    [
        ({"epochs": 2}, "epochs: 1 before, now 2"),
        ({"patience": 3}, "patience: null before, now 3"),
        ({"batch_size": 32}, "batch_size: 64 before, now 32"),
        ({"train_limit": 50}, "train_limit: null before, now 50"),
        ({"robustness": False}, "robustness: true before, now false"),
        ({"cv_folds": 2}, "cv_folds: null before, now 2"),
    ],
)
def test_other_settings_are_refused_naming_each_difference(small, study, trained, change, named):
    before = {name: open(os.path.join(study, name), "rb").read() for name in os.listdir(study)
              if os.path.isfile(os.path.join(study, name))}
    with pytest.raises(StudySettingsError) as err:
        experiments.compare(small, out=study, **{**STUDY, **change})
    assert named in str(err.value) and "new output folder" in str(err.value)
    assert trained == []
    after = {name: open(os.path.join(study, name), "rb").read() for name in before}
    assert after == before  # nothing in the folder was touched


@pytest.mark.slow
def test_other_data_is_refused(small, study, trained):
    other = datasets.MultimodalDataset(small.name, dict(small.splits), small.class_names,
                                       small.input_shapes)
    other.splits["train"] = small.train.take(100, seed=1)
    with pytest.raises(StudySettingsError, match=r"data_fingerprint: .*split_sizes: "):
        experiments.compare(other, out=study, **STUDY)
    assert trained == []


@pytest.mark.slow
def test_several_differences_are_all_named(small, study):
    with pytest.raises(StudySettingsError) as err:
        experiments.compare(small, out=study, **{**STUDY, "epochs": 3, "batch_size": 16})
    assert "epochs: 1 before, now 3" in str(err.value)
    assert "batch_size: 64 before, now 16" in str(err.value)


@pytest.mark.slow
def test_unreadable_settings_file_is_named(small, study):
    with open(os.path.join(study, "settings.json"), "wb") as f:
        f.write(b"\x89PNG garbage")
    with pytest.raises(StudySettingsError, match="settings.json"):
        experiments.compare(small, out=study, **STUDY)


def test_folder_without_settings_records_them_with_a_warning(tmp_path):
    out = str(tmp_path / "old")
    store = ResultStore(out)
    store.add({"run": "d|m|seed=0|fold=0", "model": "m", "seed": 0, "test_accuracy": 0.5,
               "train_seconds": 1.0, "epochs_run": 1}, history={"loss": [1.0]})
    with pytest.warns(UserWarning, match="recorded now"):
        ResultStore(out, settings={"epochs": 1})
    assert json.load(open(os.path.join(out, "settings.json"))) == {"epochs": 1}
    ResultStore(out, settings={"epochs": 1})
    with pytest.raises(StudySettingsError, match="epochs: 1 before, now 2"):
        ResultStore(out, settings={"epochs": 2})


def test_committed_results_read_back_clean(tmp_path, recwarn):
    root = os.path.join(os.path.dirname(__file__), "..", "results")
    for name in ("av_digits", "emoji"):
        out = str(tmp_path / name)
        shutil.copytree(os.path.join(root, name), out)
        store = ResultStore(out)
        assert store.damaged == []
        pd.testing.assert_frame_equal(store.results(),
                                      pd.read_csv(os.path.join(root, name, "results.csv")),
                                      check_dtype=False)
    assert not [w for w in recwarn if issubclass(w.category, DamagedResultsWarning)]


@pytest.mark.slow
def test_a_folder_of_mmkeras_0_1_is_read_once_into_runs_jsonl(finished, tmp_path):
    """0.1 wrote three files rewritten after every run; their runs are kept."""
    store = ResultStore(finished)
    out = str(tmp_path / "old")
    os.makedirs(out)
    store.results().to_csv(os.path.join(out, LEGACY_FILES[0]), index=False)
    store.robustness().to_csv(os.path.join(out, LEGACY_FILES[1]), index=False)
    with open(os.path.join(out, LEGACY_FILES[2]), "w") as f:
        json.dump(store.histories, f)
    imported = ResultStore(out)
    assert [r["run"] for r in imported.rows] == RUNS
    assert os.path.exists(os.path.join(out, RUNS_FILE))
    pd.testing.assert_frame_equal(imported.robustness(), store.robustness(), check_dtype=False)
    assert imported.histories == store.histories


def test_a_crash_while_appending_cuts_only_its_own_line(tmp_path, monkeypatch):
    out = str(tmp_path / "s")
    store = ResultStore(out)
    row = {"run": "d|a|seed=0|fold=0", "model": "a", "seed": 0, "test_accuracy": 0.5,
           "train_seconds": 1.0, "epochs_run": 1}
    store.add(row, history={"loss": [1.0]})
    with open(os.path.join(out, RUNS_FILE), "ab") as f:
        f.write(b'{"row": {"run": "d|b|seed=0|fold=0", "mod')  # the process died here
    with pytest.warns(DamagedResultsWarning, match="cut short"):
        again = ResultStore(out)
    assert [r["run"] for r in again.rows] == ["d|a|seed=0|fold=0"]
    assert again.damaged == ["d|b|seed=0|fold=0"]


@pytest.mark.parametrize(
    "change, named",
    [
        ({"batch_size": 0}, "Received: batch_size=0"),
        ({"patience": -1}, "Received: patience=-1"),
        ({"train_limit": 0}, "Received: train_limit=0"),
        ({"cv_folds": 1}, "Received: cv_folds=1"),
        ({"cv_folds": 0}, "Received: cv_folds=0"),
        ({"robustness": "yes"}, "Received: robustness='yes'"),
    ],
)
def test_study_settings_that_would_be_ignored_are_refused(small, tmp_path, trained, change,
                                                          named):
    with pytest.raises(ValueError, match=named):
        experiments.compare(small, out=str(tmp_path / "s"), **{**STUDY, **change})
    assert trained == []


def test_the_data_fingerprint_ignores_the_last_bits_of_floats_only(small):
    """A loader's PCA or normalisation differs in the last bits on another CPU type."""
    from mmkeras.experiments.result_store import dataset_fingerprint

    other = datasets.MultimodalDataset(small.name, dict(small.splits), small.class_names,
                                       small.input_shapes)
    train = small.train
    nudged = {**train.x, "image": train.x["image"] * np.float32(1 + 1e-7)}
    other.splits["train"] = datasets.Split(nudged, train.y, train.ids)
    assert dataset_fingerprint(other) == dataset_fingerprint(small)
    assert dataset_fingerprint(other, exact=True) != dataset_fingerprint(small, exact=True)
    other.splits["train"] = datasets.Split({**train.x, "image": train.x["image"] * 0.9}, train.y,
                                           train.ids)
    assert dataset_fingerprint(other) != dataset_fingerprint(small)


@pytest.mark.slow
def test_a_folder_fingerprinted_by_mmkeras_0_1_resumes(small, study, trained):
    from mmkeras.experiments.result_store import dataset_fingerprint

    path = os.path.join(study, "settings.json")
    settings = json.load(open(path))
    settings["data_fingerprint"] = dataset_fingerprint(small, exact=True)
    json.dump(settings, open(path, "w"))
    experiments.compare(small, out=study, **STUDY)
    assert trained == []
    assert json.load(open(path))["data_fingerprint"] == dataset_fingerprint(small)
