"""Input pipeline vs training step, and librosa vs tf.signal MFCC, side by side.

Run: `python benchmarks/pipeline_throughput.py [--out benchmarks/results/pipeline_throughput.md]`

For each embedded dataset it measures, in one process:
- how many samples/s the `to_tf_dataset` pipeline delivers (cached, shuffled,
  batched, prefetched), iterated without a model;
- how many samples/s `model.fit` trains a concat-fusion builder model on it;
and prints their ratio (> 1 means the pipeline is not the bottleneck).
Then MFCC throughput: librosa clip by clip, librosa on the batch, tf.signal
inside a tf.function.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _machine import machine_details  # noqa: E402

import mmkeras  # noqa: E402
from mmkeras import datasets, encoders  # noqa: E402
from mmkeras.preprocessing import audio  # noqa: E402

BATCH = 64


def model_for(ds):
    make = {
        "image": lambda s: encoders.image_cnn(input_shape=s),
        "audio": lambda s: encoders.sequence_lstm(input_shape=s),
        "text": lambda s: encoders.text_bigru(sequence_length=s[0], vocab_size=len(ds.vocabulary)),
    }
    return mmkeras.build_model({m: make[m](s) for m, s in ds.input_shapes.items()},
                               num_classes=ds.num_classes)


def pipeline_rate(split, epochs=3):
    pipeline = datasets.to_tf_dataset(split, batch_size=BATCH, shuffle=True)
    for _ in pipeline:  # first pass fills the cache
        pass
    start = time.perf_counter()
    for _ in range(epochs):
        for _ in pipeline:
            pass
    return epochs * len(split) / (time.perf_counter() - start)


def training_rate(ds, epochs=2):
    keras.utils.set_random_seed(0)
    model = model_for(ds)
    pipeline = datasets.to_tf_dataset(ds.train, batch_size=BATCH, shuffle=True)
    model.fit(pipeline, epochs=1, verbose=0)  # compile and warm up
    start = time.perf_counter()
    model.fit(pipeline, epochs=epochs, verbose=0)
    return epochs * len(ds.train) / (time.perf_counter() - start)


def file_read_rate(n=512):
    """from_dataframe decoding emoji PNGs and names from disk, in parallel, once.

    The files are read into memory once per dataset (then every epoch is the
    in-memory pipeline), so the rate to compare with training is this one-off
    cost per sample.
    """
    import tempfile

    import pandas as pd

    from mmkeras.preprocessing.image import write_image

    raw = np.load(datasets.data_dir() / "emoji.npz")
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for i in range(n):
            path = os.path.join(folder, f"{i}.png")
            write_image(path, raw["image"][i % len(raw["image"]), i % 2])
            rows.append({"image": path, "text": str(raw["name"][i % len(raw["name"])]),
                         "label": str(raw["category"][i % len(raw["category"])])})
        table = pd.DataFrame(rows)
        datasets.from_dataframe(table.head(64), image="image", text="text")  # warm up
        start = time.perf_counter()
        datasets.from_dataframe(table, image="image", text="text")
        return n / (time.perf_counter() - start)


def mfcc_rates(n=256):
    rows = datasets.spoken_words.spoken_word_files()[:n]
    waves = np.stack([np.resize(audio.load_audio(r["path"])[0], 8000) for r in rows])
    audio.mfcc_librosa(waves[0])  # numba compilation outside the timing
    start = time.perf_counter()
    for w in waves:
        audio.mfcc_librosa(w)
    clip_by_clip = len(waves) / (time.perf_counter() - start)
    import librosa

    start = time.perf_counter()
    librosa.feature.mfcc(y=waves, sr=8000, n_mfcc=13, n_mels=40, n_fft=256, hop_length=80,
                         win_length=200)
    batched = len(waves) / (time.perf_counter() - start)
    graph = tf.function(audio.mfcc_tf)
    graph(tf.constant(waves))
    start = time.perf_counter()
    for _ in range(5):
        graph(tf.constant(waves)).numpy()
    tf_rate = 5 * len(waves) / (time.perf_counter() - start)
    return len(waves), clip_by_clip, batched, tf_rate


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="also write the results as Markdown here")
    args = parser.parse_args()
    lines = [f"Machine: {machine_details()}", "",
             f"Batch size {BATCH}. Pipeline: to_tf_dataset (cache, shuffle, batch, prefetch); "
             "training: model.fit of a concat-fusion model (image_cnn / sequence_lstm / text_bigru).",
             "", "| dataset | pipeline samples/s | training samples/s | pipeline / training |",
             "|---|---|---|---|"]
    for name in ("av_digits", "emoji", "spoken_words"):
        ds = datasets.load(name)
        p, t = pipeline_rate(ds.train), training_rate(ds)
        lines.append(f"| {name} | {p:,.0f} | {t:,.0f} | {p / t:,.0f}x |")
        print(lines[-1], flush=True)
        if name == "emoji":
            f = file_read_rate()
            lines.append(f"| emoji PNG files decoded by from_dataframe (once per dataset) | "
                         f"{f:,.0f} | {t:,.0f} | {f / t:,.1f}x |")
            print(lines[-1], flush=True)
    n, clip, batch, tf_rate = mfcc_rates()
    lines += ["", f"MFCC of {n} one-second clips at 8 kHz (13 coefficients, 40 mels, 25 ms / 10 ms):",
              "", "| method | clips/s | vs librosa clip by clip |", "|---|---|---|",
              f"| librosa, clip by clip | {clip:,.0f} | 1.0x |",
              f"| librosa, whole batch | {batch:,.0f} | {batch / clip:.1f}x |",
              f"| tf.signal in tf.function | {tf_rate:,.0f} | {tf_rate / clip:.1f}x |"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Input pipeline and MFCC throughput\n\n"
                    "Produced by `python benchmarks/pipeline_throughput.py --out ...`.\n\n"
                    + text + "\n")


if __name__ == "__main__":
    main()
