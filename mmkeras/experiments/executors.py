"""Where a study's runs train: in this process, in worker processes of this machine, or
as Ray tasks on a cluster.

An executor is a function `executor(function, shared, tasks)` that yields
`function(*shared, *task)` for each task, in the order of `tasks`; the study
records each result as it comes. Every executor runs the same
`training_run.run_one`. An executor may also offer `fan_in` (the Ray one
does), to train the trials of tuned runs side by side.
"""

import warnings

from mmkeras.experiments.workers import resolve_workers, run_in_workers, threads_per_worker
from mmkeras.utils import validation

EXECUTORS = ("local", "ray")


def study_executor(executor="local", workers=1, fusions=(), address=None, verbose=1):
    """The executor of a study, from `compare`'s arguments.

    Args:
        executor: `"local"` (this machine: this process, or `workers`
            processes), `"ray"` (Ray tasks on the cluster at `address`, see
            `RayExecutor`), or an executor function of your own.
        workers: With `"local"`: runs at once (`resolve_workers`).
        fusions: The study's fusion names (registered in each worker).
        address: With `"ray"`: the cluster (`None`: `RAY_ADDRESS`, else a new
            local cluster; `"auto"`; `"HOST:PORT"`).
        verbose: 2 also shows the Ray workers' own output.
    """
    if callable(executor):
        return executor
    validation.check_choice("executor", executor, EXECUTORS)
    if executor == "local":
        if address is not None:
            raise ValueError(f"`address` is for executor='ray'. Received: address={address!r} "
                             "with executor='local'")
        return local_executor(workers, fusions)
    if workers != 1:
        raise ValueError(f"`workers` is for executor='local'; with executor='ray' the cluster's "
                         f"CPUs and GPUs decide how many runs train at once. Received: "
                         f"workers={workers!r}")
    from mmkeras.experiments.ray_executor import RayExecutor

    return RayExecutor(address, fusions=fusions, log_to_driver=verbose > 1)


def in_process(function, shared, tasks):
    """Each run here, one after the other."""
    return (function(*shared, *task) for task in tasks)


def worker_processes(workers, fusions):
    """An executor training `workers` runs at once in spawned processes of this machine,
    each with its share of the cores (`mmkeras.experiments.workers`); the study's
    fusions, the caller's own among them, are registered in each worker."""
    from mmkeras.fusion import FUSIONS

    entries = {name: FUSIONS[name] for name in fusions}

    def execute(function, shared, tasks):
        if not tasks:
            return iter(())
        # Even one run goes to a worker with the same threads as the study's other runs:
        # in this process it would compute with all the cores and round differently.
        return run_in_workers(function, shared, tasks, max(1, min(workers, len(tasks))),
                              setup=(register_fusions, entries),
                              threads=threads_per_worker(workers))

    return execute


def register_fusions(entries):
    """Registers a study's fusions in a worker process (a fresh process knows only the
    built-in names)."""
    from mmkeras.fusion import register_fusion

    for name, (cls, defaults) in entries.items():
        register_fusion(name, cls, **defaults)


def local_executor(workers, fusions):
    """In this process for `workers=1`, else worker processes; a fusion class defined
    in the caller's script or notebook (`__main__`) cannot be sent to a worker, so such a
    study trains here, with a warning."""
    from mmkeras.fusion import FUSIONS

    workers = resolve_workers(workers)
    local = sorted(n for n in fusions if FUSIONS[n][0].__module__ == "__main__")
    if local and workers > 1:
        warnings.warn(f"Fusions defined in __main__ ({local}) cannot be sent to worker "
                      "processes; training in this process (workers=1). Define them in a "
                      "module you import to train them in workers.", stacklevel=3)
    return in_process if workers == 1 or local else worker_processes(workers, fusions)
