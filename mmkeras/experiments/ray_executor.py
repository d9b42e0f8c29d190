"""Runs of a study as Ray tasks, on whatever cluster `ray.init(address=...)` reaches.

`RayExecutor` is an executor like those of `mmkeras.experiments.executors`:
`executor(function, shared, tasks)` yields `function(*shared, *task)` for
each task, in the order of `tasks`, and the study records each result as it
comes (the driver writes the result store; an interrupted study resumes as
with any executor). What it adds:

- Each run is a Ray task with its own resource request (`cpus_per_run`,
  `gpus_per_run`: one GPU per run on a cluster that has GPUs), so Ray places
  the runs on the cluster's nodes; the shared arguments (the dataset) and
  each distinct split go into Ray's object store once (`ray.put`), not
  pickled again for every run.
- A run lost with its worker process or its node is run again by Ray
  (`max_retries`); results are fetched as they finish and handed on in plan
  order.
- A run writes its files (history, confusion matrix, model) in a scratch
  folder of the node it trains on; they travel back with its result and the
  driver writes them into the study's folder, so the folder is the same as
  without Ray, with or without a file system shared by the nodes.
- A tuned study (`fan_in`): every trial of every model is a task of its own,
  and a model's final run starts when its trials are done, with their best
  values.

Ray is optional (`pip install "mmkeras[ray]"`) and imported only here.
"""

import contextlib
import dataclasses
import logging
import os
import shutil
import tempfile

from mmkeras.utils import validation

INSTALL = ('executor="ray" needs Ray: pip install "mmkeras[ray]" (or pip install ray), '
           "the same Ray version as the cluster you connect to")
# Runs lost with their worker or node and run again, at most (Ray's task retries).
MAX_RETRIES = 3
# The worker process's state between tasks.
_WORKER = {}


def import_ray():
    """The `ray` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(INSTALL) from err
    return ray


class RayExecutor:
    """Trains the runs of a study as Ray tasks.

    Args:
        address: The cluster: `None` for `RAY_ADDRESS` if set, else a new
            local cluster of this machine (stopped when the study ends);
            `"auto"` for the cluster `ray start` started on this machine;
            `"HOST:PORT"` for a cluster's head node; `"local"` for a new
            local cluster. A Ray already initialised in this process (your
            own `ray.init(...)`) is used as it is and left running.
        cpus_per_run: CPUs each run asks for (and the threads TensorFlow
            uses in it).
        gpus_per_run: GPUs each run asks for; `"auto"`: 1 when the cluster
            has GPUs, else 0.
        fusions: Names of the study's fusions; their classes (your own
            among them, even one defined in a notebook) are registered in
            every worker.
        max_retries: How many times a run lost with its worker process or
            node is run again.
        local_cpus: CPUs of a local cluster started here (default: Ray
            counts this machine's).
        log_to_driver: Print the workers' own output here (Keras' progress,
            warnings); off by default: the study prints a line per run.
        runtime_env: Ray's `runtime_env` for the workers, e.g.
            `{"py_modules": [mmkeras]}` to send this mmkeras to a cluster.

    Example:

    ```python
    results, summary = experiments.compare("av_digits", seeds=[0, 1, 2],
                                           executor=RayExecutor(address="auto"))
    ```
    """

    def __init__(self, address=None, *, cpus_per_run=1, gpus_per_run="auto", fusions=(),
                 max_retries=MAX_RETRIES, local_cpus=None, log_to_driver=False,
                 runtime_env=None):
        import_ray()  # before any data is loaded or model trained
        if address is not None and not isinstance(address, str):
            raise TypeError(f"`address` must be None, 'auto', 'local' or 'HOST:PORT'. "
                            f"Received: address={address!r}")
        self.address = address
        self.cpus_per_run = validation.check_positive_int("cpus_per_run", cpus_per_run)
        self.gpus_per_run = gpus_per_run if gpus_per_run == "auto" else \
            validation.check_non_negative_int("gpus_per_run", gpus_per_run)
        self.max_retries = validation.check_non_negative_int("max_retries", max_retries)
        self.local_cpus = validation.check_positive_int("local_cpus", local_cpus,
                                                        allow_none=True)
        self.fusions = list(fusions)
        self.log_to_driver, self.runtime_env = log_to_driver, runtime_env

    def __call__(self, function, shared, tasks):
        """Yields `function(*shared, *task)` for each task, in the order of `tasks`."""
        return self.fan_in(function, shared, tasks)

    def fan_in(self, function, shared, tasks, parts=None):
        """Like calling the executor, where task `i` first needs the results of
        `parts[i] = (part_function, part_tasks)`: each part task runs as a task of
        its own, side by side with all others, and task `i` then runs
        `function(*shared, *task, *part results)` as soon as its parts are done.
        """
        with self.connected() as ray:
            submit = _Submitter(ray, self, shared)
            refs = [submit.run(function, task, None if parts is None else parts[i])
                    for i, task in enumerate(tasks)]
            completed = False
            try:
                for task, (result, files) in zip(tasks, _in_order(ray, refs)):
                    _write_files(files, _study_out(task))
                    yield result
                completed = True
            finally:
                if not completed:  # interrupted, or a run failed: stop what is left
                    _cancel(ray, submit.submitted)

    @contextlib.contextmanager
    def connected(self):
        """Ray, initialised for the time of the block (if it was not already)."""
        ray = import_ray()
        started = not ray.is_initialized()
        if started:
            ray.init(**self.init_arguments())
        try:
            yield ray
        finally:
            if started:
                ray.shutdown()

    def init_arguments(self):
        """`ray.init`'s arguments for this executor's cluster."""
        address = self.address or os.environ.get("RAY_ADDRESS") or "local"
        arguments = dict(address=address, logging_level=logging.ERROR,
                         log_to_driver=self.log_to_driver)
        if address == "local":
            arguments.update(include_dashboard=False)
            if self.local_cpus:
                arguments.update(num_cpus=self.local_cpus)
        if self.runtime_env is not None:
            arguments.update(runtime_env=self.runtime_env)
        return arguments

    def resources(self, ray):
        """`(num_cpus, num_gpus)` each run asks for."""
        gpus = self.gpus_per_run
        if gpus == "auto":
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        return self.cpus_per_run, gpus


class _Submitter:
    """Submits tasks; each distinct argument that is not a plain number or string goes
    into the object store once, however many tasks take it."""

    def __init__(self, ray, executor, shared):
        from mmkeras.experiments.executors import register_fusions
        from mmkeras.fusion import FUSIONS

        self.ray, self.stored, self.submitted = ray, {}, []
        cpus, gpus = executor.resources(ray)
        # Declared with its resources (not through `.options`), so that Ray gives a task
        # holding a GPU a fresh worker process, with that GPU only, and ends it afterwards.
        self.remote = ray.remote(num_cpus=cpus, num_gpus=gpus,
                                 max_retries=executor.max_retries)(_call_in_worker)
        entries = {name: FUSIONS[name] for name in executor.fusions}
        self.shared = [self.ref(s) for s in ((register_fusions, entries), *shared)]

    def ref(self, value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if id(value) not in self.stored:
            self.stored[id(value)] = (self.ray.put(value), value)  # keeps `value` alive
        return self.stored[id(value)][0]

    def call(self, function, task, after=()):
        # Top-level ObjectRef arguments reach the task as their values: the shared
        # arguments, the task's own, and the results of the tasks it comes after.
        ref = self.remote.remote(function, (len(self.shared), len(task)), *self.shared,
                                 *[self.ref(a) for a in task], *after)
        self.submitted.append(ref)
        return ref

    def run(self, function, task, part=None):
        if part is None:
            return self.call(function, task)
        part_function, part_tasks = part
        return self.call(function, task, after=[self.call(part_function, t)
                                                 for t in part_tasks])


def _call_in_worker(function, layout, setup, *values):
    """In a worker: `(function(*shared, *task, *part results), files it wrote)`."""
    n_shared, n_task = layout
    _prepare_worker(setup)
    shared, task = values[:n_shared - 1], values[n_shared - 1:n_shared - 1 + n_task]
    after = [result for result, _ in values[n_shared - 1 + n_task:]]
    out = _study_out(task)
    if out is None:
        return function(*shared, *task, *after), {}
    scratch = tempfile.mkdtemp(prefix="mmkeras-ray-run-")
    try:
        task = [dataclasses.replace(a, out=scratch) if _is_settings(a) else a for a in task]
        return function(*shared, *task, *after), _read_files(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _prepare_worker(setup):
    """Once per worker process: quiet loggers, TensorFlow's threads to the CPUs the task
    holds; every task: the study's fusions registered."""
    if not _WORKER:
        from mmkeras.utils import tf_logging

        tf_logging.quiet_python_loggers()
        ray = import_ray()
        threads = max(1, int(ray.get_runtime_context().get_assigned_resources().get("CPU", 1)))
        if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
            import tensorflow as tf

            with contextlib.suppress(RuntimeError):  # already running: keep its threads
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
        _WORKER["threads"] = threads
    setup[0](*setup[1:])


def _is_settings(value):
    from mmkeras.experiments.study import StudySettings

    return isinstance(value, StudySettings)


def _study_out(task):
    """The output folder of a study task (its `StudySettings.out`), or `None`."""
    return next((a.out for a in task if _is_settings(a) and a.out is not None), None)


def _read_files(folder):
    """`{relative path: bytes}` of every file under `folder`."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files


def _write_files(files, out):
    """Writes a run's files, as its worker wrote them, into the study's folder."""
    for relative, content in files.items():
        path = os.path.join(out, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)


def _in_order(ray, refs):
    """Yields the values of `refs` in their order, fetching each as soon as it is done
    (a finished result is kept here, not on a node that may be lost); an error is
    raised when its turn comes."""
    index = {ref: i for i, ref in enumerate(refs)}
    waiting, done = list(refs), {}
    for i in range(len(refs)):
        while i not in done:
            ready, waiting = ray.wait(waiting, num_returns=1)
            for ref in ready:
                try:
                    done[index[ref]] = (True, ray.get(ref))
                except Exception as err:  # noqa: BLE001  (the run's own error, raised in turn)
                    done[index[ref]] = (False, err)
        ok, value = done.pop(i)
        if not ok:
            raise value
        yield value


def _cancel(ray, refs):
    """Stops the tasks not yet done (a finished one is left as it is)."""
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref, force=True)
