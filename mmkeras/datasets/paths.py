"""Where the embedded data lives."""

import os
from importlib.resources import files
from pathlib import Path


def data_dir():
    """The folder with the embedded datasets.

    `$MMKERAS_DATA` if set, else the `data/` folder shipped inside the package
    (`mmkeras/datasets/data/`), wherever mmkeras is installed: from a wheel, from
    git, or editable from a checkout.
    """
    override = os.environ.get("MMKERAS_DATA")
    if override:
        folder = Path(override)
    else:
        # A regular install (wheel, sdist, editable) puts the package on the file
        # system, where `files()` gives a pathlib.Path.
        folder = Path(os.fspath(files("mmkeras.datasets") / "data"))
    if not folder.is_dir():
        where = "MMKERAS_DATA points to" if override else "the package holds no"
        raise FileNotFoundError(
            f"Embedded data folder not found: {folder} ({where} data folder). Reinstall "
            "mmkeras from a wheel or from git, or set MMKERAS_DATA to a copy of "
            "mmkeras/datasets/data/."
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
