"""Runs trained side by side in worker processes: order, errors, a study's results, and a
worker that ends with its parent."""

import os
import sys

import numpy as np
import pandas as pd
import pytest

from mmkeras import experiments
from mmkeras.experiments.workers import resolve_workers
from mmkeras.fusion import FUSIONS, ConcatFusion, register_fusion


@pytest.mark.parametrize("value", [0, -1, 1.5, "two", True])
def test_bad_worker_counts_are_refused(value):
    with pytest.raises((ValueError, TypeError), match="workers"):
        resolve_workers(value)


def test_auto_is_one_or_two():
    assert resolve_workers("auto") in (1, 2) and resolve_workers(3) == 3


@pytest.fixture
def renamed_concat():
    """A fusion the caller registers: worker processes (fresh interpreters) must learn of it."""
    register_fusion("renamed_concat", ConcatFusion)
    yield "renamed_concat"
    FUSIONS.pop("renamed_concat", None)


@pytest.mark.slow
def test_a_study_in_two_workers_has_every_run_resumes_and_re_runs_a_damaged_one(
        small_av_digits, renamed_concat, tmp_path):
    """One pool per `compare` (each of its workers imports TensorFlow), so one study checks
    all of these: the caller's registered fusion in the workers, the runs' numbers, a
    finished study read back, a damaged record trained again with the same numbers."""
    import json

    from mmkeras.experiments.result_store import RUNS_FILE, DamagedResultsWarning

    data = small_av_digits(200, 60, 80)
    out = str(tmp_path / "study")
    options = dict(seeds=[0], epochs=1, robustness=False, verbose=0, figures=False)
    alone, _ = experiments.compare(data, fusions=["concat"], baselines=False, **options)
    # Two runs, one per worker (the baselines are runs like any other).
    study = dict(fusions=[renamed_concat, "sum"], baselines=False, out=out, workers=2,
                 **options)
    results, _ = experiments.compare(data, **study)
    assert list(results["model"]) == ["renamed_concat", "sum"]
    assert results["test_accuracy"].between(0, 1).all()
    # The same seeded run as in this process, up to float rounding (fewer threads per worker).
    concat = results.loc[results["model"] == "renamed_concat", "test_accuracy"].iloc[0]
    assert abs(concat - alone["test_accuracy"].iloc[0]) <= 0.05
    # A finished study is read back, nothing trained again.
    again, _ = experiments.compare(data, **study)
    pd.testing.assert_frame_equal(again, results)
    assert np.isfinite(again["train_seconds"]).all()
    # A damaged record: that run alone is trained again, in a worker with the threads it had,
    # and gives the numbers of the run it replaces.
    path = os.path.join(out, RUNS_FILE)
    lines = open(path).read().splitlines()
    record = json.loads(lines[0])
    assert record["row"]["model"] == "renamed_concat"
    record["row"]["test_accuracy"] = float("nan")
    lines[0] = json.dumps(record)
    open(path, "w").write("\n".join(lines) + "\n")
    with pytest.warns(DamagedResultsWarning, match="concat"):
        repaired, _ = experiments.compare(data, **study)
    columns = ["model", "test_accuracy", "macro_f1", "val_accuracy", "epochs_run"]
    pd.testing.assert_frame_equal(repaired[columns], results[columns])


class _LocalConcat(ConcatFusion):
    """A fusion as a notebook defines it: its class lives in `__main__`."""


_LocalConcat.__module__ = "__main__"


@pytest.mark.slow
def test_a_fusion_defined_in_main_trains_in_this_process_with_a_warning(small_av_digits):
    """A fusion class a notebook defines cannot be sent to a worker: the study trains here.
    (A registered fusion of an importable module reaches the workers: the study above.)"""
    data = small_av_digits(120, 40, 40)
    options = dict(seeds=[0], epochs=1, robustness=False, verbose=0, figures=False,
                   baselines=False)
    register_fusion("local_concat", _LocalConcat)
    try:
        with pytest.warns(UserWarning, match=r"__main__ \(\['local_concat'\]\).*workers=1"):
            local, _ = experiments.compare(data, fusions=["local_concat"], workers=2,
                                           **options)
        assert list(local["model"]) == ["local_concat"]
    finally:
        FUSIONS.pop("local_concat", None)


UNGUARDED_SCRIPT = """
import operator
from mmkeras.experiments.workers import run_in_workers
results = run_in_workers(operator.truediv, (10,), [(a,) for a in (5, 1, 4, 2, 0, 3)], 2)
print([next(results) for _ in range(4)])
try:
    next(results)
except ZeroDivisionError as error:
    print("caller got", type(error).__name__)
"""


@pytest.mark.slow
def test_results_come_in_task_order_and_errors_reach_a_script_without_a_main_guard(tmp_path):
    """The shared argument first, results in task order, a run's error raised in the
    caller, and a script without `if __name__ == "__main__":` run once (a spawned worker
    would run it again): one pool for all (each of its workers imports TensorFlow)."""
    import subprocess
    import sys

    script = tmp_path / "study.py"
    script.write_text(UNGUARDED_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["[2.0, 10.0, 2.5, 5.0]", "caller got ZeroDivisionError"]


PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE,
                         text=True)
child.stdout.readline()  # "ready": it watches its parent now
print(child.pid, flush=True)
child.wait()
"""
CHILD = """
import os, sys, time
from mmkeras.experiments.workers import exit_with_parent
exit_with_parent(os.getppid(), sys.argv[1], interval=0.1)
print("ready", flush=True)
time.sleep(300)
"""


def _alive(pid):
    import os

    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except OSError:
        return os.path.exists(f"/proc/{pid}") if os.path.isdir("/proc") else False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("method", ["prctl", "watchdog"])
def test_a_worker_ends_when_its_parent_is_killed(method):
    """What a study's worker processes do, with both ways of noticing (the pool's own
    test: tests/test_ray_executor.py, a killed driver)."""
    import os
    import signal
    import subprocess
    import time

    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, method],
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        parent.kill()
        if _alive(child):
            os.kill(child, signal.SIGKILL)
