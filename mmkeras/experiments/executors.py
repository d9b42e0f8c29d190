"""Where a study's runs train: in this process, or in worker processes of this machine.

An executor is a function `executor(function, shared, tasks)` that yields
`function(*shared, *task)` for each task, in the order of `tasks`; the study
records each result as it comes. Every executor runs the same
`training_run.run_one`.
"""

import warnings

from mmkeras.experiments.workers import resolve_workers, run_in_workers, threads_per_worker


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
