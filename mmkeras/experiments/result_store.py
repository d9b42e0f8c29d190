"""Results written after every finished run, one JSON line each, so an interrupted study resumes.

`out/runs.jsonl` holds one record per finished run — its row of numbers, its
robustness curves and its training history — appended (and flushed to disk)
as the run finishes: a crash can cut only the line being written. What is
on disk is checked before it is trusted: a line cut short, unreadable bytes,
or a row of NaNs marks that run as damaged (it is re-run, with a warning
naming it, and the damaged file is kept as `runs.jsonl.damaged`). A folder
written with other settings (epochs, patience, data, ...) is refused instead
of being mixed into a new study (`settings.json`).
"""

import hashlib
import json
import math
import os
import re
import shutil
import warnings

import numpy as np
import pandas as pd

RUNS_FILE = "runs.jsonl"
SETTINGS_FILE = "settings.json"
# Written by mmkeras 0.1; read once into runs.jsonl.
LEGACY_FILES = ("results_runs.csv", "robustness_runs.csv", "histories.json")


class DamagedResultsWarning(UserWarning):
    """Some stored runs were damaged on disk and will be run again."""


class StudySettingsError(ValueError):
    """A results folder holds a study run with other settings."""


def _number(value, low=-math.inf, high=math.inf, whole=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and low <= value <= high
    return ok and (not whole or value == int(value))


# What a sound record's row holds; other columns may be legitimately empty.
ROW_FIELDS = {
    "run": lambda v: isinstance(v, str) and "|" in v,
    "model": lambda v: isinstance(v, str) and bool(v),
    "seed": lambda v: _number(v, whole=True),
    "test_accuracy": lambda v: _number(v, 0, 1),
    "train_seconds": lambda v: _number(v, 0),
    "epochs_run": lambda v: _number(v, whole=True),
}
CURVE_FIELDS = {"level": _number, "accuracy": lambda v: _number(v, 0, 1)}


def check_record(record):
    """Why a decoded record is unsound, or `None`."""
    if not isinstance(record, dict) or not isinstance(record.get("row"), dict):
        return "not a record with a row"
    row = record["row"]
    bad = [k for k, ok in ROW_FIELDS.items() if not ok(row.get(k))]
    if bad:
        return "missing or invalid " + ", ".join(f"{k}={row.get(k)!r}" for k in bad)
    curves = record.get("curves", [])
    if not isinstance(curves, list) or not all(
            isinstance(c, dict) and all(ok(c.get(k)) for k, ok in CURVE_FIELDS.items())
            for c in curves):
        return "invalid robustness curves"
    history = record.get("history", {})
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        return "invalid history"
    return None


def read_records(path):
    """`(records, damaged)`: sound records in file order, and `(line, run or None, why)`
    for each damaged line (a line without its newline was cut by a crash)."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    cut = lines.pop() if lines else b""
    numbered = [(n, raw, None) for n, raw in enumerate(lines, start=1) if raw.strip()]
    if cut.strip():
        numbered.append((len(lines) + 1, cut, "cut short (no end of line)"))
    records, damaged = [], []
    for number, raw, why in numbered:
        record = None
        if why is None:
            try:
                record = json.loads(raw.decode("utf-8"))
                why = check_record(record)
            except (UnicodeDecodeError, ValueError):
                why = "unreadable bytes"
        if why:
            damaged.append((number, _run_key(raw), why))
        else:
            records.append(record)
    return records, damaged


def _run_key(raw):
    """The run key of a damaged line, when it can still be read."""
    found = re.search(rb'"run": ?"([^"]+\|[^"]+)"', raw)
    return found.group(1).decode("utf-8", "replace") if found else None


def append_line(path, text):
    """Appends one line and flushes it to disk before returning."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path, text):
    """Writes `text` so that a crash leaves either the old file or the new one."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _normalise(settings):
    """Settings as JSON would give them back (tuples become lists, NumPy numbers plain)."""
    def default(value):
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        return repr(value)
    return json.loads(json.dumps(settings, sort_keys=True, default=default))


def _plain(value):
    """A row value JSON can hold (NumPy numbers become Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def dataset_fingerprint(data, exact=False):
    """A short hash of a dataset's arrays: equal data, equal fingerprint.

    Integer arrays (labels, token ids) are hashed byte for byte; a float
    array by its shape, mean and standard deviation to 4 significant digits:
    a loader that computes (a PCA, MFCCs) gives the same numbers up to the
    last bits on another CPU type, and the same study must resume there.
    `exact=True` hashes every byte (mmkeras 0.1's fingerprint, no prefix).
    """
    digest = hashlib.sha1()
    for split_name in sorted(data.splits):
        split = data.splits[split_name]
        for name in sorted(split.x) + [None]:
            array = np.asarray(split.y if name is None else split.x[name])
            digest.update(f"{split_name}/{name}/{array.shape}/{array.dtype}".encode())
            if array.dtype.kind == "f" and not exact:
                stats = array.astype("float64")
                digest.update(f"{stats.mean():.4g}/{stats.std():.4g}".encode())
            elif array.dtype != object:
                digest.update(np.ascontiguousarray(array).tobytes())
    return ("" if exact else "s4-") + digest.hexdigest()[:16]


def study_settings(data, **settings):
    """The settings that change a study's results, for `ResultStore(settings=...)`:
    `data` described (name, classes, input shapes, split sizes, a fingerprint of its
    arrays) and the keyword arguments as given."""
    described = {
        "dataset": data.name,
        "classes": list(data.class_names),
        "input_shapes": {k: list(v) if v is not None else None
                         for k, v in data.input_shapes.items()},
        "split_sizes": {k: len(v) for k, v in data.splits.items()},
        "data_fingerprint": dataset_fingerprint(data),
    }
    described.update(settings)
    return _normalise(described)


class ResultStore:
    """The finished runs of a study, in `out/runs.jsonl` (in memory with `out=None`).

    Args:
        out: The study's folder, or `None`.
        settings: A dict of the settings that change results (see
            `study_settings`). The first time, it is written to
            `out/settings.json`; later, a different dict raises
            `StudySettingsError` naming each setting that differs, so runs of
            two different studies are never mixed.
        data: The study's dataset, to recognise the data of a folder that
            mmkeras 0.1 fingerprinted byte for byte (its settings are then
            updated to today's fingerprint).

    Attributes:
        damaged: Run keys found damaged on disk (they are run again).
    """

    def __init__(self, out=None, settings=None, data=None):
        self.out, self.data = out, data
        self.settings = None if settings is None else _normalise(settings)
        self.records = {}  # run key -> record, in the order the runs finished
        self.damaged = []
        if out is None:
            return
        os.makedirs(out, exist_ok=True)
        # Refuse other settings before touching anything in the folder.
        recorded = self.settings is None or self._check_settings()
        self._load()
        if not recorded:
            self._record_settings()

    def _path(self, name):
        return os.path.join(self.out, name)

    def _load(self):
        path = self._path(RUNS_FILE)
        if not os.path.exists(path):
            self._import_legacy()
            return
        records, damaged = read_records(path)
        for record in records:  # a run re-run after damage: its later record counts
            self.records[record["row"]["run"]] = record
        if damaged:
            runs = {run for _, run, _ in damaged if run} - set(self.records)
            self.damaged = sorted(runs)
            shutil.copyfile(path, path + ".damaged")
            write_atomic(path, "".join(json.dumps(r) + "\n" for r in self.records.values()))
            self._report(damaged)

    def _report(self, damaged):
        where = "; ".join(f"{self._path(RUNS_FILE)} line {line}"
                          + (f" (run {run!r})" if run else "") + f": {why}"
                          for line, run, why in damaged)
        lines = [f"Damaged records in {self.out!r}: {where}."]
        if self.damaged:
            lines.append("These runs will be run again: " + ", ".join(self.damaged) + ".")
        if any(run is None for _, run, _ in damaged):
            lines.append("Lines whose run could not be read are missing and will be run again.")
        lines.append(f"The damaged file is kept as {RUNS_FILE}.damaged next to the repaired one.")
        warnings.warn(" ".join(lines), DamagedResultsWarning, stacklevel=4)

    def _import_legacy(self):
        """Reads the three files of mmkeras 0.1 into `runs.jsonl` (once; they stay)."""
        rows_path = self._path(LEGACY_FILES[0])
        if not os.path.exists(rows_path):
            return
        rows = pd.read_csv(rows_path).to_dict("records")
        curves = (pd.read_csv(self._path(LEGACY_FILES[1])).to_dict("records")
                  if os.path.exists(self._path(LEGACY_FILES[1])) else [])
        histories = {}
        if os.path.exists(self._path(LEGACY_FILES[2])):
            with open(self._path(LEGACY_FILES[2]), encoding="utf-8") as f:
                histories = json.load(f)
        for row in rows:
            own = [{k: v for k, v in c.items() if k not in ("run", "model", "seed")}
                   for c in curves if c["run"] == row["run"]]
            self.add({k: v for k, v in row.items() if not pd.isna(v)}, own,
                     histories.get(row["run"], {}))

    # ---- settings ------------------------------------------------------------------------

    def _record_settings(self):
        path = self._path(SETTINGS_FILE)
        if self.records:
            warnings.warn(
                f"{path} did not exist: the {len(self.records)} runs already in {self.out!r} "
                "are assumed to come from these settings, which are recorded now.",
                UserWarning, stacklevel=3)
        write_atomic(path, json.dumps(self.settings, indent=1, sort_keys=True) + "\n")

    def _check_settings(self):
        """True when `settings.json` holds these settings, False when there is none yet."""
        path = self._path(SETTINGS_FILE)
        if not os.path.exists(path):
            return False
        try:
            with open(path, encoding="utf-8") as f:
                stored = json.load(f)
        except (UnicodeDecodeError, ValueError) as err:
            raise StudySettingsError(
                f"The settings file of this study cannot be read: {err}. Received: "
                f"file={path!r}. Restore it, or use a new output folder (--out) "
                "for a new study.") from err
        if self._legacy_fingerprint_matches(stored):
            stored = {**stored, "data_fingerprint": self.settings["data_fingerprint"]}
            write_atomic(path, json.dumps(stored, indent=1, sort_keys=True) + "\n")
        differences = [
            f"{key}: {_show(stored.get(key, '<unset>'))} before, now "
            f"{_show(self.settings.get(key, '<unset>'))}"
            for key in sorted(set(stored) | set(self.settings))
            if stored.get(key, "<unset>") != self.settings.get(key, "<unset>")]
        if differences:
            raise StudySettingsError(
                f"{self.out!r} holds a study run with other settings, and its runs would be "
                "mixed into this one. Received: " + "; ".join(differences)
                + ". Use a new output folder (--out / out=) for the new settings, or the "
                "same settings to resume this study.")
        return True

    def _legacy_fingerprint_matches(self, stored):
        """A folder of mmkeras 0.1 holds the exact-bytes fingerprint of the same data."""
        old = stored.get("data_fingerprint")
        return (self.data is not None and isinstance(old, str) and "-" not in old
                and old != self.settings.get("data_fingerprint")
                and old == dataset_fingerprint(self.data, exact=True))

    # ---- records -------------------------------------------------------------------------

    def done(self, key):
        return key in self.records

    def add(self, row, curves=(), history=None):
        """Records a finished run (replacing an earlier record of the same run)."""
        record = {"row": {k: _plain(v) for k, v in row.items()},
                  "curves": [{k: _plain(v) for k, v in c.items()} for c in curves],
                  "history": {k: [float(v) for v in values]
                              for k, values in (history or {}).items()}}
        self.records.pop(row["run"], None)
        self.records[row["run"]] = record
        if self.out is not None:
            append_line(self._path(RUNS_FILE), json.dumps(record))

    @property
    def rows(self):
        return [r["row"] for r in self.records.values()]

    @property
    def histories(self):
        return {run: r["history"] for run, r in self.records.items()}

    def results(self):
        """One row per run, in the order they finished."""
        return pd.DataFrame(self.rows)

    def robustness(self):
        """Accuracy per perturbation level, one row per run and level."""
        return pd.DataFrame([{"run": run, "model": r["row"]["model"], "seed": r["row"]["seed"],
                              **c} for run, r in self.records.items() for c in r["curves"]])


def _show(value):
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
