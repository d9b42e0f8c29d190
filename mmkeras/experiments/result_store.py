"""Results written after every finished run, so an interrupted study resumes."""

import json
import os

import pandas as pd


class ResultStore:
    """Rows of finished runs in `out/results_runs.csv` (+ curves and histories).

    With `out=None` everything stays in memory.
    """

    def __init__(self, out=None):
        self.out = out
        self.rows, self.curves, self.histories = [], [], {}
        if out is None:
            return
        os.makedirs(out, exist_ok=True)
        if os.path.exists(self._path("results_runs.csv")):
            self.rows = pd.read_csv(self._path("results_runs.csv")).to_dict("records")
        if os.path.exists(self._path("robustness_runs.csv")):
            self.curves = pd.read_csv(self._path("robustness_runs.csv")).to_dict("records")
        if os.path.exists(self._path("histories.json")):
            with open(self._path("histories.json")) as f:
                self.histories = json.load(f)

    def _path(self, name):
        return os.path.join(self.out, name)

    def done(self, key):
        return any(row["run"] == key for row in self.rows)

    def add(self, row, curves=(), history=None):
        self.rows.append(row)
        self.curves.extend({"run": row["run"], "model": row["model"], "seed": row["seed"], **c}
                           for c in curves)
        if history is not None:
            self.histories[row["run"]] = {k: [float(v) for v in vals] for k, vals in history.items()}
        if self.out is None:
            return
        # Write to a temporary file and rename: a kill mid-write loses nothing.
        for name, frame in (("results_runs.csv", self.results()),
                            ("robustness_runs.csv", self.robustness())):
            if frame.empty:
                continue
            frame.to_csv(self._path(name + ".tmp"), index=False)
            os.replace(self._path(name + ".tmp"), self._path(name))
        with open(self._path("histories.json.tmp"), "w") as f:
            json.dump(self.histories, f)
        os.replace(self._path("histories.json.tmp"), self._path("histories.json"))

    def results(self):
        return pd.DataFrame(self.rows)

    def robustness(self):
        return pd.DataFrame(self.curves)
