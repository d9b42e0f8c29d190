"""The test suite's own settings (conftest.py), which every test process and every process a
test starts inherit."""

import os
import subprocess
import sys

import pytest

# NumPy's OpenBLAS thread pools, of this process or of a new one (`threadpoolctl`, a
# dependency of scikit-learn): their thread counts, `[]` for a NumPy without OpenBLAS.
OPENBLAS_THREADS = ("import numpy, threadpoolctl; print(sorted({p['num_threads'] for p in "
                    "threadpoolctl.threadpool_info() if p['internal_api'] == 'openblas'}))")


def test_numpy_runs_one_blas_thread_here_and_in_the_processes_tests_start():
    """Two test processes share the two cores: OpenBLAS's other threads would spin on a core
    the other process needs (conftest.py)."""
    pytest.importorskip("threadpoolctl")
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    here = {}
    exec(OPENBLAS_THREADS.replace("print(", "here['threads'] = ("), {"here": here})
    started = subprocess.run([sys.executable, "-c", OPENBLAS_THREADS], capture_output=True,
                             text=True, check=True).stdout.strip()
    if started == "[]":
        pytest.skip("this NumPy has no OpenBLAS")
    assert (here["threads"], started) == ([1], "[1]")
