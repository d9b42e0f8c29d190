# %% [markdown]
# # 13. Scaling a study out with Ray
#
# **Goal:** run a fusion comparison on a Ray cluster instead of this machine's worker
# processes — here a local cluster of 2 CPUs, on a real cluster the same call with an
# `address` — and check that nothing else changes: the same per-run progress lines, the same
# results, the same files. Then tune on Ray, where every tuning trial is a task of its own,
# and read the commands that start a cluster of several machines.
#
# **Prerequisites:** notebook 5 (`compare`, its result store and `workers=2`); Python
# processes. Needs Ray: `pip install "mmkeras[ray]"`.
#
# **Time:** about 3 min 40 s (217 s) at full size on a 2-core CPU with nothing else running,
# no GPU (`av_digits`, 1,200 training samples, 3 epochs per model); `MMKERAS_SMOKE=1` (one
# seed, one fusion and no baselines, one tuning trial) 97 s (each study starts Ray's
# workers, which import TensorFlow).

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local cluster: no token needed
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 3
TRAIN_LIMIT = 300 if SMOKE else 1200
SEEDS = [0] if SMOKE else [0, 1]
TUNE = 1 if SMOKE else 2

# %%
import json
import logging
import pathlib
import tempfile
import time

import pandas as pd
import ray

from mmkeras import datasets, experiments
from mmkeras.experiments.ray_executor import RayExecutor

# compare() builds a fresh model per run; TensorFlow warns about the retracing.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

data = datasets.load("av_digits")
folder = pathlib.Path(tempfile.mkdtemp())  # the studies' output folders
options = dict(fusions=["concat"] if SMOKE else ["concat", "late"], seeds=SEEDS,
               epochs=EPOCHS, train_limit=TRAIN_LIMIT, robustness=False, figures=False)
if SMOKE:  # one run per study: each of its Ray and worker processes imports TensorFlow
    options["baselines"] = False
print(data)

# %% [markdown]
# ## The same study on two executors
#
# `compare(workers=2)` trains two runs at once in two processes of this machine.
# `compare(executor="ray")` hands each run to Ray as a *task* asking for one CPU (and one GPU
# on a cluster that has GPUs). Ray places the tasks on the cluster's nodes; this process —
# the *driver* — writes each finished run into the study's folder in plan order.
#
# Without an `address` (and without `RAY_ADDRESS` set), `compare` starts a local cluster of
# this machine and stops it at the end. Here we start it ourselves, so that it serves every
# study of this section (a Ray already initialised in this process is used as it is and left
# running):

# %%
ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR",
         log_to_driver=False)
print({name: int(value) for name, value in ray.cluster_resources().items()
       if name in ("CPU", "GPU")})

# %% [markdown]
# First the study on today's worker processes, (2 fusions + 2 unimodal baselines) × 2 seeds =
# 8 runs. `compare` prints one line per finished run:

# %%
start = time.perf_counter()
local, _ = experiments.compare(data, workers=2, out=str(folder / "local"), **options)
local_seconds = time.perf_counter() - start

# %% [markdown]
# The same call on Ray prints the same lines, in the same order (the seconds aside: a run's
# time varies by a second or two from one study to the next):

# %%
start = time.perf_counter()
on_ray, summary = experiments.compare(data, executor="ray", out=str(folder / "ray"), **options)
ray_seconds = time.perf_counter() - start
print(f"\nworkers=2: {local_seconds:.0f} s, Ray: {ray_seconds:.0f} s")

# %% [markdown]
# The accuracies themselves are low: 3 epochs on 1,200 samples are far from a full training
# (notebook 5 trains the same models further). What matters here is that each run is seeded
# on its own, so it does not matter where it trained. The two executors
# agree run by run, up to float rounding (each process computes with its own share of the
# cores):

# %%
both = pd.DataFrame({"workers=2": local.set_index("run")["test_accuracy"],
                     "Ray": on_ray.set_index("run")["test_accuracy"]})
both["difference"] = (both["workers=2"] - both["Ray"]).abs()
both.round(3)

# %% [markdown]
# And they write the same files: the models, each run's history and confusion matrix, the
# result store `runs.jsonl`, `settings.json` and the tables (`results.csv`, `summary.csv`,
# `results.md`); here their names are compared, their numbers were above. On Ray a run writes
# its files on the node it trains on; they travel back with its result and the driver writes
# them here, so the nodes of a cluster need no shared file system.


# %%
def files(study):
    return sorted(str(p.relative_to(folder / study)) for p in (folder / study).rglob("*")
                  if p.is_file())


print("same files:", files("local") == files("ray"), f"({len(files('ray'))} files)")
print(*files("ray")[:5], sep="\n")

# %% [markdown]
# What the executor does with the study:
#
# - The dataset goes into Ray's object store once (`ray.put`); every node fetches it once,
#   not once per run.
# - A run lost with its worker process or its node (out of memory, a pre-empted machine) is
#   run again by Ray, on whichever node has room (3 retries by default).
# - If the driver dies, Ray ends its tasks. Start the same call again with the same `out`:
#   the runs already recorded in `runs.jsonl` are skipped, on either executor.
#
# `executor="ray"` is `RayExecutor()` with its defaults. Pass your own
# (`compare(data, executor=executor, ...)`, as exercise 2 does) to choose the cluster
# (`address`) and what each run asks for (`cpus_per_run`, `gpus_per_run`); this one is only
# asked what a run would get here:

# %%
executor = RayExecutor(cpus_per_run=1, gpus_per_run="auto", fusions=options["fusions"])
print("(CPUs, GPUs) per run on this cluster:", executor.resources(ray))

# %% [markdown]
# ## Tuning on the same engine
#
# `compare(tune=N)` gives every model the same random search of N trials (learning rate,
# dropout, and the fusion's width where it has one: concat has none). In one process a run
# searches trial after trial, then trains with the best values. On Ray every trial is a task
# of its own, and a model's final run starts as soon as its own trials are done. The trials
# are those KerasTuner's `RandomSearch` draws, and the best is chosen as KerasTuner chooses
# it, so the budget and the choice are the same as in one process. Here: one fusion, one seed,
# 2 trials, then the final run:

# %%
tuned = dict(fusions=["concat"], seeds=[0], epochs=EPOCHS, train_limit=TRAIN_LIMIT, tune=TUNE,
             baselines=False, robustness=False, figures=False, save_models=False)
start = time.perf_counter()
tuned_ray, _ = experiments.compare(data, executor="ray", **tuned)
print(f"{TUNE} trials + the final run on Ray: {time.perf_counter() - start:.0f} s")
chosen = json.loads(tuned_ray["hyperparameters"].iloc[0])  # the exact values, as JSON
print("chosen:", {k: float(f"{v:.3g}") if isinstance(v, float) else v for k, v in chosen.items()})
print(f"test accuracy: {tuned_ray['test_accuracy'].iloc[0]:.3f}")

# %% [markdown]
# Two trials of 3 epochs are a tiny search: here it chose a smaller learning rate (0.000225)
# and no dropout, where the defaults are 0.001 and 0.2, and did worse than the defaults (test
# accuracy 0.337, against 0.463 for the untuned concat of seed 0 above); one run on one test
# split cannot say which of the two changes cost more. A search needs more trials, and more
# epochs per trial, to beat good defaults.
#
# The cluster of this notebook is no longer needed:

# %%
ray.shutdown()
print("Ray running:", ray.is_initialized())

# %% [markdown]
# ## A cluster of several machines
#
# Every machine needs the same Python, TensorFlow, mmkeras and Ray versions
# (`pip install "mmkeras[ray]"`). On the machine that will be the head:
#
# ```bash
# ray start --head --port=6379
# ```
#
# On every other machine (GPUs are detected):
#
# ```bash
# ray start --address=HEAD_IP:6379
# ```
#
# Then, on the head, the same command as on a laptop, with `--executor ray`:
#
# ```bash
# python -m mmkeras compare --preset full --executor ray --address auto --out study/
# ```
#
# (48 runs on `av_digits`; the 96-run study of the documentation is this preset on both
# datasets, `--dataset emoji` being the other half.)
#
# `ray stop` on each machine ends the cluster. Cloud machines can be started for you by Ray's
# cluster launcher (`ray up cluster.yaml`), and a Kubernetes cluster runs Ray with KubeRay;
# the documentation's "Scaling out" page has the links, and how a 96-run study divides over N
# nodes.
#
# ## Summary
#
# `compare(..., executor="ray")` (`--executor ray [--address ...]` on the command line)
# trained each run of an 8-run study as a Ray task on a local cluster of 2 CPUs. It printed
# the same per-run lines as `workers=2`, wrote the same files, and its test accuracies agreed
# with the worker processes' run by run (the table above). A tuned study ran each trial as a
# task and retrained with the chosen values. On one machine Ray buys nothing over the worker
# processes: both train two runs at once on the same two cores, so the few seconds between
# the two times above are not a speed-up to count on (a run's own time differs by up to 2 s
# between the two studies). Ray pays when a study no longer fits one machine.
#
# ## Exercises
#
# 1. Extend the Ray study above (same `out`) with a third seed, on a new local cluster
#    (`executor="ray"` without `ray.init`). How many runs train, and how many are read back?
# 2. Give each run 2 CPUs on a 2-CPU local cluster
#    (`RayExecutor(cpus_per_run=2, local_cpus=2)`) for a one-fusion, one-seed study. How many
#    runs train at once now?
# 3. With the formula of the "Scaling out" page (wall time ≈ start-up + ceil(runs / slots) ×
#    mean run + how much the last wave's longest run exceeds the mean), estimate the 96-run
#    study (start-up about 15 s, mean run about 58 s, longest run about 90 s) on 2, 16 and 96
#    slots.
#
# ## Solutions
#
# The solutions are collapsed: click a cell to open it.

# %% tags=["solution"]
# Exercise 1: a third seed on the Ray study's folder.
more, _ = experiments.compare(data, executor="ray", out=str(folder / "ray"),
                              **{**options, "seeds": SEEDS + [2]})
print(f"{len(more)} runs in the study: {len(on_ray)} read back, "
      f"{len(more) - len(on_ray)} trained now")
# Only the runs of seed 2 trained: runs.jsonl already held the 8 others.

# %% tags=["solution"]
# Exercise 2: 2 CPUs per run on a 2-CPU cluster.
wide = RayExecutor(cpus_per_run=2, local_cpus=2, fusions=["concat"])
start = time.perf_counter()
experiments.compare(data, executor=wide, fusions=["concat"], seeds=[0], epochs=EPOCHS,
                    train_limit=TRAIN_LIMIT, robustness=False, figures=False, verbose=0)
print(f"3 runs in {time.perf_counter() - start:.0f} s, with the start of a new local cluster")
# One run trains at a time (2 CPUs / 2 per run), computing with 2 threads.

# %% tags=["solution"]
# Exercise 3: the 96-run study on 2, 16 and 96 slots.
START, MEAN, LONGEST = 15, 58, 90  # seconds
for slots in (2, 16, 96):
    waves = -(-96 // slots)
    seconds = START + waves * MEAN + (LONGEST - MEAN)
    print(f"{slots:3d} slots: {waves:2d} wave(s), about {seconds / 60:.1f} min")
# Beyond 96 slots nothing is gained: a study is never shorter than its longest run.
