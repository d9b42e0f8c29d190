"""Command line: `python -m mmkeras {compare,train,evaluate,predict,info,demo}`.

  compare   train every fusion and the unimodal baselines, print and save the table
  train     one dataset + fusion -> a saved .keras model (+ its .json metadata)
  evaluate  score a saved model on a split of an embedded dataset
  predict   classify new files (image path, audio path, text) with a saved model
  info      datasets, fusions, encoders, devices and versions
  demo      the quick demonstration (unimodal vs early/concat/late)
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _csv(value):
    return [v.strip() for v in value.split(",") if v.strip()]


def _seeds(value):
    try:
        return [int(v) for v in _csv(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers like 0,1,2. Received: {value!r}")


def _choice_check(parser, name, values, allowed):
    bad = [v for v in values if v not in allowed]
    if bad:
        parser.error(f"unknown {name} {bad}; valid: {', '.join(sorted(allowed))}")


def _compare(args, parser):
    from mmkeras import datasets, fusion
    from mmkeras.experiments import check_output_dir, compare, markdown_table
    from mmkeras.training import format_device_summary

    _choice_check(parser, "dataset", [args.dataset], datasets.DATASETS)
    if args.fusions:
        _choice_check(parser, "fusions", args.fusions, fusion.FUSIONS)
    out = args.out or os.path.join("mmkeras-results", args.dataset)
    try:
        check_output_dir(out)
    except PermissionError as err:
        parser.error(str(err))
    print(f"Comparing fusions on {args.dataset} ({args.preset} preset) on "
          f"{format_device_summary()}; results in {out}/", flush=True)
    _, summary = compare(args.dataset, fusions=args.fusions, seeds=args.seeds, epochs=args.epochs,
                         preset=args.preset, out=out, cv_folds=args.cv,
                         robustness=not args.no_robustness)
    print()
    print(markdown_table(summary))
    print(f"\nWrote {out}/results.csv, results.md and figures (*.png).")
    return 0


def _metadata(data, modalities, fusion):
    return {"dataset": data.name, "fusion": fusion, "modalities": modalities,
            "class_names": data.class_names,
            "input_shapes": {m: list(data.input_shapes[m]) for m in modalities},
            "vocabulary": data.vocabulary if "text" in modalities else None}


def _train(args, parser):
    import keras

    from mmkeras import build_model, datasets, fusion
    from mmkeras.evaluation import evaluate_classifier
    from mmkeras.experiments import standard_encoders
    from mmkeras.training import fit_model, seed_everything

    _choice_check(parser, "dataset", [args.dataset], datasets.DATASETS)
    _choice_check(parser, "fusion", [args.fusion], fusion.FUSIONS)
    data = datasets.load(args.dataset)
    modalities = args.modalities or data.modalities
    _choice_check(parser, "modalities", modalities, data.modalities)
    if not args.out.endswith(".keras"):
        parser.error(f"--out must end in .keras. Received: {args.out!r}")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.access(folder, os.W_OK):
        parser.error(f"cannot write to {folder!r}")
    seed_everything(args.seed)
    model = build_model(standard_encoders(data, modalities), fusion=args.fusion,
                        num_classes=data.num_classes, dropout=0.2,
                        modality_dropout=args.modality_dropout)
    tr, va, te = (s.select(modalities) for s in (data.train, data.validation, data.test))
    _, seconds, epochs_run = fit_model(model, (tr.x, tr.y), (va.x, va.y), epochs=args.epochs,
                                       patience=args.patience, verbose=args.verbose)
    model.save(args.out)
    with open(args.out[:-len(".keras")] + ".json", "w") as f:
        json.dump(_metadata(data, modalities, args.fusion), f, indent=1)
    metrics = evaluate_classifier(model, te.x, te.y, data.class_names)
    print(f"{model.name}: {model.count_params():,} parameters, {epochs_run} epochs in "
          f"{seconds:.0f} s; test accuracy {metrics['accuracy']:.3f}, "
          f"macro-F1 {metrics['macro_f1']:.3f}. Saved {args.out}")
    keras.backend.clear_session()
    return 0


def _load(path, parser):
    import keras

    import mmkeras  # noqa: F401  (registers the custom layers)

    if not os.path.isfile(path):
        parser.error(f"model file not found: {path!r}")
    meta_path = path[:-len(".keras")] + ".json" if path.endswith(".keras") else None
    meta = None
    if meta_path and os.path.isfile(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    return keras.models.load_model(path, safe_mode=True), meta


def _evaluate(args, parser):
    from mmkeras import datasets
    from mmkeras.evaluation import evaluate_classifier

    model, meta = _load(args.model, parser)
    name = args.dataset or (meta or {}).get("dataset")
    if name is None:
        parser.error("--dataset is needed (no metadata .json beside the model)")
    _choice_check(parser, "dataset", [name], datasets.DATASETS)
    data = datasets.load(name)
    split = data.splits[args.split].select([t.name for t in model.inputs])
    metrics = evaluate_classifier(model, split.x, split.y, data.class_names)
    print(f"{args.split} accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}\n")
    print(metrics["report"])
    return 0


def _predict(args, parser):
    import numpy as np

    model, meta = _load(args.model, parser)
    inputs = {t.name: t for t in model.inputs}
    given = {"image": args.image, "audio": args.audio, "text": args.text}
    missing = [m for m in inputs if given.get(m) is None]
    extra = [m for m, v in given.items() if v is not None and m not in inputs]
    if missing or extra:
        parser.error(f"the model takes {sorted(inputs)}; missing {missing}, not used {extra}")
    x = {}
    try:
        for modality, spec in inputs.items():
            x[modality] = _prepare(modality, given[modality], spec, meta)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    probabilities = np.asarray(model.predict(x, verbose=0))[0]
    names = (meta or {}).get("class_names") or [str(i) for i in range(len(probabilities))]
    order = np.argsort(probabilities)[::-1][:args.top]
    for i in order:
        print(f"{names[i]:<24} {probabilities[i]:.3f}")
    return 0


def _prepare(modality, value, spec, meta):
    import numpy as np

    from mmkeras.preprocessing import audio, image, text

    shape = tuple(spec.shape[1:])
    if modality == "image":
        color = "grayscale" if shape[-1] == 1 else "rgb"
        return image.read_image(value, size=shape[:2], color=color)[None]
    if modality == "text":
        vocabulary = (meta or {}).get("vocabulary")
        if not vocabulary:
            raise ValueError("text input needs the vocabulary in the model's .json metadata")
        tokens = text.tokenize(value)
        if not tokens:
            raise ValueError(f"the text has no words. Received: {value!r}")
        return text.Vocabulary(vocabulary).encode([tokens], shape[0])
    if modality == "audio":
        if value.endswith(".npy"):
            frames = np.load(value).astype("float32")
        else:
            wave, _ = audio.load_audio(value)
            frames = audio.normalize_utterance(np.asarray(audio.mfcc_tf(
                np.pad(wave, (0, max(audio.FRAME_LENGTH - len(wave), 0))))))
        if frames.ndim != 2 or frames.shape[-1] != shape[-1]:
            raise ValueError(f"audio features must be (frames, {shape[-1]}). "
                             f"Received: shape={frames.shape}")
        return frames[None]
    raise ValueError(f"no file reader for input {modality!r}")


def _info(args, parser):
    import keras

    import mmkeras
    from mmkeras import datasets, fusion
    from mmkeras.training import format_device_summary

    print(f"mmkeras {mmkeras.__version__}, keras {keras.__version__}")
    print("devices:", format_device_summary())
    print("datasets:", ", ".join(sorted(datasets.DATASETS)))
    print("fusions:", ", ".join(sorted(fusion.FUSIONS)))
    print("encoders:", ", ".join(n for n in mmkeras.encoders.__all__
                                   if n not in ("BACKBONES", "encoder_view")))
    return 0


def _demo(args, parser):
    from mmkeras import fusion
    from mmkeras.experiments import compare

    _choice_check(parser, "fusions", args.fusions, fusion.FUSIONS)
    print("av_digits (MNIST images with 75% of their energy removed + noisy FSDD spoken "
          "digits): unimodal baselines vs fusion, test accuracy.", flush=True)
    # `compare` with a few fusions, one seed and no robustness tests:
    # `python -m mmkeras compare` is the full main job.
    compare("av_digits", fusions=args.fusions, seeds=[args.seed], epochs=args.epochs,
            robustness=False, verbose=1)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m mmkeras", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="fusion comparison study (default: quick, av_digits)")
    p.add_argument("--dataset", default="av_digits")
    p.add_argument("--fusions", type=_csv, help="comma-separated; default all")
    p.add_argument("--seeds", type=_seeds, help="comma-separated, e.g. 0,1,2")
    p.add_argument("--epochs", type=int)
    p.add_argument("--preset", choices=["quick", "full"], default="quick")
    p.add_argument("--cv", type=int, help="k-fold cross-validation instead of the fixed split")
    p.add_argument("--no-robustness", action="store_true")
    p.add_argument("--out", help="output folder (default mmkeras-results/DATASET)")
    p.set_defaults(run=_compare)
    p = sub.add_parser("train", help="train one model and save it")
    p.add_argument("--dataset", default="av_digits")
    p.add_argument("--fusion", default="concat")
    p.add_argument("--modalities", type=_csv)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--modality-dropout", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--out", default="model.keras")
    p.set_defaults(run=_train)
    p = sub.add_parser("evaluate", help="score a saved model on an embedded dataset")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset")
    p.add_argument("--split", choices=["train", "validation", "test"], default="test")
    p.set_defaults(run=_evaluate)
    p = sub.add_parser("predict", help="classify new files with a saved model")
    p.add_argument("--model", required=True)
    p.add_argument("--image", help="image file")
    p.add_argument("--audio", help="audio file (.wav etc.) or .npy of feature frames")
    p.add_argument("--text", help="a text string")
    p.add_argument("--top", type=int, default=3)
    p.set_defaults(run=_predict)
    p = sub.add_parser("info", help="datasets, fusions, devices, versions")
    p.set_defaults(run=_info)
    p = sub.add_parser("demo", help="the quick demonstration (~2 min on CPU)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fusions", type=_csv, default=["early", "concat", "late"],
                   help="comma-separated (default early,concat,late)")
    p.set_defaults(run=_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1. Received: {args.epochs}")
    return args.run(args, parser)


if __name__ == "__main__":
    sys.exit(main())
