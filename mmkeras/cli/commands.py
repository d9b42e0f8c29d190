"""What each command does, given its parsed arguments: load, call the library, print.

Each command returns an exit status. A user's mistake raises `ValueError`
(or `OSError`) with a message naming the value; `mmkeras.cli.main` prints it
in one line. TensorFlow and the library load inside the commands, so that
`--help` and argument errors answer at once.
"""

import os

from mmkeras.utils import validation


def load_data(args):
    """The embedded dataset `--dataset`, or the user's table `--csv`."""
    from mmkeras import datasets

    if args.csv is None:
        return datasets.load(validation.check_choice("dataset", args.dataset, datasets.DATASETS))
    if not (args.image or args.text or args.audio):
        raise ValueError("--csv needs at least one of --image COLUMN, --text COLUMN, "
                         "--audio COLUMN")
    return datasets.from_dataframe(
        args.csv, label=args.label, image=args.image, text=args.text, audio=args.audio,
        split=args.split, image_size=args.image_size, missing=args.missing,
        on_error=args.on_error, seed=args.split_seed,
        name=os.path.splitext(os.path.basename(args.csv))[0])


def check_fusions(names):
    from mmkeras.fusion import FUSIONS

    return [validation.check_choice("fusion", name, FUSIONS) for name in names]


def compare(args):
    from mmkeras.experiments import check_output_dir, compare, markdown_table
    from mmkeras.training import format_device_summary

    if args.fusions:
        check_fusions(args.fusions)
    executor = check_executor(args)
    data = load_data(args)
    out = args.out = args.out or os.path.join("mmkeras-results", data.name)
    check_output_dir(out)
    print(f"Comparing fusions on {data!r} ({args.preset} preset) on "
          f"{format_device_summary()}; results in {out}/", flush=True)
    _, summary = compare(data, fusions=args.fusions, seeds=args.seeds, epochs=args.epochs,
                         preset=args.preset, out=out, cv_folds=args.cv,
                         robustness=not args.no_robustness, save_models=not args.no_models,
                         bucketing=not args.no_bucketing, tune=args.tune,
                         train_limit=args.train_limit, **executor)
    print()
    print(markdown_table(summary))
    kept = "" if args.no_models else f", the trained models in {out}/models/"
    print(f"\nWrote {out}/results.csv, results.md, figures (*.png){kept}.")
    return 0


def check_executor(args):
    """`compare`'s executor arguments from `--executor`, `--workers`, `--address`."""
    if args.executor == "local":
        if args.address is not None:
            raise ValueError(f"--address is for --executor ray. Received: --address "
                             f"{args.address!r} with --executor local")
        return {"workers": "auto" if args.workers is None else args.workers}
    if args.workers is not None:
        raise ValueError("--workers is for --executor local; with --executor ray the "
                         "cluster's CPUs and GPUs decide how many runs train at once. "
                         f"Received: --workers {args.workers}")
    from mmkeras.experiments.ray_executor import import_ray

    import_ray()  # the install hint now, before the data load
    return {"executor": "ray", "address": args.address}


def train(args):
    import keras

    from mmkeras.evaluation import evaluate_classifier
    from mmkeras.models import MultimodalClassifier
    from mmkeras.training import fit_model, seed_everything

    check_fusions([args.fusion])
    check_model_path(args.out)
    data = load_data(args)
    modalities = [validation.check_choice("modality", m, data.modalities)
                  for m in (args.modalities or data.modalities)]
    seed_everything(args.seed)
    model = MultimodalClassifier.from_dataset(data, args.fusion, modalities=modalities,
                                              dropout=0.2, modality_dropout=args.modality_dropout)
    data = data.select(modalities)
    train = data.train.take(args.train_limit, seed=args.seed) if args.train_limit else data.train
    _, seconds, epochs_run = fit_model(
        model, train, data.validation, epochs=args.epochs, patience=args.patience,
        verbose=args.verbose, bucketing=not args.no_bucketing, seed=args.seed)
    model.save(args.out)
    metrics = evaluate_classifier(model, data.test.x, data.test.y, data.class_names)
    carried = " (with its preprocessor)" if model.preprocessor is not None else ""
    print(f"{model.name}: {model.count_params():,} parameters, {epochs_run} epochs on "
          f"{len(train):,} samples in {seconds:.0f} s; test accuracy {metrics['accuracy']:.3f}, "
          f"macro-F1 {metrics['macro_f1']:.3f}. Saved {args.out}{carried}")
    keras.backend.clear_session()
    return 0


def check_model_path(path):
    """Raises before training when `path` is not a writable `.keras` file name."""
    if not path.endswith(".keras"):
        raise ValueError(f"--out must end in .keras. Received: {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"cannot write to {folder!r}")


def load_model(path, need_preprocessor=None):
    """The task saved in `path` (safe mode); names the file when it cannot be read."""
    import zipfile

    from mmkeras.models.predictor import load_task

    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"not a .keras model file (truncated or another format): {path!r}")
    try:
        model = load_task(path)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as err:
        # A damaged archive fails deep inside Keras with a message that names no file.
        detail = " ".join(str(err).split())[:300]
        raise ValueError(f"cannot read the model file {path!r} (damaged or not a mmkeras "
                         f"model): {type(err).__name__}: {detail}") from err
    if need_preprocessor and getattr(model, "preprocessor", None) is None:
        raise ValueError(f"{path!r} has no preprocessor to {need_preprocessor}; save a "
                         "mmkeras.models.MultimodalClassifier(model, dataset.preprocessor)")
    return model


def evaluate(args):
    import numpy as np

    from mmkeras import datasets
    from mmkeras.evaluation import evaluate_classifier

    model = load_model(args.model, "read a CSV with" if args.csv else None)
    if args.csv is not None:
        x, y, _ = model.preprocess(args.csv, columns={"label": args.label} if args.label
                                   else None)
        if y is None:
            raise ValueError(f"{args.csv!r} has no label column "
                             f"{args.label or model.preprocessor.columns['label']!r}; "
                             "name it with --label")
        where = f"{len(y)} rows of {args.csv}"
    else:
        name = args.dataset or getattr(model.preprocessor, "dataset", None)
        if name is None:
            raise ValueError("--dataset is needed (the model file does not say what it was "
                             "trained on)")
        split = datasets.load(validation.check_choice("dataset", name, datasets.DATASETS)
                              ).splits[args.split].select([t.name for t in model.inputs])
        x, y, where = split.x, split.y, f"the {args.split} split of {name}"
    metrics = evaluate_classifier(model, x, y, getattr(model, "class_names", None))
    print(f"accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f} on "
          f"{where}\n")
    print(metrics["report"])
    return 0 if np.isfinite(metrics["accuracy"]) else 1


def predict(args):
    model = load_model(args.model, "read new files with")
    if args.csv is not None:
        if args.image or args.text or args.audio:
            raise ValueError("give either --csv or --image/--text/--audio, not both")
        predictions = model.classify(args.csv)
    else:
        given = {m: v for m, v in (("image", args.image), ("audio", args.audio),
                                   ("text", args.text)) if v is not None}
        modalities = model.preprocessor.modalities
        if not given:
            raise ValueError(f"give the inputs: --csv FILE, or one of --image/--text/--audio "
                             f"(the model takes {modalities})")
        for modality in given:
            validation.check_choice("input", modality, modalities)
        predictions = model.classify({m: [v] for m, v in given.items()})
    print_predictions(predictions, args.top)
    if args.out:
        predictions.to_frame().to_csv(args.out, index=False)
        print(f"Wrote {args.out}")
    return 0


def print_predictions(predictions, top):
    absent = [m for m, flags in predictions.missing.items() if any(flags)]
    if absent:
        print("(missing inputs, predicted without them: "
              + ", ".join(f"{m} x{int(sum(predictions.missing[m]))}" for m in absent) + ")")
    several = len(predictions) > 1
    for item, best in zip(predictions.ids, predictions.top(top)):
        if several:
            print(item)
        for name, probability in best:
            print(f"{'  ' if several else ''}{name:<24} {probability:.3f}")


def info(args):
    import keras

    import mmkeras
    from mmkeras import datasets, fusion
    from mmkeras.training import format_device_summary

    print(f"mmkeras {mmkeras.__version__}, keras {keras.__version__}")
    print("devices:", format_device_summary())
    print("data:", datasets.data_dir())
    print("datasets:", ", ".join(sorted(datasets.DATASETS)))
    print("fusions:", ", ".join(sorted(fusion.FUSIONS)))
    print("encoders:", ", ".join(n for n in mmkeras.encoders.__all__
                                   if n not in ("BACKBONES", "encoder_view")))
    return 0


def demo(args):
    from mmkeras.experiments import compare

    check_fusions(args.fusions)
    print("av_digits (MNIST images with 75% of their energy removed + noisy FSDD spoken "
          "digits): unimodal baselines vs fusion, test accuracy.", flush=True)
    # `compare` with a few fusions, one seed and no robustness tests:
    # `python -m mmkeras compare` is the full main job.
    compare("av_digits", fusions=args.fusions, seeds=[args.seed], epochs=args.epochs,
            robustness=False, verbose=1)
    return 0


def check_table(path):
    """Names the file when `--csv` is missing or not a CSV table (pandas' errors do not)."""
    import pandas as pd

    if not os.path.isfile(path):
        raise FileNotFoundError(f"--csv file not found: {path!r}")
    try:
        pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as err:  # UnicodeDecodeError, ParserError, EmptyDataError
        detail = " ".join(str(err).split())[:300]
        raise ValueError(f"--csv {path!r} is not a readable CSV table: {type(err).__name__}: "
                         f"{detail}") from err
