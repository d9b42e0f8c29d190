"""Executes the notebooks and prints how long each took.

`python scripts/time_notebooks.py [--smoke] [NAME ...]` — full size unless --smoke.
Outputs are not saved (notebooks stay committed without outputs).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    import nbformat
    from nbclient import NotebookClient

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    os.environ["MMKERAS_SMOKE"] = "1" if args.smoke else "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(n in p.name for n in args.names)]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=3600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
        print(f"{path.name}: {time.perf_counter() - start:.0f} s "
              f"({'smoke' if args.smoke else 'full'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
