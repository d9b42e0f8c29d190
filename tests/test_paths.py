"""Where the embedded data is found: inside the installed package, or at $MMKERAS_DATA."""

import fnmatch
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mmkeras
from mmkeras import datasets
from mmkeras.datasets import paths

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = Path(mmkeras.datasets.__file__).parent / "data"


def _data_files():
    """The data files, as paths relative to the `mmkeras.datasets` package."""
    return sorted(p.relative_to(PACKAGE_DATA.parent).as_posix()
                  for p in PACKAGE_DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_data_dir_is_the_package_folder(monkeypatch):
    monkeypatch.delenv("MMKERAS_DATA", raising=False)
    folder = datasets.data_dir()
    assert folder == PACKAGE_DATA
    for name in ["av_digits.npz", "emoji.npz", "emoji_speech.npz", "README.md",
                 "spoken_words/metadata.csv"]:
        assert (folder / name).is_file(), name
    assert paths.data_file("emoji.npz") == PACKAGE_DATA / "emoji.npz"


def test_mmkeras_data_overrides(monkeypatch, tmp_path):
    shutil.copy(PACKAGE_DATA / "av_digits.npz", tmp_path / "av_digits.npz")
    monkeypatch.setenv("MMKERAS_DATA", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    assert paths.data_file("av_digits.npz") == tmp_path / "av_digits.npz"
    assert len(datasets.load("av_digits").train) > 0  # read from the copy
    with pytest.raises(FileNotFoundError, match="emoji.npz"):
        datasets.load("emoji")  # not in the copy: the package's file is not used


def test_mmkeras_data_to_a_missing_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MMKERAS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="MMKERAS_DATA"):
        datasets.data_dir()


def test_package_data_covers_every_data_file():
    """pyproject's package-data patterns name every file of the data folder, so that the
    wheel and the sdist carry them all."""
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["mmkeras.datasets"]
    files = _data_files()
    assert len(files) > 300
    missed = [f for f in files if not any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    assert missed == []


@pytest.mark.slow
def test_wheel_carries_the_data_and_finds_it_installed(tmp_path):
    """The wheel holds every data file, and an install of it (outside the checkout)
    reads them from its own folder."""
    pytest.importorskip("setuptools")
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("mmkeras-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {f"mmkeras/datasets/{f}" for f in _data_files()} <= names
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("MMKERAS_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run(
        [sys.executable, "-c", "from mmkeras import datasets; print(datasets.data_dir()); "
         "print(len(datasets.load('emoji').train))"],
        check=True, cwd=tmp_path, env=env, capture_output=True, text=True).stdout.split()
    assert Path(out[0]) == site / "mmkeras" / "datasets" / "data"
    assert int(out[1]) > 0
