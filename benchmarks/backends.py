"""The same models on the TensorFlow, JAX and torch backends, side by side in one run.

Run (about 7 minutes on the 2-core CPU; time it on an otherwise idle machine):
`python benchmarks/backends.py --out benchmarks/results/backends.md`

Each backend runs in its own process (`KERAS_BACKEND` is set before Keras is
imported), one after the other. In each: the comparison's models
(`standard_encoders`, batch 64, `dropout=0.2`) on `av_digits` at its real
frame counts (6–92 MFCC frames, stored as 92): concat, cross_attention and
audio only. Every model trains on `to_tf_dataset(..., shuffle=True)` with

- `padded`: `bucketing=False`, every batch at the stored 92 frames (one shape);
- `longest`: length buckets, each batch cut to its own longest sample
  (TensorFlow's choice: a new shape nearly every batch);
- `boundaries`: length buckets, each batch padded up to the next of the fixed
  lengths `boundary_ladder(92)` = 1, 2, 3, 4, 6, 8, 12, 16, 23, 32, 46, 64, 92
  (JAX's choice, `bucketing.best_padding`: a handful of shapes, each traced once).

The first epoch is the warm-up (tracing, compiling, filling the cache) and is
reported apart; training samples/s is the median of the timed epochs after it.
Prediction samples/s: `mmkeras.evaluation.predict` on the test split with the
same padding, timed on the second call. To keep the whole run short the
samples are few (`TRAIN` training samples, `EPOCHS` timed epochs, the torch
backend fewer: its LSTM steps run eagerly); the file says which.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = 64
# `--quick` (a smoke test of the script, numbers meaningless): a few batches.
QUICK = os.environ.get("MMKERAS_BACKENDS_QUICK") == "1"
TRAIN = 128 if QUICK else 1536
EPOCHS = 1 if QUICK else 2
# torch runs Keras' LSTM eagerly, step by step: fewer samples keep it in the budget.
TORCH_TRAIN = 128 if QUICK else 384
TORCH_PREDICT = 64 if QUICK else 128
CASES = [("concat", ["audio", "image"], "concat"),
         ("cross_attention", ["audio", "image"], "cross_attention"),
         ("audio only", ["audio"], "concat")][:1 if QUICK else None]
PADDINGS = {"tensorflow": ["padded", "longest", "boundaries"],
            "jax": ["padded", "longest", "boundaries"],
            "torch": ["padded", "longest"]}
BACKENDS = ["tensorflow", "jax", "torch"]


def _worker(backend):
    """Runs in a process whose KERAS_BACKEND is `backend`; prints one JSON line."""
    sys.path.insert(0, HERE)
    import keras

    import mmkeras
    from _machine import machine_details
    from mmkeras import datasets
    from mmkeras.evaluation import predict
    from mmkeras.experiments import standard_encoders

    assert keras.backend.backend() == backend, keras.backend.backend()
    data = datasets.load("av_digits")
    torch = backend == "torch"
    n_train = TORCH_TRAIN if torch else TRAIN
    n_predict = TORCH_PREDICT if torch else len(data.test)
    rows = []

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    for label, modalities, fusion in CASES:
        train = data.train.select(modalities).take(n_train)
        test_x = {m: data.test.x[m][:n_predict] for m in modalities}
        for padding in PADDINGS[backend]:
            options = (dict(bucketing=False) if padding == "padded"
                       else dict(bucketing=True, bucket_padding=padding))
            pipeline = datasets.to_tf_dataset(train, BATCH, shuffle=True, seed=0, **options)
            shapes = {tuple(f["audio"].shape) for f, _ in pipeline}
            keras.utils.set_random_seed(0)
            model = mmkeras.build_model(standard_encoders(data, modalities), fusion=fusion,
                                        num_classes=data.num_classes, dropout=0.2)
            timer = EpochTimer()
            model.fit(pipeline, epochs=1 + EPOCHS, verbose=0, callbacks=[timer])
            mode = False if padding == "padded" else padding
            start = time.perf_counter()
            predict(model, test_x, batch_size=256, bucketing=mode)
            first_predict = time.perf_counter() - start
            start = time.perf_counter()
            predict(model, test_x, batch_size=256, bucketing=mode)
            predict_seconds = time.perf_counter() - start
            train_rate = n_train / statistics.median(timer.seconds[1:])
            rows.append(dict(model=label, padding=padding, train_samples=n_train,
                             batch_shapes=len(shapes), warmup_seconds=timer.seconds[0],
                             epoch_seconds=timer.seconds[1:], train_per_s=train_rate,
                             predict_samples=n_predict, first_predict_seconds=first_predict,
                             predict_per_s=n_predict / predict_seconds))
            print(f"[{backend}] {label} {padding}: train {train_rate:.0f}/s "
                  f"(warm-up {timer.seconds[0]:.1f} s, {len(shapes)} shapes), "
                  f"predict {n_predict / predict_seconds:.0f}/s", file=sys.stderr, flush=True)
    versions = {}
    for name in ("jax", "torch"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    print(json.dumps(dict(backend=backend, machine=machine_details(), versions=versions,
                          rows=rows)))


def run_backend(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--worker", backend], env=env,
                          stdout=subprocess.PIPE, text=True)
    if done.returncode:
        print(f"{backend}: failed (exit {done.returncode})", file=sys.stderr)
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = time.perf_counter() - start
    return result


def _rate(results, backend, model, padding, key):
    for row in results.get(backend, {}).get("rows", []):
        if row["model"] == model and row["padding"] == padding:
            return row[key]
    return None


def report(results, total_seconds, asked=BACKENDS, command="python benchmarks/backends.py"):
    first = next(iter(results.values()))
    versions = ", ".join(f"{k} {v}" for r in results.values()
                         for k, v in r["versions"].items())
    versions = ", ".join(dict.fromkeys(versions.split(", ")))
    lines = ["# The same models on three Keras backends", "",
             f"Machine: {first['machine'].rsplit(' (', 1)[0]}"
             f"{', ' + versions if versions else ''}.", "",
             f"Command: `{command}`, run on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, its backends in this one "
             f"run, {total_seconds / 60:.1f} min in all (load average at the end: "
             f"{os.getloadavg()[0]:.1f}).", "",
             f"av_digits (real frame counts, 6–92 MFCC frames stored as 92), "
             f"`standard_encoders`, batch {BATCH}. Small on purpose, to keep the run under 8 "
             f"minutes on 2 cores: {TRAIN} training samples (torch: {TORCH_TRAIN}), one warm-up "
             f"epoch (its seconds are the `warm-up` column: tracing and compiling), then the "
             f"median of {EPOCHS} timed epochs; prediction on the 300 test samples (torch: "
             f"{TORCH_PREDICT}), `mmkeras.evaluation.predict` with the same padding, second "
             "call timed. `padded`: every batch at 92 frames; `longest`: bucketed, each batch "
             "cut to its longest sample; `boundaries`: bucketed, each batch padded up to the "
             "next fixed length of `boundary_ladder(92)`. `shapes`: distinct batch shapes in "
             "one epoch (each is one trace on a compiled backend).", "",
             "| model | backend | padding | shapes | warm-up (s) | train samples/s | "
             "vs TensorFlow bucketed | predict samples/s | vs TensorFlow bucketed |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, _, _ in CASES:
        tf_train = _rate(results, "tensorflow", label, "longest", "train_per_s")
        tf_predict = _rate(results, "tensorflow", label, "longest", "predict_per_s")
        for backend in BACKENDS:
            for row in results.get(backend, {}).get("rows", []):
                if row["model"] != label:
                    continue
                ratio = (f"{row['train_per_s'] / tf_train:.2f}×" if tf_train else "—")
                pratio = (f"{row['predict_per_s'] / tf_predict:.2f}×" if tf_predict else "—")
                lines.append(
                    f"| {label} | {backend} | {row['padding']} | {row['batch_shapes']} | "
                    f"{row['warmup_seconds']:.1f} | {row['train_per_s']:.0f} | {ratio} | "
                    f"{row['predict_per_s']:.0f} | {pratio} |")
    missing = [b for b in asked if b not in results]
    if missing:
        lines += ["", f"Not measured (not installed or failed): {', '.join(missing)}."]
    left_out = [b for b in BACKENDS if b not in asked]
    if left_out:
        lines += ["", f"Not asked for (`--backends`): {', '.join(left_out)}."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "backends.md"),
                        help="the Markdown report (a .json with the same name beside it)")
    parser.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    parser.add_argument("--quick", action="store_true",
                        help="a few batches: checks the script, not the speeds")
    args = parser.parse_args()
    if args.quick:
        os.environ["MMKERAS_BACKENDS_QUICK"] = "1"
    if args.worker:
        return _worker(args.worker)
    start = time.perf_counter()
    results = {}
    for backend in args.backends:
        try:
            __import__(backend)
        except ImportError:
            print(f"{backend}: not installed, skipped", file=sys.stderr)
            continue
        result = run_backend(backend)
        if result:
            results[backend] = result
            with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
                json.dump(results, f, indent=1)  # kept if a later backend fails
    if not results:
        raise SystemExit("no backend ran")
    command = " ".join(["python benchmarks/backends.py", *sys.argv[1:]])
    text = report(results, time.perf_counter() - start, args.backends, command)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
