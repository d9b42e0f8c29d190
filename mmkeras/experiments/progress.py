"""One line per finished run, with the time elapsed and an estimate of the time left.

A line per run (rather than a redrawn bar) reads the same in a terminal, a
log file and a notebook; the estimate is the mean time of the runs trained
so far times the runs still to train.
"""

import time


class Progress:
    """Prints `[done/total] model seed fold: accuracy, seconds, epochs (elapsed, left)`."""

    def __init__(self, total, verbose=1):
        self.total, self.verbose = total, verbose
        self.count = self.trained = 0
        self.start = time.perf_counter()

    def skipped(self, key):
        self.count += 1
        if self.verbose:
            print(f"[{self.count}/{self.total}] {key}: already done, skipped", flush=True)

    def finished(self, spec, row):
        self.count += 1
        self.trained += 1
        if not self.verbose:
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.trained * (self.total - self.count)
        print(f"[{self.count}/{self.total}] {spec.label:<16} seed {spec.seed} fold {spec.fold}: "
              f"test accuracy {row['test_accuracy']:.3f}, {row['train_seconds']:.0f} s, "
              f"{row['epochs_run']} epochs ({clock(elapsed)} elapsed, about {clock(left)} "
              "left)", flush=True)


def clock(seconds):
    """`m:ss`."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"
