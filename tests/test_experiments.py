
import numpy as np
import pandas as pd
import pytest

import mmkeras
from mmkeras import experiments


@pytest.fixture(scope="module")
def small(small_av_digits):
    return small_av_digits(200, 60, 80)


# One fusion of each level (early, sequence, feature, decision): the study's plumbing is the
# same for every fusion, and tests/test_fusion_training.py trains each one.
LEVELS = ["early", "cross_attention", "gated", "late_stacker"]


def test_no_fusion_is_a_study_of_the_baselines_alone(small):
    results, summary = experiments.compare(small, fusions=[], seeds=[0], epochs=1,
                                           robustness=False, verbose=0, figures=False)
    assert sorted(results["model"]) == ["audio only", "image only"]
    assert sorted(summary["model"]) == ["audio only", "image only"]
    with pytest.raises(ValueError, match=r"Received: fusions=\[\] and baselines=False"):
        experiments.compare(small, fusions=[], baselines=False, seeds=[0], epochs=1)


@pytest.mark.slow
def test_a_fusion_of_each_level_gives_a_well_formed_table(small, tmp_path):
    assert {mmkeras.fusion.FUSIONS[f][0].fusion_level for f in LEVELS} == set(
        mmkeras.fusion.FUSION_LEVELS)
    out = tmp_path / "study"
    results, summary = experiments.compare(small, fusions=LEVELS, seeds=[0], epochs=1,
                                           out=str(out), verbose=0)
    models = set(results["model"])
    assert models == {"image only", "audio only"} | set(LEVELS)
    for column in ("test_accuracy", "macro_f1", "parameters", "train_seconds", "latency_ms",
                   "epochs_run", "auc_image_occlusion"):
        assert results[column].notna().sum() >= len(results) - 1, column
    fused = results[results["kind"] == "fusion"]
    assert fused["missing_image"].notna().all() and fused["auc_audio_white_noise"].notna().all()
    # a unimodal model has no other modality to lose
    assert results.loc[results["model"] == "image only", "missing_image"].isna().all()
    assert results["test_accuracy"].between(0, 1).all()
    assert len(summary) == len(models) and "test_accuracy_std" in summary
    for name in ("results.csv", "summary.csv", "robustness.csv", "results.md", "accuracy.png",
                 "robustness.png", "training_curves.png", "confusion_matrix.png", "runs.jsonl"):
        assert (out / name).exists(), name
    table = (out / "results.md").read_text()
    assert "| gated |" in table and "Best single modality" in table


@pytest.mark.slow
def test_interrupted_study_resumes_and_loses_nothing(small, tmp_path, monkeypatch):
    out = str(tmp_path / "study")
    from mmkeras.experiments import training_run

    real = training_run.run_one
    calls = []

    def flaky(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the third run
        return real(*args, **kwargs)

    monkeypatch.setattr(training_run, "run_one", flaky)
    with pytest.raises(KeyboardInterrupt):
        experiments.compare(small, fusions=["concat", "late"], seeds=[0], epochs=1, out=out,
                            robustness=False, verbose=0)
    saved = experiments.ResultStore(out).results()
    assert list(saved["model"]) == ["image only", "audio only"]
    monkeypatch.setattr(training_run, "run_one", real)
    results, _ = experiments.compare(small, fusions=["concat", "late"], seeds=[0], epochs=1,
                                     out=out, robustness=False, verbose=0)
    assert list(results["model"]) == ["image only", "audio only", "concat", "late"]
    np.testing.assert_allclose(results["test_accuracy"][:2], saved["test_accuracy"])


@pytest.mark.slow
def test_same_seed_reproduces_and_cross_validation(small):
    first, _ = experiments.compare(small, fusions=["concat"], seeds=[3], epochs=1,
                                   baselines=False, robustness=False, verbose=0)
    again, _ = experiments.compare(small, fusions=["concat"], seeds=[3], epochs=1,
                                   baselines=False, robustness=False, verbose=0)
    np.testing.assert_allclose(first["test_accuracy"], again["test_accuracy"])
    cv, summary = experiments.compare(small, fusions=["concat"], seeds=[0], epochs=1, cv_folds=2,
                                      baselines=False, robustness=False, verbose=0)
    assert list(cv["fold"]) == [1, 2] and summary["runs"].iloc[0] == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fusions": ["concat", "mean"]}, r"Received: \['mean'\]"),
        ({"preset": "huge"}, "Received: preset='huge'"),
        ({"dataset": "imagenet"}, "Received: dataset='imagenet'"),
        ({"dataset": "spoken_words"}, "needs a multimodal dataset"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        experiments.compare(**{"dataset": "av_digits", **kwargs})


def test_unwritable_output_is_reported_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PermissionError, match="cannot be written"):
        experiments.compare("av_digits", out=str(blocker / "sub"))


def test_findings_and_versus_read_the_numbers():
    summary = pd.DataFrame({
        "model": ["image only", "audio only", "early", "late", "concat"],
        "kind": ["unimodal", "unimodal", "fusion", "fusion", "fusion"],
        "fusion": ["concat", "concat", "early", "late", "concat"],
        "test_accuracy_mean": [0.5, 0.6, 0.7, 0.65, 0.75],
        "test_accuracy_std": [0.01, 0.01, 0.01, 0.03, 0.01],
    }).sort_values("test_accuracy_mean", ascending=False)
    lines = experiments.findings(summary)
    assert "3 of 3 fusions beat it" in lines[0] and "Best fusion: concat" in lines[1]
    assert "early early 0.700" in lines[2] and "feature concat 0.750" in lines[2]
    assert "decision late 0.650" in lines[2]
    verdict, sentence = experiments.versus(summary, "late", "early")
    assert verdict == "b" and "early is ahead" in sentence
    assert experiments.versus(summary, "late", "audio only")[0] == "a"
    assert experiments.versus(summary, "early", "late")[0] == "a"
    close = summary.assign(test_accuracy_std=0.2)
    assert experiments.versus(close, "late", "early")[0] == "undecided"
    with pytest.raises(ValueError, match=r"Received: \['mean'\]"):
        experiments.versus(summary, "mean", "early")


def test_epochs_zero_is_refused_not_replaced_by_the_preset():
    with pytest.raises(ValueError, match="Received: epochs=0"):
        experiments.compare("av_digits", epochs=0)
