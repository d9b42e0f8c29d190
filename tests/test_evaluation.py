import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, encoders, evaluation


@pytest.fixture(scope="module")
def trained():
    ds = datasets.load("av_digits")
    mmkeras.training.seed_everything(0)
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8, 16), embedding_dim=16),
         "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(16,))},
        num_classes=10)
    train = ds.train.take(1200)
    model.fit(train.x, train.y, epochs=3, batch_size=64, verbose=0)
    return model, ds.test, ds.class_names


def test_classifier_metrics_agree_with_sklearn(trained):
    from sklearn.metrics import accuracy_score, f1_score

    model, test, names = trained
    result = evaluation.evaluate_classifier(model, test.x, test.y, names)
    predicted = evaluation.predict_classes(model, test.x)
    assert result["accuracy"] == pytest.approx(accuracy_score(test.y, predicted))
    assert result["macro_f1"] == pytest.approx(f1_score(test.y, predicted, average="macro"))
    assert result["confusion_matrix"].shape == (10, 10)
    assert result["confusion_matrix"].sum() == len(test.y)
    assert list(result["per_class"]["class"]) == names
    assert "macro avg" in result["report"]


def test_perturbations():
    rng = np.random.default_rng(0)
    image = rng.random((3, 8, 8, 1)).astype("float32")
    occluded = evaluation.perturb(image, "occlusion", 0.25, seed=1)
    assert ((occluded == 0).sum(axis=(1, 2, 3)) >= 16).all()  # a 4x4 square per image
    np.testing.assert_array_equal(evaluation.perturb(image, "gaussian_noise", 0), image)
    ids = np.array([[5, 6, 7, 8, 0, 0]])
    dropped = evaluation.perturb(ids, "token_dropout", 0.5, seed=0)
    kept = dropped[dropped != 0]
    assert set(kept) <= {5, 6, 7, 8} and np.all(dropped[0, len(kept):] == 0)
    frames = np.zeros((2, 5, 3), "float32")
    frames[:, :3] = 1
    noisy = evaluation.perturb(frames, "white_noise", 1.0)
    assert np.all(noisy[:, 3:] == 0) and not np.allclose(noisy[:, :3], 1)
    with pytest.raises(ValueError, match="Received: 'blur'"):
        evaluation.perturb(image, "blur", 1)
    assert evaluation.modality_kind(ids) == "text" and evaluation.modality_kind(frames) == "audio"
    assert evaluation.area_under_curve([0, 1, 2], [1.0, 0.5, 0.0]) == pytest.approx(0.5)


def test_robustness_report_levels_and_monotone_noise(trained):
    model, test, _ = trained
    curves, summary = evaluation.robustness_report(model, test.x, test.y)
    assert {"missing_image", "missing_audio", "auc_image_gaussian_noise",
            "auc_image_occlusion", "auc_audio_white_noise"} <= set(summary)
    for (modality, name), levels in {("image", "gaussian_noise"): 5, ("audio", "white_noise"): 5}.items():
        rows = [c for c in curves if c["modality"] == modality and c["perturbation"] == name]
        assert len(rows) == levels
        assert [r["level"] for r in rows] == sorted(r["level"] for r in rows)
        # heavy noise hurts: the last level is worse than clean
        assert rows[-1]["accuracy"] < rows[0]["accuracy"]


def test_contributions_leave_one_modality_out(trained):
    model, test, _ = trained
    contribution = evaluation.modality_contributions(model, test.x, test.y)
    assert set(contribution) == {"all", "image", "audio"}
    assert contribution["image"] > 0 and contribution["audio"] > 0
    with pytest.raises(ValueError, match="Received: 'text'"):
        evaluation.missing_modality_accuracy(model, test.x, test.y, "text")
