"""Complexity card: every fusion on the same encoders and data, side by side.

Run: `python benchmarks/fusion_complexity.py [--out benchmarks/results/fusion_complexity.md]`

For each fusion (image_cnn + sequence_lstm encoders on av_digits, 10 classes)
it measures in a fresh subprocess: parameters, median train-step time for a
batch of 64, median inference latency for one sample and per sample in a
batch of 256, and peak resident memory above a baseline process that loads
the same libraries and data without a model. Then it shows how tensor
fusion's size grows with embedding width and modality count, beside
low-rank fusion.
"""

import argparse
import json
import os
import resource
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))


def measure(fusion, steps=20):
    import keras

    import mmkeras
    from mmkeras import datasets, encoders
    from mmkeras.utils.timing import median_seconds

    ds = datasets.load("av_digits")
    x, y = ds.train.x, ds.train.y
    if fusion == "baseline":
        return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    keras.utils.set_random_seed(0)
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1)),
         "audio": encoders.sequence_lstm(input_shape=(None, 13))},
        fusion=fusion, num_classes=10)
    batch = {k: v[:64] for k, v in x.items()}
    model.train_on_batch(batch, y[:64])  # build the train function
    batches = iter(range(1, steps + 1))

    def step():
        i = next(batches) % (len(y) // 64)
        model.train_on_batch({k: v[64 * i:64 * (i + 1)] for k, v in x.items()},
                             y[64 * i:64 * (i + 1)])

    one = {k: v[:1] for k, v in x.items()}
    many = {k: v[:256] for k, v in x.items()}
    return {
        "fusion": fusion,
        "parameters": model.count_params(),
        "fusion_parameters": mmkeras.fusion.fusion_layer(model).count_params(),
        "train_step_ms": 1000 * median_seconds(step, repeats=steps - 1),
        "latency_1_ms": 1000 * median_seconds(lambda: model.predict_on_batch(one), 30),
        "latency_per_sample_batch256_ms": 1000 * median_seconds(
            lambda: model.predict_on_batch(many), 5) / 256,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def tensor_growth():
    from mmkeras.fusion import TensorFusion

    rows = []
    for modalities in (2, 3, 4):
        for width in (8, 16, 32, 64):
            size = TensorFusion.product_size([width] * modalities)
            low_rank = modalities * 4 * (width + 1) * 64 + 64  # rank 4, 64 units
            rows.append((modalities, width, size, size * 128 + 128, low_rank))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    from _machine import machine_details

    import mmkeras

    def run(name):
        out = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    baseline = run("baseline")["peak_rss_mb"]
    lines = [f"Machine: {machine_details()}", "",
             "Encoders image_cnn (28x28x1) + sequence_lstm (MFCC frames), av_digits, 10 classes, "
             "head Dense(128). Train step: batch 64, median of 20. Latency: predict_on_batch, "
             f"median. Peak memory: resident set above a baseline process ({baseline:,.0f} MB) "
             "that loads the same libraries and data.", "",
             "| fusion | parameters | in the fusion layer | train step (ms) | latency, 1 sample (ms) "
             "| per sample in a batch of 256 (ms) | peak memory above baseline (MB) |",
             "|---|---|---|---|---|---|---|"]
    for name in sorted(mmkeras.fusion.FUSIONS):
        r = run(name)
        lines.append(f"| {name} | {r['parameters']:,} | {r['fusion_parameters']:,} | "
                     f"{r['train_step_ms']:.1f} | {r['latency_1_ms']:.2f} | "
                     f"{r['latency_per_sample_batch256_ms']:.3f} | "
                     f"{r['peak_rss_mb'] - baseline:,.0f} |")
        print(lines[-1], flush=True)
    lines += ["", "Tensor fusion grows multiplicatively (features Π(d+1), and the weights of a "
              "Dense(128) after it); low-rank fusion (rank 4, 64 units) grows linearly:", "",
              "| modalities | width d | tensor features | Dense(128) weights after it "
              "| low-rank fusion weights |", "|---|---|---|---|---|"]
    for m, d, size, head, low in tensor_growth():
        lines.append(f"| {m} | {d} | {size:,} | {head:,} | {low:,} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Fusion complexity card\n\nProduced by "
                    "`python benchmarks/fusion_complexity.py --out ...`.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
