"""The command line's arguments: parsed and checked without loading TensorFlow.

Values are checked here with `mmkeras.utils.validation` (numbers, rates,
lists); names that need the registries (datasets, fusions) are checked by
the commands, also with `validation`. A bad value is one line on standard
error and exit status 2.
"""

import argparse

from mmkeras.utils import validation

DESCRIPTION = """\
Multimodal fusion in Keras: compare fusions, train, evaluate, predict, search.

  compare   train every fusion and the unimodal baselines, print and save the table
            (an embedded dataset, or your own files: --csv table.csv --image COL ...)
  train     one dataset + fusion -> a .keras model that carries its preprocessor
  evaluate  score a saved model on an embedded dataset's split or a labelled CSV
  predict   classify new files (one item, or a CSV of many) with a saved model
  info      datasets, fusions, encoders, devices and versions
  demo      the quick demonstration (unimodal vs early/concat/late)
  retrieve  search emoji pictures by a text query with a dual encoder
"""


class Parser(argparse.ArgumentParser):
    """Reports a bad argument in one line (`... error: what; see --help`), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _type(convert, check, wanted):
    """An argparse type: `convert` the text, then `check` the value (a validation
    function); either failing gives "must be <wanted>. Received: '<text>'"."""
    def parse(text):
        try:
            return check(convert(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}. Received: {text!r}") from None
    return parse


def _int_at_least(minimum, hint=""):
    return _type(int, lambda v: validation.check_int("value", v, minimum=minimum),
                 validation.int_range(minimum) + hint)


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)
folds = _int_at_least(2, " (leave --cv out for the fixed split)")
rate = _type(float, lambda v: validation.check_rate("value", v), "a number in [0, 1)")


def names(text):
    """A comma-separated list of names, at least one."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list such as a,b. Received: {text!r}")
    return values


def seeds(text):
    try:
        return [validation.check_non_negative_int("seed", int(v)) for v in names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be integers >= 0 like 0,1,2. Received: {text!r}") from None


def workers(text):
    return text if text == "auto" else _type(
        int, lambda v: validation.check_positive_int("workers", v),
        "'auto' or " + validation.int_range(1))(text)


def fractions_or_column(text):
    parts = text.split(",")
    if len(parts) == 1:
        return text
    try:
        return tuple(float(v) for v in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "takes a column name or train,validation,test fractions like 0.8,0.1,0.1. "
            f"Received: {text!r}") from None


def image_size(text):
    try:
        return validation.check_positive_ints("image size", [int(v) for v in
                                                             text.lower().split("x")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes HEIGHTxWIDTH like 64x64. Received: {text!r}") from None


def add_data_options(p):
    p.add_argument("--dataset", default="av_digits", help="embedded dataset (default av_digits)")
    files = p.add_argument_group("your own files (instead of --dataset)")
    files.add_argument("--csv", help="table with one row per sample")
    files.add_argument("--image", help="column of image paths")
    files.add_argument("--text", help="column of texts")
    files.add_argument("--audio", help="column of audio paths")
    files.add_argument("--label", default="label", help="column of labels (default label)")
    files.add_argument("--split", type=fractions_or_column, default=(0.8, 0.1, 0.1),
                       help="column of train/validation/test, or fractions (default 0.8,0.1,0.1)")
    files.add_argument("--split-seed", type=non_negative_int, default=0)
    files.add_argument("--image-size", type=image_size, help="HEIGHTxWIDTH (default: their own)")
    files.add_argument("--missing", choices=["keep", "raise", "skip"], default="keep",
                       help="an empty cell: a missing modality (keep), an error, or skip the row")
    files.add_argument("--on-error", choices=["raise", "skip"], default="raise",
                       help="a missing or corrupt file: an error, or skip the row (listed)")


def add_train_limit(p):
    p.add_argument("--train-limit", type=positive_int, metavar="N",
                   help="train on N samples of the training split, drawn at random (a quick "
                        "look); validation and test stay whole")


def _add_compare(sub):
    p = sub.add_parser("compare", help="fusion comparison study (default: quick, av_digits)")
    add_data_options(p)
    p.add_argument("--fusions", type=names, help="comma-separated; default all")
    p.add_argument("--seeds", type=seeds, help="comma-separated, e.g. 0,1,2")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--preset", choices=["quick", "full"], default="quick")
    p.add_argument("--cv", type=folds, help="k-fold cross-validation instead of the fixed split")
    add_train_limit(p)
    p.add_argument("--no-robustness", action="store_true")
    p.add_argument("--no-models", action="store_true", help="do not keep the trained models")
    p.add_argument("--no-bucketing", action="store_true",
                   help="pad every batch to the stored length (default: length-bucketed batches)")
    p.add_argument("--tune", type=positive_int, metavar="TRIALS",
                   help="give every fusion and baseline the same KerasTuner search of TRIALS "
                        "trials (learning rate, dropout, fusion width/heads), selected on "
                        "validation; the chosen values are in results.csv")
    p.add_argument("--workers", type=workers,
                   help="with --executor local: runs trained at once, each in its own process "
                        "(default auto: 2 on a CPU-only machine with 2 or more cores, else 1)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where the runs train: this machine (default), or Ray tasks on a "
                        "cluster (pip install \"mmkeras[ray]\"); same results and files")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="with --executor ray: the cluster (auto: the one `ray start` started "
                        "here; default: RAY_ADDRESS, else a new local cluster of this machine)")
    p.add_argument("--out", help="output folder (default mmkeras-results/DATASET)")


def _add_train(sub):
    p = sub.add_parser("train", help="train one model and save it with its preprocessor")
    add_data_options(p)
    p.add_argument("--fusion", default="concat")
    p.add_argument("--modalities", type=names)
    p.add_argument("--epochs", type=positive_int, default=10)
    add_train_limit(p)
    p.add_argument("--patience", type=non_negative_int, default=4)
    p.add_argument("--modality-dropout", type=rate, default=0.0)
    p.add_argument("--no-bucketing", action="store_true",
                   help="pad every batch to the stored length (default: length-bucketed batches)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--verbose", type=non_negative_int, default=0)
    p.add_argument("--out", default="model.keras")


def _add_model_commands(sub):
    p = sub.add_parser("evaluate", help="score a saved model on an embedded split or a CSV")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", help="embedded dataset (default: the model's own)")
    p.add_argument("--split", choices=["train", "validation", "test"], default="test")
    p.add_argument("--csv", help="a labelled table, read with the model's preprocessor")
    p.add_argument("--label", help="label column of --csv (default: the training table's)")
    p = sub.add_parser("predict", help="classify new files with a saved model")
    p.add_argument("--model", required=True)
    p.add_argument("--csv", help="a table of new items, read by the training table's columns")
    p.add_argument("--image", help="image file")
    p.add_argument("--audio", help="audio file (.wav etc.) or .npy of feature frames")
    p.add_argument("--text", help="a text string")
    p.add_argument("--top", type=positive_int, default=3)
    p.add_argument("--out", help="write the predictions to this CSV")


def _add_retrieve(sub):
    p = sub.add_parser("retrieve", help="search emoji pictures by a text query (dual encoder)")
    p.add_argument("--dataset", default="emoji", help="emoji (pictures searched by name)")
    p.add_argument("--query", required=True, help='a text, e.g. "red heart"')
    p.add_argument("--model", help="a saved dual encoder (default, from a checkout: "
                                   "results/retrieval/models/subwords_dual_encoder.keras), "
                                   "or --train")
    p.add_argument("--matcher", help="a saved matcher that re-ranks the top 20")
    p.add_argument("--split", choices=["train", "validation", "test", "all"], default="all",
                   help="which emoji form the gallery (default all; test: unseen in training)")
    p.add_argument("--top", type=positive_int, default=5)
    p.add_argument("--png", help="draw the top matches to this PNG file")
    p.add_argument("--train", action="store_true",
                   help="train a dual encoder first (~2 min on 2 CPU cores)")
    p.add_argument("--tokenizer", choices=["subwords", "regexp", "characters"],
                   default="subwords", help="with --train: subwords (the best in "
                   "results/retrieval/text_study.md), words or characters")
    p.add_argument("--epochs", type=positive_int, default=100,
                   help="with --train: the most epochs (it stops when validation retrieval "
                        "stops improving)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="with --train")
    p.add_argument("--out", default="dual_encoder.keras", help="with --train: where to save")


def build_parser():
    parser = Parser(prog="python -m mmkeras", description=DESCRIPTION,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (anywhere on the line)")
    parser.add_argument("--tf-logs", action="store_true",
                        help="show TensorFlow's own log lines (hidden by default; or set "
                             "TF_CPP_MIN_LOG_LEVEL=0)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_compare(sub)
    _add_train(sub)
    _add_model_commands(sub)
    sub.add_parser("info", help="datasets, fusions, devices, versions")
    p = sub.add_parser("demo", help="the quick demonstration (~2 min on CPU)")
    p.add_argument("--epochs", type=positive_int, default=8)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--fusions", type=names, default=["early", "concat", "late"],
                   help="comma-separated (default early,concat,late)")
    _add_retrieve(sub)
    return parser
