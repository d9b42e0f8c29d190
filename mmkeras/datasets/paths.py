"""Where the embedded data lives."""

import os
from pathlib import Path


def data_dir():
    """The folder with the embedded datasets.

    `$MMKERAS_DATA` if set, else `data/` of the source checkout (the README
    installs mmkeras in editable mode, so this is the repository's `data/`).
    """
    folder = Path(os.environ.get("MMKERAS_DATA", Path(__file__).resolve().parents[2] / "data"))
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Embedded data folder not found: {folder}. Install mmkeras from its "
            "repository with `pip install -e .`, or set MMKERAS_DATA to a copy of data/."
        )
    return folder


def data_file(*parts):
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"Embedded data file missing: {path}. Rebuild it with "
            "`python scripts/build_data.py` or restore it from git."
        )
    return path
