"""A two-minute demonstration: unimodal baselines vs fusion on `av_digits`.

Handwritten digits with most of their image energy removed, paired with
noisy spoken digits (MFCCs): each modality alone is weak, together they are
not. The demo trains the image-only and audio-only baselines and the early,
concat and late fusions with the same encoders, and prints test accuracy.
"""

import time


def run_demo(epochs=8, seed=0, fusions=("early", "concat", "late"), verbose=True):
    """Trains the unimodal baselines and each fusion; returns result rows."""
    import keras

    from mmkeras import build_model, datasets, encoders

    ds = datasets.load("av_digits")
    make = {"image": lambda: encoders.image_cnn(input_shape=(28, 28, 1)),
            "audio": lambda: encoders.sequence_lstm(input_shape=(None, 13))}
    runs = [("image only", ["image"], "concat"), ("audio only", ["audio"], "concat")]
    runs += [(f"{f} fusion", ["image", "audio"], f) for f in fusions]
    rows = []
    for label, modalities, fusion in runs:
        keras.utils.set_random_seed(seed)
        model = build_model({m: make[m]() for m in modalities}, fusion=fusion,
                            num_classes=ds.num_classes, dropout=0.2)
        train, val, test = (s.select(modalities) for s in (ds.train, ds.validation, ds.test))
        start = time.perf_counter()
        model.fit(train.x, train.y, validation_data=(val.x, val.y), epochs=epochs,
                  batch_size=64, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(test.x, test.y, verbose=0)
        rows.append({"model": label, "test_accuracy": float(accuracy),
                     "parameters": model.count_params(), "train_seconds": seconds})
        if verbose:
            print(f"{label:<14} test accuracy {accuracy:.3f}  "
                  f"({model.count_params():,} parameters, {seconds:.1f} s)", flush=True)
    return rows
