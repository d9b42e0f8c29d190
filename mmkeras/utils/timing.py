"""Timing helper shared by the latency measurements."""

import time

import numpy as np


def median_seconds(fn, repeats=20):
    """Calls `fn()` once to warm up, then returns the median of `repeats` timed calls."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
