"""Results written after every finished run, so an interrupted study resumes.

What is on disk is checked before it is trusted: a row cut short by a crash,
a row of NaNs or unreadable bytes marks that run as damaged (it is re-run,
with a warning naming it), and a folder written with other settings (epochs,
patience, data, ...) is refused instead of being mixed into a new study.
"""

import csv
import hashlib
import io
import json
import math
import os
import shutil
import warnings

import numpy as np
import pandas as pd

RUNS_FILE = "results_runs.csv"
CURVES_FILE = "robustness_runs.csv"
HISTORIES_FILE = "histories.json"
SETTINGS_FILE = "settings.json"


class DamagedResultsWarning(UserWarning):
    """Some stored runs were damaged on disk and will be run again."""


class StudySettingsError(ValueError):
    """A results folder holds a study run with other settings."""


def _int_like(text):
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and value == int(value)


def _finite(text, low=-math.inf, high=math.inf):
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and low <= value <= high


# Fields every stored row needs (when its file has the column), and what a
# sound value looks like. Other columns may be legitimately empty.
_RUN_FIELDS = {
    "run": bool,
    "model": bool,
    "seed": _int_like,
    "test_accuracy": lambda t: _finite(t, 0, 1),
    "train_seconds": lambda t: _finite(t, 0),
    "epochs_run": _int_like,
}
_CURVE_FIELDS = {
    "run": bool,
    "level": _finite,
    "accuracy": lambda t: _finite(t, 0, 1),
}


def _read_rows(path, fields):
    """`(rows, damaged)`: sound rows as dicts, and `(line, run or None, why)` per damaged one.

    Returns `(None, damaged)` when the header itself cannot be read.
    """
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        # No newline after the last row: the write stopped inside it.
        lines[-1] = (lines[-1], "truncated")
    header = None
    rows, damaged = [], []
    for number, raw in enumerate(lines, start=1):
        raw, why = raw if isinstance(raw, tuple) else (raw, None)
        try:
            text = raw.decode("utf-8").rstrip("\r")
            values = next(csv.reader(io.StringIO(text)), [])
        except (UnicodeDecodeError, csv.Error):
            text, values, why = None, [], why or "unreadable bytes"
        if header is None:
            if why or "run" not in values:
                return None, [(number, None, why or "no header with a 'run' column")]
            header = values
            continue
        if not why and len(values) != len(header):
            why = f"{len(values)} fields instead of {len(header)}"
        if not why:
            row = dict(zip(header, values))
            bad = [k for k, ok in fields.items() if k in row and not ok(row[k])]
            if bad:
                why = "missing or invalid " + ", ".join(f"{k}={row[k]!r}" for k in bad)
        if why:
            damaged.append((number, _run_of(values, header, text), why))
        else:
            rows.append(row)
    return rows, damaged


def _run_of(values, header, text):
    """The run key of a damaged line when it can still be read, else `None`."""
    if values and header and values[0] and header[0] == "run" and "|" in values[0]:
        return values[0]
    if text and "|" in text.split(",", 1)[0]:
        return text.split(",", 1)[0]
    return None


def _frame(rows):
    """Rows of strings back to typed columns (as `pd.read_csv` would give)."""
    if not rows:
        return []
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    buffer.seek(0)
    return pd.read_csv(buffer).to_dict("records")


def _write_atomic(path, text):
    """Writes `text` so that a crash leaves either the old file or the new one."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    except OSError:  # some systems cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _normalise(settings):
    """Settings as JSON would give them back (tuples become lists, NumPy numbers plain)."""
    def default(value):
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        return repr(value)
    return json.loads(json.dumps(settings, sort_keys=True, default=default))


def dataset_fingerprint(data):
    """A short hash of a dataset's arrays: equal data, equal fingerprint."""
    digest = hashlib.sha1()
    for split_name in sorted(data.splits):
        split = data.splits[split_name]
        for name in sorted(split.x) + [None]:
            array = np.asarray(split.y if name is None else split.x[name])
            digest.update(f"{split_name}/{name}/{array.shape}/{array.dtype}".encode())
            if array.dtype != object:
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _check_setting(name, value):
    """Raises for a study setting that would be ignored or crash later (`cv_folds=1`, ...)."""
    from mmkeras import validation

    if name in ("epochs", "batch_size"):
        return validation.check_positive_int(name, value)
    if name == "patience":
        return validation.check_non_negative_int(name, value, allow_none=True)
    if name == "train_limit":  # 0 would silently mean "all of it"
        return validation.check_positive_int(name, value, allow_none=True)
    if name == "cv_folds":  # 0 would silently mean the fixed split; 1 fold cannot validate
        return validation.check_int(name, value, minimum=2, allow_none=True)
    if name == "robustness":
        return validation.check_bool(name, value)
    return value


def study_settings(data, **settings):
    """The settings that change a study's results, for `ResultStore(settings=...)`.

    Describes `data` (name, classes, input shapes, split sizes and a
    fingerprint of its arrays) and adds the keyword arguments as given
    (epochs, patience, batch size, encoders, options...), after checking
    those it knows (`epochs`, `batch_size`, `patience`, `train_limit`,
    `cv_folds`, `robustness`): a bad value raises a `ValueError` naming it.
    """
    settings = {name: _check_setting(name, value) for name, value in settings.items()}
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
    """Rows of finished runs in `out/results_runs.csv` (+ curves and histories).

    With `out=None` everything stays in memory.

    Args:
        out: The study's folder, or `None`.
        settings: A dict of the settings that change results (see
            `study_settings`). The first time, it is written to
            `out/settings.json`; later, a different dict raises
            `StudySettingsError` naming each setting that differs, so runs of
            two different studies are never mixed.

    Attributes:
        damaged: Run keys found damaged on disk (they are run again).
    """

    def __init__(self, out=None, settings=None):
        self.out = out
        self.settings = None if settings is None else _normalise(settings)
        self.rows, self.curves, self.histories = [], [], {}
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

    # ---- reading -------------------------------------------------------------------------

    def _load(self):
        problems = []  # (file, line, run or None, why)
        damaged_runs = set()
        unreadable_header = False
        if os.path.exists(self._path(RUNS_FILE)):
            rows, bad = _read_rows(self._path(RUNS_FILE), _RUN_FIELDS)
            unreadable_header = rows is None
            self.rows = _frame(rows or [])
            problems += [(RUNS_FILE, *b) for b in bad]
            damaged_runs.update(run for _, run, _ in bad if run)
        if os.path.exists(self._path(CURVES_FILE)):
            curves, bad = _read_rows(self._path(CURVES_FILE), _CURVE_FIELDS)
            self.curves = _frame(curves or [])
            problems += [(CURVES_FILE, *b) for b in bad]
            damaged_runs.update(run for _, run, _ in bad if run)
            if curves is None or any(run is None for _, run, _ in bad):
                damaged_runs.update(self._runs_short_of_curves())
        if os.path.exists(self._path(HISTORIES_FILE)):
            try:
                with open(self._path(HISTORIES_FILE), encoding="utf-8") as f:
                    histories = json.load(f)
                if not isinstance(histories, dict) or not all(
                        isinstance(h, dict) for h in histories.values()):
                    raise ValueError("not a mapping of run to history")
                self.histories = histories
            except (UnicodeDecodeError, ValueError) as err:
                problems.append((HISTORIES_FILE, None, None, f"unreadable ({err})"))
        for row in self.rows:
            if row["run"] not in self.histories:
                damaged_runs.add(row["run"])
        if not problems and not damaged_runs:
            return
        self._drop(damaged_runs)
        self._report(problems, damaged_runs, unreadable_header)

    def _runs_short_of_curves(self):
        """Runs with fewer robustness points for a modality than another run has.

        Every run perturbs each of its modalities at the same levels, so a run
        short of points for one lost some to the damage.
        """
        counts, most = {}, {}
        for c in self.curves:
            key = (c["run"], c.get("modality"))
            counts[key] = counts.get(key, 0) + 1
        for (run, modality), n in counts.items():
            most[modality] = max(most.get(modality, 0), n)
        short = set()
        for row in self.rows:
            modalities = str(row.get("modalities", "")).split("+")
            if any(counts.get((row["run"], m), 0) < most.get(m, 0) for m in modalities):
                short.add(row["run"])
        return short

    def _drop(self, runs):
        """Forgets `runs` (so they are run again) and rewrites the files without damage."""
        self.damaged = sorted(runs)
        self.rows = [r for r in self.rows if r["run"] not in runs]
        kept = {r["run"] for r in self.rows}
        self.curves = [c for c in self.curves if c["run"] in kept]
        self.histories = {k: v for k, v in self.histories.items() if k in kept}
        for name in (RUNS_FILE, CURVES_FILE, HISTORIES_FILE):
            if os.path.exists(self._path(name)):
                shutil.copyfile(self._path(name), self._path(name + ".damaged"))
        self._save()

    def _report(self, problems, runs, unreadable_header):
        where = "; ".join(
            f"{os.path.join(self.out, name)}" + (f" line {line}" if line else "")
            + (f" (run {run!r})" if run else "") + f": {why}"
            for name, line, run, why in problems)
        lines = [f"Damaged records in {self.out!r}: {where or 'runs without a history'}."]
        if runs:
            lines.append("These runs will be run again: " + ", ".join(sorted(runs)) + ".")
        if unreadable_header or any(run is None and line for _, line, run, _ in problems):
            lines.append("Rows whose run could not be read are missing and will be run again.")
        lines.append("The damaged files are kept as *.damaged next to the repaired ones.")
        warnings.warn(" ".join(lines), DamagedResultsWarning, stacklevel=3)

    # ---- settings ------------------------------------------------------------------------

    def _record_settings(self):
        path = self._path(SETTINGS_FILE)
        if self.rows:
            warnings.warn(
                f"{path} did not exist: the {len(self.rows)} runs already in {self.out!r} "
                "are assumed to come from these settings, which are recorded now.",
                UserWarning, stacklevel=3)
        _write_atomic(path, json.dumps(self.settings, indent=1, sort_keys=True) + "\n")

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

    # ---- writing -------------------------------------------------------------------------

    def done(self, key):
        return any(row["run"] == key for row in self.rows)

    def add(self, row, curves=(), history=None):
        self.rows = [r for r in self.rows if r["run"] != row["run"]]
        self.curves = [c for c in self.curves if c["run"] != row["run"]]
        self.rows.append(row)
        self.curves.extend({"run": row["run"], "model": row["model"], "seed": row["seed"], **c}
                           for c in curves)
        self.histories[row["run"]] = {k: [float(v) for v in vals]
                                      for k, vals in (history or {}).items()}
        if self.out is not None:
            self._save()

    def _save(self):
        # Each file is replaced whole (write, fsync, rename): a crash leaves the old
        # file or the new one, never half a row. The row goes last: a run counts as
        # done only once its curves and history are on disk.
        _write_atomic(self._path(HISTORIES_FILE), json.dumps(self.histories))
        for name, frame in ((CURVES_FILE, self.robustness()), (RUNS_FILE, self.results())):
            if frame.empty and not os.path.exists(self._path(name)):
                continue
            _write_atomic(self._path(name), frame.to_csv(index=False) if not frame.empty
                          else "run\n")

    def results(self):
        return pd.DataFrame(self.rows)

    def robustness(self):
        return pd.DataFrame(self.curves)


def _show(value):
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
