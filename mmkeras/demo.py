"""A short demonstration: unimodal baselines vs early, concat and late fusion on `av_digits`.

Handwritten digits with most of their image energy removed, paired with
noisy spoken digits (MFCCs): each modality alone is weak, together they are
not. This is `experiments.compare` with three fusions, one seed and no
robustness tests; `python -m mmkeras compare` is the full main job.
"""


def run_demo(epochs=8, seed=0, fusions=("early", "concat", "late"), verbose=True):
    """Trains the unimodal baselines and each fusion; returns one dict per model."""
    from mmkeras.experiments import compare

    results, _ = compare("av_digits", fusions=list(fusions), seeds=[seed], epochs=epochs,
                         robustness=False, verbose=1 if verbose else 0)
    return results[["model", "test_accuracy", "parameters", "train_seconds"]].to_dict("records")
