"""Tuned comparisons: every model gets the same KerasTuner search budget."""

import dataclasses
import json

import pytest

from mmkeras import datasets
from mmkeras.experiments import compare
from mmkeras.experiments.tuning import DROPOUTS, LEARNING_RATES, UNITS, fusion_layer, search_space


def test_search_space_follows_the_fusion():
    assert set(search_space("concat")) == {"learning_rate", "dropout"}  # no width by default
    assert set(search_space("gated")) == {"learning_rate", "dropout", "units"}
    assert set(search_space("cross_attention")) == {"learning_rate", "dropout", "units",
                                                   "num_heads"}
    assert set(search_space("gated", unimodal=True)) == {"learning_rate", "dropout"}
    layer = fusion_layer("cross_attention", {"units": 32, "num_heads": 4})
    assert layer.get_config()["units"] == 32 and layer.get_config()["num_heads"] == 4


@pytest.mark.slow
def test_tiny_tuned_compare_with_budget_two():
    data = datasets.load("av_digits")
    small = dataclasses.replace(data, splits={k: s.take(40, seed=1)
                                              for k, s in data.splits.items()})
    results, summary = compare(small, fusions=["gated"], seeds=[0], epochs=1, tune=2,
                               robustness=False, figures=False, save_models=False, verbose=0,
                               batch_size=20)
    assert sorted(results["model"]) == ["audio only", "gated", "image only"]
    for _, row in results.iterrows():
        values = json.loads(row["hyperparameters"])
        assert LEARNING_RATES[0] <= values["learning_rate"] <= LEARNING_RATES[1]
        assert values["dropout"] in DROPOUTS
        assert ("units" in values) == (row["model"] == "gated")
        if "units" in values:
            assert values["units"] in UNITS
        assert 0.0 <= row["test_accuracy"] <= 1.0


@pytest.mark.parametrize("budget", [0, -1, True, 1.5])
def test_bad_budget_is_refused_before_training(budget):
    with pytest.raises((ValueError, TypeError), match="tune"):
        compare("av_digits", fusions=["concat"], seeds=[0], epochs=1, tune=budget, verbose=0)
