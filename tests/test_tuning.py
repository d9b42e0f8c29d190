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


def test_the_trials_are_those_of_keras_tuners_random_search(tmp_path):
    import keras
    import keras_tuner
    import numpy as np

    from mmkeras.experiments.tuning import HEADS, trial_values

    drawn = []

    def hypermodel(hp):  # the search as KerasTuner runs it, with a model it can train
        drawn.append({"learning_rate": hp.Float("learning_rate", *LEARNING_RATES,
                                                sampling="log"),
                      "dropout": hp.Choice("dropout", list(DROPOUTS)),
                      "units": hp.Choice("units", list(UNITS)),
                      "num_heads": hp.Choice("num_heads", list(HEADS))})
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, "softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    x, y = np.zeros((4, 2)), np.zeros(4)
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=4,
                                     seed=1 + 1, overwrite=True, directory=str(tmp_path))
    tuner.search(x, y, validation_data=(x, y), epochs=1, verbose=0)
    searched = [tuner.oracle.trials[i].hyperparameters.values for i in tuner.oracle.start_order]
    assert trial_values("cross_attention", 4, seed=1) == searched
    # Seed 0 is a seed too (KerasTuner alone would draw one at random for it).
    assert trial_values("gated", 3, seed=0) == trial_values("gated", 3, seed=0)
    assert trial_values("gated", 3, seed=0) != trial_values("gated", 3, seed=1)


def test_the_best_trial_is_the_earliest_of_the_best_scores():
    from mmkeras.experiments.tuning import best_values

    trials = [{"dropout": d} for d in (0.0, 0.2, 0.4)]
    assert best_values(trials, [0.5, 0.7, 0.7]) == {"dropout": 0.2}
    with pytest.raises(ValueError, match="one score per trial"):
        best_values(trials, [0.5])


@pytest.mark.slow  # trains three trial models
def test_a_trial_scores_the_same_alone_or_after_others():
    from mmkeras.experiments.runs import plan
    from mmkeras.experiments.study import StudySettings
    from mmkeras.experiments.training_run import run_trial, trial_tasks

    data = datasets.load("av_digits")
    small = dataclasses.replace(data, splits={k: s.take(40, seed=1)
                                              for k, s in data.splits.items()})
    spec, train, validation = plan(small, ["gated"], [0], baselines=False)[0]
    tasks = trial_tasks(spec, train, validation, StudySettings(epochs=1, batch_size=20, tune=2))
    assert len(tasks) == 2
    after = [run_trial(small, *task) for task in tasks][1]
    assert run_trial(small, *tasks[1]) == after
