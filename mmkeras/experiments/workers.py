"""Runs of a study trained side by side in worker processes.

The models of a comparison are small: one of them leaves most of a
multi-core CPU idle (Python overhead between steps, graph tracing at the
first epoch). Training `workers` of them at once in separate processes, each
given its share of the cores, keeps the cores busy. Each run is seeded on its
own (`seed_everything(seed)` in the run), so a run's numbers do not depend on
which worker trains it or what trains beside it; they can differ from a
sequential run in the last float digits, since a worker computes with fewer
threads.

A worker ends with the process that started it, however that one ends: a
study killed by SIGKILL (an out-of-memory kill, a scheduler's pre-emption)
leaves no worker behind (`exit_with_parent`).
"""

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

# prctl(2): deliver a signal to this process when its parent dies.
PR_SET_PDEATHSIG = 1

# The state a worker process keeps between runs: (run function, shared arguments).
_WORKER = {}


def resolve_workers(workers):
    """The number of worker processes: an int ≥ 1, or `"auto"`.

    `"auto"`: 2 on a CPU-only machine with at least 2 cores, else 1 (one
    process per GPU is what Keras expects; more would compete for its memory).
    """
    if workers == "auto":
        from mmkeras.training import has_gpu

        return 2 if (os.cpu_count() or 1) >= 2 and not has_gpu() else 1
    from mmkeras.utils.validation import check_positive_int

    return check_positive_int("workers", workers)


def threads_per_worker(workers):
    """The threads each of `workers` processes computes with: its share of the cores."""
    return max(1, (os.cpu_count() or 1) // workers)


def run_in_workers(function, shared, tasks, workers, setup=None, threads=None):
    """Yields `function(*shared, *task)` for each task, in the order of `tasks`.

    Args:
        function: A module-level function of an importable module (it is
            pickled by name).
        shared: Arguments every run shares (e.g. the dataset), sent to each
            worker once.
        tasks: A list of argument tuples, one per run.
        workers: Worker processes.
        setup: `(function, *args)` each worker calls once before its first
            run (e.g. registering the caller's own fusions).
        threads: Threads per worker (default `threads_per_worker(workers)`).
            A study passes the share of its configured worker count, so that
            a run computes with the same threads however many runs are left
            (a run re-run alone gives the numbers of the run it replaces).
    """
    threads = threads or threads_per_worker(workers)
    # spawn: a fresh interpreter, never a fork of a process TensorFlow already runs threads in.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(os.getpid(), function, shared, threads, setup)) as pool:
        with _caller_script_not_rerun():
            futures = [pool.submit(_run, task) for task in tasks]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


@contextlib.contextmanager
def _caller_script_not_rerun():
    """Workers started inside this block do not run the caller's `__main__`.

    A spawned process normally runs the parent's main script (as
    `__mp_main__`) to find what it unpickles. The workers need nothing from
    it — they run mmkeras functions — and a script that calls `compare` at
    its top level, without `if __name__ == "__main__":`, would call it again
    in every worker, which then cannot start and never reports back.
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__")
             if main is not None and k in main.__dict__}
    if "__file__" in saved:
        del main.__file__
    if saved.get("__spec__") is not None:
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


def exit_with_parent(parent_pid, method="auto", interval=0.5):
    """Makes this process end as soon as the process `parent_pid` (its parent) dies.

    A SIGKILL runs no clean-up in the killed process, so the parent cannot
    stop its workers; each worker has to notice on its own. `"prctl"` asks
    the Linux kernel to send this process SIGKILL when its parent dies
    (`PR_SET_PDEATHSIG`, no thread, no delay; the "parent" is the thread that
    started this process, and the pool's workers are started by the thread
    that calls `run_in_workers`, which outlives them); `"watchdog"` polls
    `os.getppid()` from a daemon thread every `interval` seconds (an
    orphan's parent becomes another process; Linux and macOS). `"auto"`:
    prctl on Linux, else the watchdog.
    """
    from mmkeras.utils.validation import check_choice

    check_choice("method", method, ("auto", "prctl", "watchdog"))
    if method == "auto":
        method = "prctl" if sys.platform.startswith("linux") else "watchdog"
    if method == "prctl":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            method = "watchdog"  # refused (e.g. a sandbox): fall back to polling
    if method == "watchdog":
        threading.Thread(target=_watch_parent, args=(parent_pid, interval), daemon=True,
                         name="mmkeras-parent-watchdog").start()
    if os.getppid() != parent_pid:  # the parent died before we asked
        os._exit(1)


def _watch_parent(parent_pid, interval):
    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(1)


def _start_worker(parent_pid, function, shared, threads, setup):
    exit_with_parent(parent_pid)
    from mmkeras.utils import tf_logging

    tf_logging.quiet_python_loggers()
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if setup is not None:
        setup[0](*setup[1:])
    _WORKER.update(function=function, shared=shared)


def _run(task):
    return _WORKER["function"](*_WORKER["shared"], *task)
