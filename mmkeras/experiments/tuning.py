"""The same hyper-parameter search budget for every model of a comparison.

With fixed hyper-parameters a fusion may lose only because the defaults suit
it worse. `tune_hyperparameters` runs a KerasTuner `RandomSearch` of `budget`
trials over the learning rate, the head's dropout and, where the fusion has
them, its width (`units`) and attention heads (`num_heads`), and selects on
validation accuracy; `compare(..., tune=budget)` then retrains each model
once with its best values and reports test accuracy once.
"""

import inspect
import tempfile

from mmkeras import fusion as fusion_lib
from mmkeras.utils import validation

LEARNING_RATES = (1e-4, 3e-3)
DROPOUTS = (0.0, 0.2, 0.4)
UNITS = (32, 64, 128)
HEADS = (1, 2, 4)


def search_space(fusion, unimodal=False):
    """`{name: values or (low, high)}`: what is tuned for `fusion` (a name)."""
    space = {"learning_rate": LEARNING_RATES, "dropout": DROPOUTS}
    if unimodal:
        return space
    cls, defaults = fusion_lib.FUSIONS[fusion]
    parameters = inspect.signature(cls.__init__).parameters
    if "units" in parameters and defaults.get("units", parameters["units"].default) is not None:
        space["units"] = UNITS
    if "num_heads" in parameters:
        space["num_heads"] = HEADS
    return space


def fusion_layer(fusion, hyperparameters):
    """A new fusion layer of registered name `fusion` with the tuned width/heads."""
    cls, defaults = fusion_lib.FUSIONS[fusion]
    kwargs = {k: hyperparameters[k] for k in ("units", "num_heads") if k in hyperparameters}
    return cls(**{**defaults, **kwargs})


def tune_hyperparameters(build, train, validation_data, budget, *, fusion="concat",
                         unimodal=False, epochs=5, batch_size=64, patience=2, seed=0,
                         directory=None, verbose=0, bucketing=True):
    """Random search of `budget` trials; returns the best values found.

    Args:
        build: `build(hyperparameters dict) -> compiled keras.Model`, the
            hyper-parameters being those of `search_space`.
        train, validation_data: `(x dict, y)` NumPy arrays, or `Split`s.
        budget: Number of trials (models trained), at least 1.
        fusion: The fusion's registered name (decides the search space).
        unimodal: Tune only the learning rate and dropout.
        epochs, batch_size, patience: Training of each trial (early stopping
            on validation loss).
        seed: Seed of the random search.
        directory: Where KerasTuner keeps its trials; default a temporary
            folder removed afterwards.
        verbose: Keras verbosity.
        bucketing: Train and validate on length-bucketed batches (as the
            study's runs do, `mmkeras.datasets.to_tf_dataset`), for every
            variable-length input the model takes at any length.

    Returns:
        `{name: value}` of the trial with the best validation accuracy.
    """
    try:
        import keras_tuner
    except ImportError as err:
        raise ImportError("Tuning needs KerasTuner: `pip install keras-tuner`") from err
    import keras

    budget = validation.check_positive_int("tune", budget)
    space = search_space(fusion, unimodal)

    def hypermodel(hp):
        values = {"learning_rate": hp.Float("learning_rate", *LEARNING_RATES, sampling="log"),
                  "dropout": hp.Choice("dropout", list(DROPOUTS))}
        for name in ("units", "num_heads"):
            if name in space:
                values[name] = hp.Choice(name, list(space[name]))
        return build(values)

    with tempfile.TemporaryDirectory() as scratch:
        tuner = keras_tuner.RandomSearch(
            hypermodel, objective="val_accuracy", max_trials=budget, seed=seed,
            directory=directory or scratch, project_name=f"tune_{fusion}", overwrite=True)
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
        data = trial_data(build({"learning_rate": 1e-3, "dropout": 0.0}), train,
                          validation_data, batch_size, seed, bucketing)
        tuner.search(**data, epochs=epochs, callbacks=[stop], verbose=verbose)
        best = tuner.get_best_hyperparameters(1)[0].values
    return {k: (float(v) if k in ("learning_rate", "dropout") else int(v))
            for k, v in best.items()}



def trial_data(model, train, validation_data, batch_size, seed, bucketing):
    """`search` arguments: the trials' training and validation data, length-bucketed
    (as `fit_model` does it) for the inputs `model` takes at any length."""
    from mmkeras.evaluation.prediction import bucketed_modalities

    (x, y), (vx, vy) = _arrays(train), _arrays(validation_data)
    variable = bucketed_modalities(model, x) if bucketing else []
    if not variable:
        return {"x": x, "y": y, "validation_data": (vx, vy), "batch_size": batch_size}
    from mmkeras.datasets import to_tf_dataset

    return {"x": to_tf_dataset((x, y), batch_size, shuffle=True, seed=seed, bucketing=variable),
            "validation_data": to_tf_dataset((vx, vy), batch_size, bucketing=variable),
            "shuffle": False}


def _arrays(data):
    """`(x, y)` of a `Split` or a tuple."""
    from mmkeras.utils.input_check import unpack

    return unpack(*data[:2]) if isinstance(data, tuple) else unpack(data)
