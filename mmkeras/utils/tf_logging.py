"""TensorFlow's start-up log lines, kept out of the user's terminal and notebooks.

Importing TensorFlow prints C++ log lines ("oneDNN custom operations are on",
"Could not find cuda drivers", "cpu_feature_guard ...") on standard error,
before Python code can configure logging; `TF_CPP_MIN_LOG_LEVEL=3` does not
stop all of them. `import mmkeras` therefore imports TensorFlow with the
process' standard error pointed at /dev/null for those seconds, and gives it
back at once — an import error is still raised and shown. It also sets TensorFlow's Python
logger to ERROR: its warnings ("... triggered tf.function retracing", seen when a notebook
builds and predicts with many small models) say nothing a reader can act on.

Set `TF_CPP_MIN_LOG_LEVEL` to 0, 1 or 2 yourself (or `MMKERAS_TF_LOGS=1`, or
`python -m mmkeras --tf-logs ...`) to see the lines again.
"""

import contextlib
import os
import sys


def wanted():
    """Whether the user asked to see TensorFlow's log lines."""
    if os.environ.get("MMKERAS_TF_LOGS") == "1" or "--tf-logs" in sys.argv[1:]:
        return True
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3") not in ("3",)


@contextlib.contextmanager
def silenced_stderr():
    """Points file descriptor 2 at /dev/null inside the block (C++ writes there too)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_python_loggers():
    """TensorFlow's Python warnings (e.g. "triggered tf.function retracing") at ERROR only."""
    import logging

    if not wanted():
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


def import_tensorflow_quietly():
    """Imports TensorFlow (if Keras will use it) without its start-up log lines."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow" or "tensorflow" in sys.modules or wanted():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with silenced_stderr():
            import tensorflow as tf

            # Looking for GPUs logs "failed call to cuInit" on machines without one.
            tf.config.list_physical_devices("GPU")
    except ImportError:
        return  # Keras will report it, on a visible stderr
