"""Pretrain, then fuse: each encoder learns alone, then the fusion learns on top.

Trained jointly, a fusion model can lean on its easiest modality and leave
the other encoders weak (modality imbalance). Training each encoder on its
own labels first guarantees that every modality is useful on its own; the
fusion and head are then trained with the encoders frozen, and optionally
everything is fine-tuned with a small learning rate.
"""

import keras

from mmkeras.models.builder import build_model
from mmkeras.training.fit import fit_model
from mmkeras.utils import layer_names, validation


def set_encoders_trainable(model, trainable, modalities=None):
    """Freezes (`False`) or unfreezes the `"<modality>_encoder"` layers of `model`.

    Recompile the model afterwards (Keras reads `trainable` when compiling).

    Args:
        model: From `build_model` or `build_multitask_model`.
        trainable: The new setting.
        modalities: Which encoders; default all of them.

    Returns:
        The names of the layers changed.
    """
    trainable = validation.check_bool("trainable", trainable)
    found = {layer.name: layer for layer in model.layers
             if layer.name.endswith("_encoder") or layer.name.endswith("_stem")}
    wanted = ([layer_names.encoder_name(m) for m in modalities] if modalities is not None
              else [n for n in found if n.endswith("_encoder")])
    unknown = [n for n in wanted if n not in found]
    if unknown or not wanted:
        raise ValueError(f"Unknown encoders. Received: {unknown or wanted}; the model has "
                         f"{sorted(n for n in found if n.endswith('_encoder'))}")
    for name in wanted:
        found[name].trainable = trainable
        stem = found.get(name[:-len("_encoder")] + "_stem")
        if stem is not None:
            stem.trainable = trainable
    return wanted


def pretrain_encoders(encoders, train, validation=None, num_classes=None, *, epochs=10,
                      patience=3, batch_size=64, learning_rate=1e-3, dropout=0.2, seed=None,
                      verbose=0):
    """Trains each encoder on its own, as a unimodal classifier, in place.

    Each `encoders[m]` gets a classification head (`build_model({m: ...})`)
    and is trained on modality `m` alone; the encoder objects keep the
    trained weights, ready for `build_model(encoders, fusion=...)`.

    Args:
        encoders: `{modality: encoder}` (trained in place).
        train: A `mmkeras.datasets.Split` holding the modalities.
        validation: The same for validation (optional).
        num_classes: Classes of the labels; default `max(label) + 1`.
        epochs: As in `fit_model`.
        patience: As in `fit_model`.
        batch_size: As in `fit_model`.
        learning_rate: Of the unimodal models.
        dropout: Of the unimodal models.
        seed: As in `fit_model`.
        verbose: As in `fit_model`.

    Returns:
        `{modality: trained unimodal model}` (these are the unimodal
        baselines).
    """
    if num_classes is None:
        num_classes = int(max(train.y.max(), validation.y.max() if validation else 0)) + 1
    models = {}
    for modality, encoder in encoders.items():
        model = build_model({modality: encoder}, num_classes=num_classes, dropout=dropout,
                            learning_rate=learning_rate)
        fit_model(model, train.select([modality]),
                  validation.select([modality]) if validation is not None else None,
                  epochs=epochs, batch_size=batch_size, patience=patience, verbose=verbose,
                  checkpoint=False, seed=seed)
        models[modality] = model
    return models


def fit_frozen_then_fine_tune(model, train, validation=None, *, epochs=10, patience=3,
                              batch_size=64, learning_rate=1e-3, fine_tune_epochs=0,
                              fine_tune_learning_rate=1e-4, seed=None, verbose=0):
    """Trains the fusion and head with the encoders frozen, then optionally all of it.

    Args:
        model: A compiled single-output model from `build_model` whose
            encoders were pretrained (`pretrain_encoders`).
        train: A `Split` or `(x, y)`.
        validation: The same for validation (optional).
        epochs: As in `fit_model`.
        patience: As in `fit_model`.
        batch_size: As in `fit_model`.
        learning_rate: Adam's rate for the frozen stage.
        fine_tune_epochs: Epochs with everything trainable afterwards (0: none).
        fine_tune_learning_rate: Adam's rate for fine-tuning (small, so that
            the pretrained encoders are not undone).
        seed: As in `fit_model`.
        verbose: As in `fit_model`.

    Returns:
        `(history, seconds, epochs run)` summed over both stages.
    """
    set_encoders_trainable(model, False)
    _recompile(model, learning_rate)
    history, seconds, ran = fit_model(model, train, validation, epochs=epochs,
                                      batch_size=batch_size, patience=patience,
                                      verbose=verbose, checkpoint=False, seed=seed)
    if fine_tune_epochs:
        set_encoders_trainable(model, True)
        _recompile(model, fine_tune_learning_rate)
        more, more_seconds, more_ran = fit_model(
            model, train, validation, epochs=fine_tune_epochs, batch_size=batch_size,
            patience=patience, verbose=verbose, checkpoint=False, seed=seed)
        history = {k: list(history.get(k, [])) + list(more.get(k, [])) for k in history}
        seconds, ran = seconds + more_seconds, ran + more_ran
    return history, seconds, ran


def _recompile(model, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=model.loss,
                  metrics=["accuracy"])
