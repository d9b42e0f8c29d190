"""Command line: `python -m mmkeras {compare,train,evaluate,predict,info,demo,retrieve}`.

  compare   train every fusion and the unimodal baselines, print and save the table
            (an embedded dataset, or your own files: --csv table.csv --image COL ...)
  train     one dataset + fusion -> a .keras model saved with its preprocessor
  evaluate  score a saved model on an embedded dataset's split or a labelled CSV
  predict   classify new files (one item, or a CSV of many) with a saved model
  info      datasets, fusions, encoders, devices and versions
  demo      the quick demonstration (unimodal vs early/concat/late)
  retrieve  search emoji pictures by a text query with a dual encoder (matching, retrieval)
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _Parser(argparse.ArgumentParser):
    """Reports a bad argument in one line (`... error: what; see --help`), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _csv(value):
    values = [v.strip() for v in value.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list such as a,b. Received: {value!r}")
    return values


def _seeds(value):
    try:
        seeds = [int(v) for v in _csv(value)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers like 0,1,2. Received: {value!r}")
    if any(seed < 0 for seed in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0. Received: {value!r}")
    return seeds


def _int_at_least(minimum, meaning):
    def parse(value):
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum:
            raise argparse.ArgumentTypeError(f"must be {meaning}. Received: {value!r}")
        return number
    return parse


_positive_int = _int_at_least(1, "a whole number >= 1")
_non_negative_int = _int_at_least(0, "a whole number >= 0")
_folds = _int_at_least(2, "a number of folds >= 2 (leave --cv out for the fixed split)")


def _workers(value):
    if value == "auto":
        return value
    try:
        return _positive_int(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be 'auto' or a whole number >= 1. Received: {value!r}") from None


def _rate(value):
    try:
        rate = float(value)
    except ValueError:
        rate = None
    if rate is None or not 0 <= rate < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1). Received: {value!r}")
    return rate


def _choice_check(parser, name, values, allowed):
    bad = [v for v in values if v not in allowed]
    if bad:
        parser.error(f"unknown {name} {bad}; valid: {', '.join(sorted(allowed))}")


def _load_data(args, parser):
    """The embedded dataset `--dataset`, or the user's table `--csv`."""
    from mmkeras import datasets

    if args.csv is None:
        _choice_check(parser, "dataset", [args.dataset], datasets.DATASETS)
        return datasets.load(args.dataset)
    if not (args.image or args.text or args.audio):
        parser.error("--csv needs at least one of --image COLUMN, --text COLUMN, --audio COLUMN")
    return datasets.from_dataframe(
        args.csv, label=args.label, image=args.image, text=args.text, audio=args.audio,
        split=args.split, image_size=args.image_size, missing=args.missing,
        on_error=args.on_error, seed=args.split_seed,
        name=os.path.splitext(os.path.basename(args.csv))[0])


def _compare(args, parser):
    from mmkeras import fusion
    from mmkeras.experiments import check_output_dir, compare, markdown_table
    from mmkeras.training import format_device_summary

    if args.fusions:
        _choice_check(parser, "fusions", args.fusions, fusion.FUSIONS)
    data = _load_data(args, parser)
    out = args.out or os.path.join("mmkeras-results", data.name)
    try:
        check_output_dir(out)
    except PermissionError as err:
        parser.error(str(err))
    print(f"Comparing fusions on {data!r} ({args.preset} preset) on "
          f"{format_device_summary()}; results in {out}/", flush=True)
    _, summary = compare(data, fusions=args.fusions, seeds=args.seeds, epochs=args.epochs,
                         preset=args.preset, out=out, cv_folds=args.cv,
                         robustness=not args.no_robustness, save_models=not args.no_models,
                         bucketing=not args.no_bucketing, tune=args.tune, workers=args.workers)
    print()
    print(markdown_table(summary))
    kept = "" if args.no_models else f", the trained models in {out}/models/"
    print(f"\nWrote {out}/results.csv, results.md, figures (*.png){kept}.")
    return 0


def _train(args, parser):
    import keras

    from mmkeras import Predictor, build_model, fusion
    from mmkeras.evaluation import evaluate_classifier
    from mmkeras.experiments import standard_encoders
    from mmkeras.training import fit_model, seed_everything

    _choice_check(parser, "fusion", [args.fusion], fusion.FUSIONS)
    if not args.out.endswith(".keras"):
        parser.error(f"--out must end in .keras. Received: {args.out!r}")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.access(folder, os.W_OK):
        parser.error(f"cannot write to {folder!r}")
    data = _load_data(args, parser)
    modalities = args.modalities or data.modalities
    _choice_check(parser, "modalities", modalities, data.modalities)
    data = data.select(modalities)
    seed_everything(args.seed)
    model = build_model(standard_encoders(data), fusion=args.fusion,
                        num_classes=data.num_classes, dropout=0.2,
                        modality_dropout=args.modality_dropout)
    _, seconds, epochs_run = fit_model(
        model, (data.train.x, data.train.y), (data.validation.x, data.validation.y),
        epochs=args.epochs, patience=args.patience, verbose=args.verbose,
        bucketing=not args.no_bucketing, seed=args.seed)
    if data.preprocessor is not None:
        Predictor(model, data).save(args.out)
    else:
        model.save(args.out)
    metrics = evaluate_classifier(model, data.test.x, data.test.y, data.class_names)
    print(f"{model.name}: {model.count_params():,} parameters, {epochs_run} epochs in "
          f"{seconds:.0f} s; test accuracy {metrics['accuracy']:.3f}, "
          f"macro-F1 {metrics['macro_f1']:.3f}. Saved {args.out} (with its preprocessor)")
    keras.backend.clear_session()
    return 0


def _load(path, parser):
    """`(model, Predictor or None)` from a .keras file, in safe mode."""
    import zipfile

    import keras

    from mmkeras import Predictor
    from mmkeras.predictor import read_preprocessor

    if not os.path.isfile(path):
        parser.error(f"model file not found: {path!r}")
    if not zipfile.is_zipfile(path):
        parser.error(f"not a .keras model file (truncated or another format): {path!r}")
    try:
        preprocessor = read_preprocessor(path)
        model = keras.models.load_model(path, safe_mode=True)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as err:
        # A damaged archive fails deep inside Keras with a message that names no file.
        detail = " ".join(str(err).split())[:300]
        parser.error(f"cannot read the model file {path!r} (damaged or not a mmkeras model): "
                     f"{type(err).__name__}: {detail}")
    return model, (None if preprocessor is None else Predictor(model, preprocessor))


def _evaluate(args, parser):
    import numpy as np

    from mmkeras import datasets
    from mmkeras.evaluation import evaluate_classifier

    model, predictor = _load(args.model, parser)
    if args.csv is not None:
        if predictor is None:
            parser.error(f"{args.model!r} has no preprocessor to read a CSV with; save it with "
                         "mmkeras.Predictor(model, dataset).save(path)")
        return _evaluate_table(args, parser, predictor)
    name = args.dataset or (predictor.preprocessor.dataset if predictor else None)
    if name is None:
        parser.error("--dataset is needed (the model file does not say what it was trained on)")
    _choice_check(parser, "dataset", [name], datasets.DATASETS)
    data = datasets.load(name)
    split = data.splits[args.split].select([t.name for t in model.inputs])
    metrics = evaluate_classifier(model, split.x, split.y, data.class_names)
    print(f"{args.split} accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}\n")
    print(metrics["report"])
    return 0 if np.isfinite(metrics["accuracy"]) else 1


def _evaluate_table(args, parser, predictor):
    """Accuracy of a saved model on a labelled CSV, read with the model's preprocessor."""
    import pandas as pd
    from sklearn.metrics import accuracy_score, classification_report

    table = pd.read_csv(args.csv, keep_default_na=False, dtype=str)
    if args.label not in table.columns:
        parser.error(f"--label {args.label!r} is not a column of {args.csv!r}; "
                     f"columns: {list(table.columns)}")
    unknown = sorted(set(table[args.label]) - set(predictor.class_names))
    if unknown:
        parser.error(f"labels the model does not know: {unknown}; "
                     f"its classes: {predictor.class_names}")
    predictions = predictor.predict(args.csv)
    truth = table[args.label].tolist()
    print(f"accuracy {accuracy_score(truth, predictions.labels):.3f} on {len(truth)} rows "
          f"of {args.csv}\n")
    print(classification_report(truth, predictions.labels, labels=predictor.class_names,
                                zero_division=0))
    return 0


def _predict(args, parser):
    model, predictor = _load(args.model, parser)
    if predictor is None:
        parser.error(f"{args.model!r} was saved without its preprocessor; save models with "
                     "mmkeras.Predictor(model, dataset).save(path) (compare and train do)")
    try:
        predictions = _predictions(args, parser, predictor)
    except (OSError, ValueError) as err:
        parser.error(str(err))
    _print_predictions(predictions, args.top)
    if args.out:
        predictions.to_frame().to_csv(args.out, index=False)
        print(f"Wrote {args.out}")
    return 0


def _predictions(args, parser, predictor):
    if args.csv is not None:
        if args.image or args.text or args.audio:
            parser.error("give either --csv or --image/--text/--audio, not both")
        predictions = predictor.predict(args.csv)
    else:
        given = {"image": args.image, "audio": args.audio, "text": args.text}
        extra = [m for m, v in given.items() if v is not None and m not in
                 predictor.preprocessor.modalities]
        if extra:
            parser.error(f"the model takes {predictor.preprocessor.modalities}; not used: {extra}")
        if all(v is None for v in given.values()):
            parser.error(f"give the inputs: --csv FILE, or one of --image/--text/--audio "
                         f"(the model takes {predictor.preprocessor.modalities})")
        predictions = predictor.predict({m: [given.get(m)] for m in
                                         predictor.preprocessor.modalities})
    return predictions


def _print_predictions(predictions, top):
    absent = [m for m, flags in predictions.missing.items() if any(flags)]
    if absent:
        print("(missing inputs, predicted without them: "
              + ", ".join(f"{m} x{int(sum(predictions.missing[m]))}" for m in absent) + ")")
    for item, best in zip(predictions.ids, predictions.top(top)):
        if len(predictions) > 1:
            print(item)
        for name, probability in best:
            print(f"  {name:<24} {probability:.3f}" if len(predictions) > 1 else
                  f"{name:<24} {probability:.3f}")


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


def _retrieve(args, parser):
    """Text -> pictures: embed the emoji gallery once, print (and draw) the top matches."""
    import numpy as np

    from mmkeras.datasets import PAIRS, load_pairs
    from mmkeras.experiments import retrieval as study
    from mmkeras.tasks import Retriever

    if args.dataset != "emoji":
        parser.error(f"retrieve searches pictures by their name: --dataset emoji. Received: "
                     f"{args.dataset!r} (pairs known: {sorted(PAIRS)}; see mmkeras.tasks for "
                     "searching the others from Python)")
    path = args.model or (_STUDY_MODEL if os.path.isfile(_STUDY_MODEL) else None)
    if path is None and not args.train:
        parser.error(f"no model: give --model PATH (a dual encoder saved by "
                     f"scripts/retrieval_study.py, e.g. {_STUDY_MODEL}), or --train to train "
                     "one now (~1 min on 2 CPU cores) and save it to --out")
    if args.train:
        data = load_pairs("emoji", tokenizer=args.tokenizer)
        print(f"Training a dual encoder on the emoji names and pictures ({args.epochs} epochs)...",
              flush=True)
        model, seconds = study.train_dual_encoder(data, args.seed, epochs=args.epochs)
        study.save_with_preprocessor(model, args.out, data.preprocessor)
        print(f"Saved {args.out} ({seconds:.0f} s)")
        preprocessor = data.preprocessor
    else:
        model, preprocessor = study.load_with_preprocessor(path)
        if preprocessor is None or "text" not in preprocessor.inputs:
            parser.error(f"{path!r} has no text preprocessor; save dual encoders with "
                         "mmkeras.experiments.retrieval.save_with_preprocessor")
        data = load_pairs("emoji", tokenizer=preprocessor.inputs["text"].get("tokenizer", "regexp"))
    splits = list(data.splits) if args.split == "all" else [args.split]
    images = np.concatenate([data.splits[s].x["image"] for s in splits])
    ids = [f"{data.class_names[g].lower()} ({str(i).split('/')[-1]})"
           for s in splits for g, i in zip(data.splits[s].y, data.splits[s].ids)]
    retriever = Retriever(model, {"image": images}, ids=ids)
    query, _ = preprocessor.select(["text"])({"text": [args.query]})
    matcher = None
    if args.matcher:
        matcher, _ = study.load_with_preprocessor(args.matcher)
    found = retriever.search(query, k=args.top, rerank=matcher)
    kind = "p(match)" if matcher is not None else "cosine"
    print(f"Top {args.top} of {len(retriever)} pictures ({', '.join(splits)}) for "
          f"{args.query!r} ({kind}):")
    for rank, (item, score) in enumerate(zip(found.ids[0], found.scores[0]), 1):
        print(f"  {rank:>2}. {score:6.3f}  {item}")
    if args.png:
        study.plot_top_matches([args.query], images, found.rows,
                               [[f"{s:.2f}" for s in found.scores[0]]], path=args.png)
        print(f"Wrote {args.png}")
    return 0


_STUDY_MODEL = os.path.join("results", "retrieval", "models", "dual_encoder.keras")

def _fractions_or_column(value):
    parts = value.split(",")
    if len(parts) == 1:
        return value
    try:
        return tuple(float(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--split takes a column name or train,validation,test fractions like 0.8,0.1,0.1. "
            f"Received: {value!r}") from None


def _size(value):
    try:
        height, width = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--image-size takes HEIGHTxWIDTH like 64x64. "
                                         f"Received: {value!r}") from None
    return height, width


def _add_data_options(p):
    p.add_argument("--dataset", default="av_digits", help="embedded dataset (default av_digits)")
    files = p.add_argument_group("your own files (instead of --dataset)")
    files.add_argument("--csv", help="table with one row per sample")
    files.add_argument("--image", help="column of image paths")
    files.add_argument("--text", help="column of texts")
    files.add_argument("--audio", help="column of audio paths")
    files.add_argument("--label", default="label", help="column of labels (default label)")
    files.add_argument("--split", type=_fractions_or_column, default=(0.8, 0.1, 0.1),
                       help="column of train/validation/test, or fractions (default 0.8,0.1,0.1)")
    files.add_argument("--split-seed", type=_non_negative_int, default=0)
    files.add_argument("--image-size", type=_size, help="HEIGHTxWIDTH (default: the images' own)")
    files.add_argument("--missing", choices=["keep", "raise", "skip"], default="keep",
                       help="an empty cell: a missing modality (keep), an error, or skip the row")
    files.add_argument("--on-error", choices=["raise", "skip"], default="raise",
                       help="a missing or corrupt file: an error, or skip the row (listed)")


def build_parser():
    parser = _Parser(prog="python -m mmkeras", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (anywhere on the line)")
    parser.add_argument("--tf-logs", action="store_true",
                        help="show TensorFlow's own log lines (hidden by default; or set "
                             "TF_CPP_MIN_LOG_LEVEL=0)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("compare", help="fusion comparison study (default: quick, av_digits)")
    _add_data_options(p)
    p.add_argument("--fusions", type=_csv, help="comma-separated; default all")
    p.add_argument("--seeds", type=_seeds, help="comma-separated, e.g. 0,1,2")
    p.add_argument("--epochs", type=int)
    p.add_argument("--preset", choices=["quick", "full"], default="quick")
    p.add_argument("--cv", type=_folds, help="k-fold cross-validation instead of the fixed split")
    p.add_argument("--no-robustness", action="store_true")
    p.add_argument("--no-models", action="store_true", help="do not keep the trained models")
    p.add_argument("--no-bucketing", action="store_true",
                   help="pad every batch to the stored length (default: length-bucketed batches)")
    p.add_argument("--tune", type=int, metavar="TRIALS",
                   help="give every fusion and baseline the same KerasTuner search of TRIALS "
                        "trials (learning rate, dropout, fusion width/heads), selected on "
                        "validation; the chosen values are in results.csv")
    p.add_argument("--workers", type=_workers, default="auto",
                   help="runs trained at once, each in its own process (default auto: 2 on a "
                        "CPU-only machine with 2 or more cores, else 1)")
    p.add_argument("--out", help="output folder (default mmkeras-results/DATASET)")
    p.set_defaults(run=_compare)
    p = sub.add_parser("train", help="train one model and save it with its preprocessor")
    _add_data_options(p)
    p.add_argument("--fusion", default="concat")
    p.add_argument("--modalities", type=_csv)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--patience", type=_non_negative_int, default=4)
    p.add_argument("--modality-dropout", type=_rate, default=0.0)
    p.add_argument("--no-bucketing", action="store_true",
                   help="pad every batch to the stored length (default: length-bucketed batches)")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--out", default="model.keras")
    p.set_defaults(run=_train)
    p = sub.add_parser("evaluate", help="score a saved model on an embedded split or a CSV")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", help="embedded dataset (default: the model's own)")
    p.add_argument("--split", choices=["train", "validation", "test"], default="test")
    p.add_argument("--csv", help="a labelled table instead, read with the model's preprocessor")
    p.add_argument("--label", default="label", help="label column of --csv")
    p.set_defaults(run=_evaluate)
    p = sub.add_parser("predict", help="classify new files with a saved model")
    p.add_argument("--model", required=True)
    p.add_argument("--csv", help="a table with one column per model input (image, text, ...)")
    p.add_argument("--image", help="image file")
    p.add_argument("--audio", help="audio file (.wav etc.) or .npy of feature frames")
    p.add_argument("--text", help="a text string")
    p.add_argument("--top", type=_positive_int, default=3)
    p.add_argument("--out", help="write the predictions to this CSV")
    p.set_defaults(run=_predict)
    p = sub.add_parser("info", help="datasets, fusions, devices, versions")
    p.set_defaults(run=_info)
    p = sub.add_parser("demo", help="the quick demonstration (~2 min on CPU)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--fusions", type=_csv, default=["early", "concat", "late"],
                   help="comma-separated (default early,concat,late)")
    p.set_defaults(run=_demo)
    p = sub.add_parser("retrieve", help="search emoji pictures by a text query (dual encoder)")
    p.add_argument("--dataset", default="emoji", help="emoji (pictures searched by name)")
    p.add_argument("--query", required=True, help='a text, e.g. "red heart"')
    p.add_argument("--model", help=f"a saved dual encoder (default {_STUDY_MODEL} if present)")
    p.add_argument("--matcher", help="a saved matcher that re-ranks the top 20")
    p.add_argument("--split", choices=["train", "validation", "test", "all"], default="all",
                   help="which emoji form the gallery (default all; test: unseen in training)")
    p.add_argument("--top", type=_positive_int, default=5)
    p.add_argument("--png", help="draw the top matches to this PNG file")
    p.add_argument("--train", action="store_true", help="train a dual encoder first (~1 min)")
    p.add_argument("--tokenizer", choices=["regexp", "characters"], default="regexp",
                   help="with --train: words or characters")
    p.add_argument("--epochs", type=int, default=12, help="with --train")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="with --train")
    p.add_argument("--out", default="dual_encoder.keras", help="with --train: where to save")
    p.set_defaults(run=_retrieve)
    return parser


def _check_table(path, parser):
    """Names the file when `--csv` is missing or not a CSV table (pandas' errors do not)."""
    import pandas as pd

    if not os.path.isfile(path):
        parser.error(f"--csv file not found: {path!r}")
    try:
        pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as err:  # UnicodeDecodeError, ParserError, EmptyDataError
        detail = " ".join(str(err).split())[:300]
        parser.error(f"--csv {path!r} is not a readable CSV table: {type(err).__name__}: {detail}")


def _user_errors():
    """What a user's mistake raises (a bad value, a missing or corrupt file): one line, no
    traceback. Anything else is a bug and keeps its traceback."""
    import zipfile

    return (ValueError, TypeError, OSError, ImportError, zipfile.BadZipFile)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a not in ("--debug", "--tf-logs")]
    from mmkeras import tf_logging  # TensorFlow's lines were hidden on import unless asked for

    tf_logging.quiet_python_loggers()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        parser.error(f"--epochs must be >= 1. Received: {args.epochs}")
    if getattr(args, "csv", None) is not None:
        _check_table(args.csv, parser)
    try:
        return args.run(args, parser)
    except _user_errors() as err:
        if debug:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        if len(message) > 4000:  # a deep Keras message; --debug shows all of it
            message = message[:4000] + " ..."
        print(f"{parser.prog}: error: {message} (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
