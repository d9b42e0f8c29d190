"""The same hyper-parameter search budget for every model of a comparison.

With fixed hyper-parameters a fusion may lose only because the defaults suit
it worse. `tune_hyperparameters` runs a KerasTuner `RandomSearch` of `budget`
trials over the learning rate, the head's dropout and, where the fusion has
them, its width (`units`) and attention heads (`num_heads`), and selects on
validation accuracy; `compare(..., tune=budget)` then retrains each model
once with its best values and reports test accuracy once.

The search is split in three parts so that its trials can train anywhere:
`trial_values` (the values KerasTuner's `RandomSearch` draws — a random
search never looks at earlier scores), `train_trial` (one trial, seeded on
its own) and `best_values` (KerasTuner's choice). In one process they run
one after the other; a Ray study (`mmkeras.experiments.ray_executor`)
trains the trials of every model side by side, with the same budget and the
same values.
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

    The trials are those of KerasTuner's `RandomSearch` with `seed`
    (`trial_values`), each trained by `train_trial` from the same seed, one
    after the other; the best is chosen as KerasTuner chooses
    (`best_values`). A Ray study trains the same trials side by side.

    Args:
        build: `build(hyperparameters dict) -> compiled keras.Model`, the
            hyper-parameters being those of `search_space`.
        train, validation_data: `(x dict, y)` NumPy arrays, or `Split`s.
        budget: Number of trials (models trained), at least 1.
        fusion: The fusion's registered name (decides the search space).
        unimodal: Tune only the learning rate and dropout.
        epochs, batch_size, patience: Training of each trial (early stopping
            on validation loss).
        seed: Seed of the random search, and of each trial's training.
        directory: Where KerasTuner keeps its trials; default a temporary
            folder removed afterwards.
        verbose: Keras verbosity.
        bucketing: Train and validate on length-bucketed batches (as the
            study's runs do, `mmkeras.datasets.to_tf_dataset`), for every
            variable-length input the model takes at any length.

    Returns:
        `{name: value}` of the trial with the best validation accuracy.
    """
    trials = trial_values(fusion, budget, seed, unimodal=unimodal, directory=directory)
    scores = [train_trial(build, train, validation_data, values, epochs=epochs,
                          batch_size=batch_size, patience=patience, seed=seed,
                          verbose=verbose, bucketing=bucketing) for values in trials]
    return best_values(trials, scores)


def trial_values(fusion, budget, seed, unimodal=False, directory=None):
    """The hyper-parameter values of the trials of KerasTuner's `RandomSearch`, in order.

    A random search draws each trial's values without looking at the
    scores of the others, so the values can be drawn first and the trials
    trained afterwards, one after the other or side by side: the same
    `seed` gives the same trials either way. Fewer than `budget` trials
    come back only when the search space has fewer distinct values.

    Args:
        fusion: The fusion's registered name (decides the search space).
        budget: Number of trials, at least 1.
        seed: Seed of the random search.
        unimodal: Tune only the learning rate and dropout.
        directory: Where KerasTuner writes its trial files; default a
            temporary folder removed afterwards.

    Returns:
        A list of `{name: value}`, one per trial.
    """
    keras_tuner = _keras_tuner()
    budget = validation.check_positive_int("tune", budget)
    seed = validation.check_non_negative_int("seed", seed)
    space = search_space(fusion, unimodal)
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", *LEARNING_RATES, sampling="log")
    hp.Choice("dropout", list(DROPOUTS))
    for name in ("units", "num_heads"):
        if name in space:
            hp.Choice(name, list(space[name]))

    class DrawOnly(keras_tuner.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            drawn.append(dict(trial.hyperparameters.values))
            return 0.0  # the score is the trial's own business (`train_trial`)

    drawn = []
    with tempfile.TemporaryDirectory() as scratch:
        # KerasTuner takes seed 0 for "no seed" and draws one at random: hence seed + 1.
        DrawOnly(hyperparameters=hp, max_trials=budget, seed=seed + 1, overwrite=True,
                 directory=directory or scratch, project_name=f"tune_{fusion}").search(verbose=0)
    return [_plain_values(values) for values in drawn]


def train_trial(build, train, validation_data, values, *, epochs=5, batch_size=64, patience=2,
                seed=0, verbose=0, bucketing=True):
    """Trains one trial from `seed`; returns its best validation accuracy over the epochs
    (KerasTuner's score for the objective `"val_accuracy"`).

    Each trial starts from the same seed, so its score does not depend on which
    trials ran before it or where it ran: the trials differ only by their values.
    """
    import keras

    from mmkeras.training import seed_everything
    from mmkeras.utils.training_state import build_training_state

    keras.backend.clear_session()
    seed_everything(seed)
    model = build(values)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    data = trial_data(model, train, validation_data, batch_size, seed, bucketing)
    build_training_state(model, data["x"], data.get("y"))
    history = model.fit(**data, epochs=epochs, callbacks=[stop], verbose=verbose)
    return float(max(history.history["val_accuracy"]))


def best_values(trials, scores):
    """The values of the best-scoring trial; the earliest on a tie (as KerasTuner's
    `get_best_hyperparameters` orders its trials)."""
    if not trials or len(trials) != len(scores):
        raise ValueError(f"Expected one score per trial. Received: {len(trials)} trials, "
                         f"{len(scores)} scores")
    best = max(range(len(trials)), key=lambda i: (scores[i], -i))
    return dict(trials[best])


def _plain_values(values):
    return {k: (float(v) if k in ("learning_rate", "dropout") else int(v))
            for k, v in values.items()}


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError as err:
        raise ImportError("Tuning needs KerasTuner: `pip install keras-tuner`") from err
    return keras_tuner


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
