"""Padded-to-max vs length-bucketed batches, side by side in one run.

Run (it trains for several minutes; time it on an otherwise idle machine):
`python benchmarks/bucketing.py --out benchmarks/results/bucketing.md`

1. Training samples/s of the comparison's models (`standard_encoders`,
   batch 64) on `to_tf_dataset(..., shuffle=True)` with `bucketing=False`
   (every batch at the stored length: 92 frames, 16 tokens) and
   `bucketing=True`: audio-only, concat and cross_attention on `av_digits`,
   text-only and concat on `emoji`. Both models are compiled and warmed up
   for one epoch, then their epochs alternate (padded, bucketed, padded, ...)
   so a change in the machine's load hits both; the median epoch counts.
   Also the mean padded steps per sample the model computes.
   A third model trains on the bucketed batches with `steps_per_execution=4`.
2. `compile(steps_per_execution=k)` for concat on `av_digits`, bucketed.
3. The whole quick `python -m mmkeras compare` (9 fusions + 2 baselines,
   5 epochs, robustness), wall time: before (padded batches in training and
   evaluation, `steps_per_execution=1`, one process), bucketed in one
   process, and the default (bucketed, 2 worker processes).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
from _machine import machine_details  # noqa: E402

import mmkeras  # noqa: E402
from mmkeras import datasets  # noqa: E402
from mmkeras.datasets.bucketing import is_variable_length  # noqa: E402
from mmkeras.experiments import standard_encoders  # noqa: E402

BATCH = 64
CASES = [("av_digits", ["audio"], "concat", "audio only"),
         ("av_digits", ["audio", "image"], "concat", "concat"),
         ("av_digits", ["audio", "image"], "cross_attention", "cross_attention"),
         ("av_digits", ["image"], "concat", "image only"),
         ("emoji", ["text"], "concat", "text only"),
         ("emoji", ["image", "text"], "concat", "concat"),
         ("emoji", ["image"], "concat", "image only")]
# What compare uses (mmkeras.experiments.training_run.STEPS_PER_EXECUTION).
STEPS = 4


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def _model(data, modalities, fusion, steps_per_execution=1):
    keras.utils.set_random_seed(0)
    return mmkeras.build_model(standard_encoders(data, modalities), fusion=fusion,
                               num_classes=data.num_classes, dropout=0.2,
                               steps_per_execution=steps_per_execution)


def steps_per_sample(pipeline, samples):
    """Mean padded steps per sample over one epoch (the longest variable modality)."""
    total = 0
    for features, _ in pipeline:
        widths = [v.shape[1] for v in features.values() if is_variable_length(v.numpy())]
        if not widths:  # no sequence: nothing to bucket
            return None
        total += features[next(iter(features))].shape[0] * max(widths)
    return total / samples


def side_by_side(models, pipelines, samples, rounds=3):
    """Median seconds per epoch of each (model, pipeline), epochs alternating."""
    timer = EpochTimer()
    for model, pipeline in zip(models, pipelines):  # compile, trace, fill the cache
        model.fit(pipeline, epochs=1, verbose=0)
    times = [[] for _ in models]
    for _ in range(rounds):
        for i, (model, pipeline) in enumerate(zip(models, pipelines)):
            model.fit(pipeline, epochs=1, verbose=0, callbacks=[timer])
            times[i].append(timer.seconds)
    return [samples / statistics.median(t) for t in times]


def throughput_rows():
    rows = []
    for name, modalities, fusion, label in CASES:
        data = datasets.load(name)
        train = data.train.select(modalities)
        pipelines = [datasets.to_tf_dataset(train, BATCH, shuffle=True, bucketing=b)
                     for b in (False, True, True)]
        steps = [steps_per_sample(p, len(train)) for p in pipelines[:2]]
        models = [_model(data, modalities, fusion, k) for k in (1, 1, STEPS)]
        rates = side_by_side(models, pipelines, len(train))
        rows.append((name, label, steps, rates))
        print(f"{name} {label}: padded {rates[0]:.0f}/s, bucketed {rates[1]:.0f}/s "
              f"({rates[1] / rates[0]:.2f}x), bucketed + steps_per_execution={STEPS} "
              f"{rates[2]:.0f}/s ({rates[2] / rates[0]:.2f}x)", flush=True)
    return rows


def steps_per_execution_rows(values=(1, 4, 16)):
    data = datasets.load("av_digits")
    pipeline = datasets.to_tf_dataset(data.train, BATCH, shuffle=True, bucketing=True)
    models = [_model(data, ["audio", "image"], "concat", k) for k in values]
    rates = side_by_side(models, [pipeline] * len(values), len(data.train))
    for k, r in zip(values, rates):
        print(f"steps_per_execution={k}: {r:.0f}/s", flush=True)
    return list(zip(values, rates))


# Before: padded training batches, one batch per compiled call, padded evaluation batches.
BEFORE = ("import sys, mmkeras.experiments.training_run as c; c.STEPS_PER_EXECUTION = 1; "
          "import mmkeras.evaluation.prediction as p; p.predict.__defaults__ = (256, False); "
          "from mmkeras.__main__ import main; sys.exit(main(sys.argv[1:]))")


# The quick compare's configurations, timed one after the other: (key, label, python args, flags).
COMPARE_RUNS = [
    ("before", "before: padded to the maximum (training and evaluation), steps_per_execution=1, "
               "one process", ["-c", BEFORE], ["--no-bucketing", "--workers", "1"]),
    ("bucketed", f"bucketed training and evaluation, steps_per_execution={STEPS}, one process",
     ["-m", "mmkeras"], ["--workers", "1"]),
    ("default", f"bucketed, steps_per_execution={STEPS}, 2 worker processes (the default, "
                "`--workers auto`)", ["-m", "mmkeras"], []),
]


def compare_seconds(keep=None):
    """Wall seconds of the quick `python -m mmkeras compare` in each of `COMPARE_RUNS`.

    `keep`: a folder for the default run's output (docs/results.md quotes its table).
    """
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for key, _, command, flags in COMPARE_RUNS:
            out = keep if keep and key == "default" else os.path.join(folder, key)
            start = time.perf_counter()
            subprocess.run([sys.executable, *command, "compare", *flags, "--out", out],
                           check=True, stdout=subprocess.DEVNULL)
            seconds[key] = time.perf_counter() - start
            print(f"quick compare, {key}: {seconds[key]:.0f} s", flush=True)
    return seconds


def _clock(seconds):
    return f"{int(seconds // 60)} min {round(seconds % 60):.0f} s"


def report(rows, spe, compare):
    lines = ["# Padded-to-max vs length-bucketed batches", "",
             f"Machine: {machine_details()}.", "",
             f"Command: `python benchmarks/bucketing.py`, run "
             f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (load average at the "
             f"end: {os.getloadavg()[0]:.1f}).", "",
             "Training samples/s with the comparison's encoders, batch 64, median of 3 epochs "
             "after a warm-up epoch, the two pipelines' epochs alternating. "
             "Steps = mean padded steps per sample of the longest variable-length modality.",
             f"The last columns add `steps_per_execution={STEPS}` (what `compare` now uses) "
             "to the bucketed batches. Image-only rows have no variable-length modality "
             "(the same batches either way): they bound what bucketing can do for a fusion "
             "whose image CNN, run beside the LSTM on the two cores, becomes the longest path.",
             "", "| dataset | model | steps padded | steps bucketed | padded samples/s | "
             "bucketed samples/s | speed-up | bucketed + steps/exec samples/s | speed-up |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, label, steps, rates in rows:
        steps = ["—" if v is None else f"{v:.1f}" for v in steps]
        lines.append(f"| {name} | {label} | {steps[0]} | {steps[1]} | {rates[0]:.0f} | "
                     f"{rates[1]:.0f} | {rates[1] / rates[0]:.2f}× | {rates[2]:.0f} | "
                     f"{rates[2] / rates[0]:.2f}× |")
    if spe:
        lines += ["", "`compile(steps_per_execution=k)`, concat on av_digits, bucketed:", "",
                  "| steps_per_execution | samples/s | vs 1 |", "| --- | --- | --- |"]
        lines += [f"| {k} | {r:.0f} | {r / spe[0][1]:.2f}× |" for k, r in spe]
    if compare:
        lines += ["", "The whole quick `python -m mmkeras compare` (9 fusions + 2 baselines, "
                  "5 epochs, robustness, figures and models written), wall time, the runs one "
                  "after the other:", "", "| configuration | wall time | vs before |",
                  "| --- | --- | --- |"]
        lines += [f"| {label} | {_clock(compare[key])} | "
                  f"{compare['before'] / compare[key]:.2f}× |"
                  for key, label, _, _ in COMPARE_RUNS if key in compare and "before" in compare]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the Markdown report here (after each part)")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-steps-per-execution", action="store_true")
    parser.add_argument("--compare-first", action="store_true",
                        help="time the quick compare before the throughput table")
    parser.add_argument("--keep-compare", help="keep the quick compare's output folder here")
    args = parser.parse_args()
    rows, spe, compare = [], [], {}

    def write():
        text = report(rows, spe, compare)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
        return text

    if args.compare_first and not args.skip_compare:
        compare.update(compare_seconds(args.keep_compare))
        write()
    rows.extend(throughput_rows())
    write()
    if not args.skip_steps_per_execution:
        spe.extend(steps_per_execution_rows())
        write()
    if not args.compare_first and not args.skip_compare:
        compare.update(compare_seconds(args.keep_compare))
    print(write())


if __name__ == "__main__":
    main()
