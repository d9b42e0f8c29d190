"""A fresh model's first `fit` on TensorFlow: the train step traced twice or once.

Run: `python benchmarks/first_fit.py [--out benchmarks/results/first_fit.md]`

Keras' TensorFlow trainer (without a distribution strategy) creates a compiled model's
optimizer variables, and the metrics named by a string such as `"accuracy"`, while it traces
the first train step; a `tf.function` that created variables is traced a second time. For
each model (the comparison's encoders on av_digits), side by side in one process, alternating,
fresh models from the same seed:

- *traced twice*: `build_model(..., compile=False)`, then `model.compile(...)` with
  `metrics=["accuracy"]`, as a model is usually compiled (and as `build_model` did before);
- *traced once*: `build_model(...)` as it compiles now (metric objects, optimizer built).

Each: one `model.fit` of `--epochs` epochs on `--samples` training samples (batch 64, the
arrays padded to the stored length), timed whole, with the number of train-step traces and
the last loss (the same in both: only the tracing differs). Median of `--repeats`.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

MODELS = {"audio only": ("audio",), "concat": ("image", "audio"),
          "cross_attention": ("image", "audio")}


def first_fit(data, name, once, samples, epochs):
    """`(seconds, traces, last loss)` of one fresh model's first `fit`."""
    import keras

    import mmkeras

    keras.utils.set_random_seed(0)
    modalities = MODELS[name]
    model = mmkeras.build_model(mmkeras.encoders.standard_encoders(data, list(modalities)),
                                fusion="concat" if len(modalities) == 1 else name,
                                num_classes=data.num_classes, dropout=0.2, compile=once)
    if not once:
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    traces, step = [], model.train_step

    def counted(batch):
        traces.append(1)
        return step(batch)

    model.train_step = counted
    train = data.train.take(samples, seed=0).select(list(modalities))
    start = time.perf_counter()
    history = model.fit(train.x, train.y, epochs=epochs, batch_size=64, verbose=0)
    return time.perf_counter() - start, len(traces), history.history["loss"][-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    from _machine import machine_details, print_and_save, source_revision

    from mmkeras import datasets

    data = datasets.load("av_digits")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    for name in MODELS:
        runs = {True: [], False: []}
        for _ in range(args.repeats):
            for once in (False, True):
                runs[once].append(first_fit(data, name, once, args.samples, args.epochs))
        (twice_s, twice_t, twice_loss), (once_s, once_t, once_loss) = (
            (statistics.median(r[0] for r in runs[o]), runs[o][0][1], runs[o][0][2])
            for o in (False, True))
        rows.append(f"| {name} | {twice_t} | {twice_s:.2f} | {once_t} | {once_s:.2f} | "
                    f"{twice_s / once_s:.2f}× | {twice_loss:.5f} | {once_loss:.5f} |")
        print(rows[-1], flush=True)
    text = "\n".join([
        "# A fresh model's first fit: the train step traced twice or once", "",
        f"Machine: {machine_details()}", "",
        f"Measured: {source_revision(root)}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Command: `python benchmarks/first_fit.py --samples {args.samples} --epochs "
        f"{args.epochs} --repeats {args.repeats}`: one `model.fit` of a fresh model "
        f"(av_digits, the comparison's encoders, batch 64), median of {args.repeats}, the two "
        "ways alternating in one process.", "",
        "| model | traces (string metric, optimizer unbuilt) | seconds | traces (build_model) "
        "| seconds | speed-up | last loss | last loss |",
        "|---|---|---|---|---|---|---|---|", *rows, ""])
    print_and_save(text, args.out)


if __name__ == "__main__":
    main()
