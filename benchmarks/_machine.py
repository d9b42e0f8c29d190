"""Machine details printed beside every benchmark result."""

import os
import platform
import statistics
import subprocess
import time


def machine_details():
    import keras
    import numpy as np
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return (f"{cpu}, {os.cpu_count()} cores, {'GPU: ' + str(len(gpus)) if gpus else 'no GPU'}; "
            f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__} ({keras.backend.backend()}), NumPy {np.__version__}")


def reference_seconds(repeats=3, size=6_000_000):
    """The median time of a fixed single-threaded Python workload (integer arithmetic and a
    dict), a measure of how fast this machine runs the interpreter right now.

    The suite's time is mostly Python (graph tracing, imports), and the same 2-core machine
    ran it in 13 to 22 minutes at different hours; timed before and after a benchmark, this
    says whether a difference between two reports is the code's or the machine's.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        counts = {}
        for i in range(size):
            counts[i % 97] = counts.get(i % 97, 0) + i * i
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def source_revision(root):
    """The checkout at `root`: its commit, and whether tracked files differed from it."""

    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (", with uncommitted changes" if changed else "")


def print_and_save(text, path=None):
    """Prints a benchmark's report and, when `path` is given, writes it there."""
    print(text)
    if path:
        with open(path, "w") as f:
            f.write(text)
