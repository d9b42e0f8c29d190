"""The deprecated names of mmkeras 0.1: Predictor, save/load_predictor, moved modules."""

import importlib
import json
import sys
import zipfile

import numpy as np
import pytest

import mmkeras
from mmkeras import datasets
from mmkeras.models import MultimodalClassifier


def test_predictor_still_works_with_a_deprecation_warning(tmp_path):
    data = datasets.load("emoji")
    model = mmkeras.build_model(mmkeras.encoders.standard_encoders(data), "concat",
                                data.num_classes)
    with pytest.warns(DeprecationWarning, match="MultimodalClassifier"):
        predictor = mmkeras.Predictor(model, data)
    predictions = predictor.predict({"text": ["red heart"]})
    assert predictions.missing["image"].tolist() == [True]
    predictor.save(tmp_path / "m.keras")
    with pytest.warns(DeprecationWarning, match="keras.models.load_model"):
        loaded = mmkeras.load_predictor(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict({"text": ["red heart"]}).probabilities,
                               predictions.probabilities, atol=1e-6)


@pytest.mark.slow
def test_a_file_of_mmkeras_0_1_loads_as_a_classifier(tmp_path):
    """0.1 pushed the preprocessor into the zip as one more JSON member."""
    from mmkeras.cli.commands import load_model

    data = datasets.load("av_digits")
    model = mmkeras.build_model(mmkeras.encoders.standard_encoders(data, ["audio"]),
                                num_classes=10)
    path = tmp_path / "old.keras"
    model.save(path)
    old = {"inputs": {"audio": {"kind": "frames", "features": 13, "max_frames": None}},
           "class_names": data.class_names, "dataset": "av_digits"}
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("mmkeras_preprocessor.json", json.dumps(old))
    loaded = load_model(str(path))
    assert isinstance(loaded, MultimodalClassifier)
    assert loaded.classify({"audio": [data.test.x["audio"][0]]}).class_names == data.class_names


@pytest.mark.parametrize("old, new", [("mmkeras.export", "mmkeras.deploy"),
                                      ("mmkeras.builder", "mmkeras.models.builder"),
                                      ("mmkeras.compression.pruning", "mmkeras.deploy.pruning"),
                                      ("mmkeras.validation", "mmkeras.utils.validation")])
def test_moved_modules_import_from_their_old_paths_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"`{old}` moved to `{new}`"):
        module = importlib.import_module(old)
    target = importlib.import_module(new)
    name = next(n for n in dir(target) if not n.startswith("_") and callable(getattr(target, n)))
    assert getattr(module, name) is getattr(target, name)


def test_an_old_attribute_of_the_package_warns_too(monkeypatch):
    monkeypatch.delattr(mmkeras, "export", raising=False)  # set when mmkeras.export is imported
    monkeypatch.delitem(sys.modules, "mmkeras.export", raising=False)
    with pytest.warns(DeprecationWarning, match="`mmkeras.export` moved to `mmkeras.deploy`"):
        assert mmkeras.export.convert is mmkeras.deploy.convert
