"""Smaller and deployable: quantisation, pruning and distillation on av_digits and emoji.

For each dataset a teacher is trained once — cross-attention on av_digits (the largest fusion,
among the leaders of the full comparison), late fusion on emoji (its leader) — (seed 0,
the full preset's encoders and head: Adam 1e-3, batch 64, head Dense(128) + dropout 0.2; at
most 12 epochs, early stopping with patience 3 on validation accuracy, best weights restored) and
then shipped as TFLite float32 / dynamic / float16 / int8 (calibrated on 200 training
samples), pruned to 50 / 75 / 90 % (3 epochs of fine-tuning at Adam 5e-4, polynomial
schedule reaching the target after 2 epochs), and distilled (alpha 0.1, T 3, keras-io's
defaults) into a concat student with narrow convolutional encoders and into a unimodal
student (seeds 0 and 1); each student is also trained from the labels alone with the same
seeds. On emoji the articles'
Conv2D+LSTM classifier (at the data's 32×32 images) gets the same quantisations and pruning.

It trains for ~30 minutes on a 2-core CPU:

    python scripts/compression_study.py --out results/compression

`--smoke` runs everything on a few hundred samples for one epoch (a check of the script,
not results). A finished dataset is kept in OUT/parts/ and skipped when the study is run
again (delete the file to redo it).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mmkeras  # noqa: E402
from mmkeras import datasets, deploy, encoders, training  # noqa: E402

SEEDS = (0, 1)
SPARSITIES = (0.5, 0.75, 0.9)
BEST_FUSION = {"av_digits": "cross_attention", "emoji": "late"}
UNIMODAL = {"av_digits": "audio", "emoji": "text"}


def _settings(smoke):
    if smoke:
        return {"epochs": 1, "patience": 1, "limit": 300, "test_limit": 60, "prune_epochs": 1}
    return {"epochs": 12, "patience": 3, "limit": None, "test_limit": None, "prune_epochs": 3}


def _subset(x, modalities):
    return {k: x[k] for k in modalities}


def _split(split, limit):
    return split if limit is None else split.take(limit)


def _fit(model, data, cfg, seed, x_keys=None, **fit_kwargs):
    keys = x_keys or list(data.train.x)
    stop = keras.callbacks.EarlyStopping("val_accuracy", mode="max", patience=cfg["patience"],
                                         restore_best_weights=True)
    start = time.perf_counter()
    training.seed_everything(seed)
    model.fit(_subset(data.train.x, keys), data.train.y, batch_size=64, epochs=cfg["epochs"],
              validation_data=(_subset(data.validation.x, keys), data.validation.y),
              callbacks=[stop], verbose=0, **fit_kwargs)
    return time.perf_counter() - start


def _standard(ds, modalities, narrow=False):
    """The comparison's encoders, or narrow convolutional ones for the students
    (no recurrent layer: they convert to TFLite without unrolling)."""
    built = {}
    for m in modalities:
        shape = tuple(ds.input_shapes[m])
        if len(shape) == 3:
            built[m] = (encoders.image_cnn(input_shape=shape, filters=(8, 16), embedding_dim=16)
                        if narrow else encoders.image_cnn(input_shape=shape))
        elif m == "text" and narrow:
            built[m] = encoders.text_conv1d(sequence_length=shape[0],
                                            vocab_size=len(ds.vocabulary), embedding_dim=16,
                                            filters=32)
        elif m == "text":
            built[m] = encoders.text_bigru(sequence_length=shape[0],
                                           vocab_size=len(ds.vocabulary))
        elif narrow:
            built[m] = encoders.sequence_conv1d(input_shape=shape, filters=(16, 16))
        else:
            built[m] = encoders.sequence_lstm(input_shape=shape)
    return built


def _accuracy(probabilities, y):
    return float(np.mean(np.argmax(probabilities, -1) == y))


def _tflite_row(content, test, keras_probabilities, **row):
    runner = deploy.TFLiteClassifier(content)
    probabilities = runner.predict(test.x)
    import gzip

    row.update(file_kb=len(content) / 1024, gzip_kb=len(gzip.compress(content, 9)) / 1024,
               latency_ms=1000 * runner.latency(test.x, repeats=50),
               accuracy=_accuracy(probabilities, test.y),
               agreement=float(np.mean(probabilities.argmax(-1)
                                       == keras_probabilities.argmax(-1))))
    return row


def _keras_row(net, test, **row):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        net.save(path)
        size = path.stat().st_size
    probabilities = net.predict(test.x, verbose=0)
    row.update(params=net.count_params(), file_kb=size / 1024,
               gzip_kb=deploy.gzipped_size(net) / 1024,
               latency_ms=1000 * training.predict_latency(net, test.x, repeats=50),
               accuracy=_accuracy(probabilities, test.y), agreement=1.0)
    return row, probabilities


def _quantised(model, name, data, test, tag, rows):
    """float32 Keras, then the four TFLite variants, appended to rows."""
    row, probabilities = _keras_row(model, test, dataset=tag, model=name, variant="Keras float32",
                                    runtime="Keras")
    rows.append(row)
    calibration = data.train.take(200).x
    for mode in deploy.QUANTIZATIONS:
        start = time.perf_counter()
        content = deploy.convert(model, mode, representative_data=calibration)
        rows.append(_tflite_row(content, test, probabilities, dataset=tag, model=name,
                                variant=f"TFLite {mode}", runtime="LiteRT",
                                params=model.count_params(), path=deploy.deployment_path(model),
                                convert_s=time.perf_counter() - start))
        print(f"  {name} {mode}: {rows[-1]['file_kb']:.0f} KB, acc {rows[-1]['accuracy']:.3f}",
              flush=True)
    return probabilities


def _pruned(model, name, data, test, cfg, tag, rows, keras_probabilities, loss, y_train):
    steps_per_epoch = int(np.ceil(len(y_train) / 64))
    for target in SPARSITIES:
        pruned = keras.models.clone_model(model)
        pruned.set_weights(model.get_weights())
        pruned.compile(optimizer=keras.optimizers.Adam(5e-4), loss=loss, metrics=["accuracy"])
        schedule = deploy.PolynomialSparsity(
            target, end_step=max(1, steps_per_epoch * (cfg["prune_epochs"] - 1)))
        training.seed_everything(0)
        pruned.fit(data.train.x, y_train, batch_size=64, epochs=cfg["prune_epochs"], verbose=0,
                   callbacks=[deploy.MagnitudePruning(schedule, frequency=10)])
        stripped = deploy.strip_pruning(pruned)
        reached = float(np.mean(list(deploy.sparsity(stripped).values())))
        row, _ = _keras_row(stripped, test, dataset=tag, model=name,
                            variant=f"pruned {int(target * 100)} % (Keras)", runtime="Keras",
                            sparsity=reached)
        rows.append(row)
        if target == 0.75:
            rows.append(_tflite_row(deploy.convert(stripped, "float32",
                                                   representative_data=data.train.take(2).x),
                                    test, keras_probabilities, dataset=tag, model=name,
                                    variant="pruned 75 % TFLite float32", runtime="LiteRT",
                                    params=stripped.count_params(), sparsity=reached,
                                    path=deploy.deployment_path(stripped)))
        print(f"  pruned {target}: sparsity {reached:.3f}, acc {row['accuracy']:.3f}", flush=True)


def _students(ds, data, teacher, test, cfg, tag, rows, keras_probabilities):
    fusion = BEST_FUSION[tag]
    kinds = {"concat student (narrow)": (list(ds.modalities), "concat"),
             f"{UNIMODAL[tag]}-only student (narrow)": ([UNIMODAL[tag]], "concat")}
    for student_name, (modalities, student_fusion) in kinds.items():
        for how in ("labels only", "distilled"):
            for seed in SEEDS:
                training.seed_everything(seed)
                student = mmkeras.build_model(_standard(ds, modalities, narrow=True),
                                              fusion=student_fusion, num_classes=ds.num_classes,
                                              dropout=0.2)
                if how == "distilled":
                    fitter = deploy.Distiller(student, teacher, alpha=0.1, temperature=3.0)
                    fitter.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"])
                    seconds = _fit(fitter, data, cfg, seed)
                else:
                    seconds = _fit(student, data, cfg, seed, x_keys=modalities)
                row, _ = _keras_row(student, _Test(_subset(test.x, modalities), test.y),
                                    dataset=tag, model=student_name,
                                    variant=f"{how} (Keras)", runtime="Keras", seed=seed,
                                    train_s=seconds, teacher=f"{fusion} (seed 0)")
                rows.append(row)
                print(f"  {student_name} {how} seed {seed}: acc {row['accuracy']:.3f}",
                      flush=True)
                if how == "distilled" and seed == SEEDS[0] and student_fusion == "concat" \
                        and len(modalities) > 1:
                    rows.append(_tflite_row(
                        deploy.convert(student, "float32",
                                       representative_data=data.train.take(2).x),
                        test, keras_probabilities, dataset=tag, model=student_name,
                        variant="distilled TFLite float32", runtime="LiteRT", seed=seed,
                        params=student.count_params(), path=deploy.deployment_path(student)))


class _Test:
    def __init__(self, x, y):
        self.x, self.y = x, y


def study_dataset(tag, cfg):
    ds = datasets.load(tag)
    data = _Data(_split(ds.train, cfg["limit"]), _split(ds.validation, cfg["limit"]))
    test = _split(ds.test, cfg["test_limit"])
    rows = []
    fusion = BEST_FUSION[tag]
    training.seed_everything(0)
    teacher = mmkeras.build_model(_standard(ds, ds.modalities), fusion=fusion,
                                  num_classes=ds.num_classes, dropout=0.2)
    seconds = _fit(teacher, data, cfg, 0)
    print(f"{tag}: {fusion} trained in {seconds:.0f} s", flush=True)
    probabilities = _quantised(teacher, fusion, data, test, tag, rows)
    _pruned(teacher, fusion, data, test, cfg, tag, rows, probabilities,
            "sparse_categorical_crossentropy", data.train.y)
    _students(ds, data, teacher, test, cfg, tag, rows, probabilities)
    if tag == "emoji":
        _articles_classifier(ds, data, test, cfg, tag, rows)
    return rows


class _Data:
    def __init__(self, train, validation):
        self.train, self.validation = train, validation


def _articles_classifier(ds, data, test, cfg, tag, rows):
    """The articles' Conv2D+LSTM classifier at emoji's 32×32 images and 16 tokens."""
    name = "articles' Conv2D+LSTM (32×32)"
    training.seed_everything(0)
    model = mmkeras.conv_lstm_classifier(image_shape=ds.input_shapes["image"],
                                         sequence_length=ds.input_shapes["text"][0],
                                         vocab_size=len(ds.vocabulary),
                                         num_classes=ds.num_classes)
    onehot = _Data(_Test(data.train.x, keras.utils.to_categorical(data.train.y, ds.num_classes)),
                   _Test(data.validation.x,
                         keras.utils.to_categorical(data.validation.y, ds.num_classes)))
    seconds = _fit(model, onehot, cfg, 0)
    print(f"{tag}: {name} trained in {seconds:.0f} s", flush=True)
    probabilities = _quantised(model, name, data, test, tag, rows)
    _pruned(model, name, data, test, cfg, tag, rows, probabilities, "categorical_crossentropy",
            onehot.train.y)


def _calibration(n=50):
    """Real inputs for each encoder kind: av_digits images and frames, emoji token ids,
    and for video 8 copies of an emoji picture (no video dataset ships with mmkeras)."""
    digits, emoji = datasets.load("av_digits"), datasets.load("emoji")
    pictures = emoji.train.x["image"][:n]
    return {"image": digits.train.x["image"][:n], "text": emoji.train.x["text"][:n],
            "audio": digits.train.x["audio"][:n],
            "video": np.repeat(pictures[:, None], 8, axis=1)}, emoji


def export_paths(cfg):
    """Every encoder type at its standard size in a unimodal model (untrained: sizes do not
    depend on training): its export path and its TFLite size at each quantisation."""
    samples, emoji = _calibration()
    vocab, length = len(emoji.vocabulary), emoji.input_shapes["text"][0]
    cases = {
        "image_cnn (28×28×1)": {"image": lambda: encoders.image_cnn(input_shape=(28, 28, 1))},
        "image_conv_flatten (28×28×1)": {
            "image": lambda: encoders.image_conv_flatten(input_shape=(28, 28, 1))},
        "text_lstm (16 tokens)": {"text": lambda: encoders.text_lstm(length, vocab)},
        "text_bigru (16 tokens)": {"text": lambda: encoders.text_bigru(length, vocab)},
        "text_conv1d (16 tokens)": {"text": lambda: encoders.text_conv1d(length, vocab)},
        "text_transformer (16 tokens)": {"text": lambda: encoders.text_transformer(length, vocab)},
        "sequence_lstm (92 frames)": {"audio": lambda: encoders.sequence_lstm()},
        "sequence_conv1d (92 frames)": {"audio": lambda: encoders.sequence_conv1d()},
        "video_cnn_lstm (8×32×32×3)": {"video": lambda: encoders.video_cnn_lstm()},
    }
    rows = []
    for name, build in cases.items():
        training.seed_everything(0)
        model = mmkeras.build_model({m: b() for m, b in build.items()}, num_classes=10)
        x = {m: samples[m] for m in build}
        row = {"encoder": name, "path": deploy.deployment_path(model),
               "params": model.count_params(), "weights_kb": 4 * model.count_params() / 1024}
        for mode in deploy.QUANTIZATIONS:
            row[f"{mode}_kb"] = len(deploy.convert(model, mode, representative_data=x)) / 1024
        row["graph_overhead_kb"] = row["float32_kb"] - row["weights_kb"]
        rows.append(row)
        print(f"  {name}: {row['path']}, {row['float32_kb']:.0f} KB", flush=True)
    return rows


def machine():
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{os.cpu_count()}-core {cpu}, no GPU; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/compression")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--datasets", nargs="*", default=["av_digits", "emoji"],
                        choices=["av_digits", "emoji"],
                        help="none: only the export paths of every encoder (no training)")
    args = parser.parse_args(argv)
    cfg = _settings(args.smoke)
    out = Path(args.out)
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for tag in ["export_paths", *args.datasets]:
        path = parts / f"{tag}.json"
        if path.exists():
            print(f"{tag}: kept from {path}", flush=True)
            continue
        rows = export_paths(cfg) if tag == "export_paths" else study_dataset(tag, cfg)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        os.replace(tmp, path)
    info = {"machine": machine(), "command": "python scripts/compression_study.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "seconds": time.perf_counter() - started, "smoke": args.smoke}
    previous = out / "run.json"
    if previous.exists() and not any((parts / f"{t}.json").stat().st_mtime > previous.stat().st_mtime
                                     for t in ["export_paths", *args.datasets]):
        info = json.loads(previous.read_text())  # nothing re-run: keep the run's record
    previous.write_text(json.dumps(info, indent=1))
    write_report(out, args.datasets, info)


def _mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def write_report(out, tags, info):
    """compression.md (tables), compression.csv, pruning.csv, distillation.csv,
    export_paths.csv and compression.png from the parts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    fmt = {"file_kb": "{:.0f}", "gzip_kb": "{:.0f}", "latency_ms": "{:.2f}",
           "accuracy": "{:.3f}", "agreement": "{:.3f}", "sparsity": "{:.3f}",
           "weights_kb": "{:.0f}", "tflite_float32_kb": "{:.0f}", "graph_overhead_kb": "{:.0f}",
           "mean": "{:.3f}", **{f"{m}_kb": "{:.0f}" for m in deploy.QUANTIZATIONS}}

    def table(frame):
        frame = frame.copy()
        for c, f in fmt.items():
            if c in frame:
                frame[c] = frame[c].map(lambda v, f=f: v if isinstance(v, str) else (
                    "" if pd.isna(v) else f.format(v)))
        header = "| " + " | ".join(map(str, frame.columns)) + " |"
        rule = "|" + "---|" * len(frame.columns)
        body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in r) + " |"
                for r in frame.itertuples(index=False)]
        return "\n".join([header, rule, *body])

    parts = out / "parts"
    paths = pd.DataFrame(json.loads((parts / "export_paths.json").read_text()))
    paths.to_csv(out / "export_paths.csv", index=False)
    header = [f"Machine: {info['machine']}. Command: `{info['command']}` "
              f"({info['seconds'] / 60:.0f} min{'; SMOKE run' if info['smoke'] else ''}).", ""]
    export_table = ["## Export path of every encoder (untrained unimodal model, TFLite sizes "
                    "in KB)", "", table(paths), "",
                    "weights_kb: 4 bytes per parameter. graph_overhead_kb: float32 file minus "
                    "weights (operations, tensors, metadata). int8 is calibrated on 50 real "
                    "training inputs (video: an emoji picture repeated over 8 frames).", ""]
    if not tags:
        note = ["Sizes only (no training, no timing). The quantisation, pruning and "
                "distillation study runs with `--datasets av_digits emoji` (the default).", ""]
        (out / "compression.md").write_text("\n".join(["# Export paths", "", *header, *note,
                                                        *export_table]))
        return
    rows = pd.DataFrame([r for t in tags for r in json.loads((parts / f"{t}.json").read_text())])
    rows.to_csv(out / "all_runs.csv", index=False)
    main = rows[rows.variant.str.startswith(("Keras float32", "TFLite", "pruned 75 % TFLite",
                                             "distilled TFLite"))]
    cols = ["dataset", "model", "variant", "params", "file_kb", "gzip_kb", "latency_ms",
            "accuracy", "agreement"]
    main[cols].to_csv(out / "compression.csv", index=False)
    pruning = rows[rows.variant.str.contains(r"pruned \d+ % \(Keras\)")]
    pruning_cols = ["dataset", "model", "variant", "sparsity", "gzip_kb", "accuracy"]
    pruning[pruning_cols].to_csv(out / "pruning.csv", index=False)
    students = rows[rows.variant.isin(["labels only (Keras)", "distilled (Keras)"])]
    verdict = (students.groupby(["dataset", "model", "variant"])
               .agg(accuracy=("accuracy", lambda v: _mean_std(list(v))),
                    mean=("accuracy", "mean"), params=("params", "first"),
                    seeds=("seed", "count")).reset_index())
    verdict.to_csv(out / "distillation.csv", index=False)
    lines = ["# Compression study", "",
             f"Machine: {info['machine']}. Command: `{info['command']}` ({info['seconds'] / 60:.0f} min{'; SMOKE run' if info['smoke'] else ''}).",
             "Latency: median of 50 single-sample calls (TFLite: LiteRT's interpreter, XNNPACK "
             "except for int8; Keras: `predict_on_batch`). Agreement: share of test samples "
             "whose class equals the float32 Keras model's. gzip: the .tflite file, or for Keras "
             "rows the weights alone (`deploy.gzipped_size`, no optimizer state). Sizes in KB.",
             "",
             "## Quantisation, pruning (75 %) and distillation", "", table(main[cols]), "",
             "## Pruning: accuracy and gzip size by sparsity", "", table(pruning[pruning_cols]),
             "", "## Distillation: students from the labels alone vs distilled", "",
             table(verdict[["dataset", "model", "variant", "params", "seeds", "accuracy"]]), "",
             *export_table]
    (out / "compression.md").write_text("\n".join(lines))

    fig, axes = plt.subplots(1, len(tags), figsize=(6 * len(tags), 4.5), squeeze=False)
    for ax, tag in zip(axes[0], tags):
        part = main[main.dataset == tag]
        for model, group in part.groupby("model"):
            ax.plot(group.file_kb, group.accuracy, "o", label=model)
            for _, r in group.iterrows():
                ax.annotate(r.variant.replace("TFLite ", ""), (r.file_kb, r.accuracy),
                            fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("file size (KB, log)")
        ax.set_ylabel("test accuracy")
        ax.set_title(tag)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "compression.png", dpi=120)


if __name__ == "__main__":
    main()
