"""The same study with today's worker processes and on a local Ray cluster, side by side.

Run it on an otherwise idle machine (about 3 min on a 2-core CPU):
`python benchmarks/ray_vs_workers.py --out benchmarks/results/ray_vs_workers.md`

The study is the command of issue 24, `python -m mmkeras compare --fusions concat,late
--seeds 0,1` (quick preset: 2 fusions + 2 unimodal baselines × 2 seeds = 8 runs, at most 5
epochs, robustness scores, figures and models written), timed as a whole command (start-up,
data, training, report): `--workers 2` (two spawned processes of this machine) against
`--executor ray` (a local Ray cluster the command starts with this machine's CPUs, one CPU
per run, and stops at the end). The two alternate round by round (`--rounds`), so that a
change in the machine's load hits both. Reported: each round, the medians, their ratio,
whether the two output folders hold the same files, and the largest difference in test
accuracy run by run. `--tuned` adds a tuned study (`--fusions concat --tune 2 --epochs 3`).
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
sys.path.insert(0, os.path.dirname(__file__))

from _machine import machine_details, print_and_save  # noqa: E402

EXECUTORS = {"workers": ["--workers", "2"], "ray": ["--executor", "ray"]}
STUDIES = {
    "quick": ("`--fusions concat,late --seeds 0,1` (8 runs, at most 5 epochs)",
              ["--fusions", "concat,late", "--seeds", "0,1"]),
    "tuned": ("`--fusions concat --tune 2 --epochs 3 --no-robustness` (3 models, 2 trials each)",
              ["--fusions", "concat", "--tune", "2", "--epochs", "3", "--no-robustness"]),
}


def time_study(study, executor, out):
    """Wall seconds of one `python -m mmkeras compare` (its own process, as a user runs it)."""
    command = [sys.executable, "-m", "mmkeras", "compare", *STUDIES[study][1],
               *EXECUTORS[executor], "--out", out]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    print(f"{study}, {executor}: {seconds:.0f} s", flush=True)
    return seconds


def same_files(folder_a, folder_b):
    def names(folder):
        return sorted(os.path.relpath(os.path.join(root, f), folder)
                      for root, _, files in os.walk(folder) for f in files)

    return names(folder_a) == names(folder_b)


def largest_difference(folder_a, folder_b):
    import pandas as pd

    a, b = (pd.read_csv(os.path.join(f, "results.csv")).set_index("run")
            for f in (folder_a, folder_b))
    assert sorted(a.index) == sorted(b.index), "the two studies ran different runs"
    return float((a["test_accuracy"] - b.loc[a.index, "test_accuracy"]).abs().max())


def ray_version():
    from importlib.metadata import version

    return version("ray")


def _clock(seconds):
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def report(times, differences, files, started, loads):
    lines = ["# A study on worker processes and on a local Ray cluster", "",
             f"Machine: {machine_details()}; Ray {ray_version()}.", "",
             (f"Command: `python benchmarks/ray_vs_workers.py`, run on {started} (load average "
              f"at the start {loads[0]:.1f}, at the end {loads[1]:.1f}). Wall time of the "
              "whole `python -m mmkeras compare` command (start-up, data, training, report); "
              "`--workers 2`: two spawned processes; `--executor ray`: a local Ray cluster "
              "started by the command (this machine's CPUs, one CPU per run), stopped at the "
              "end. The executors alternate, round by round."), "",
             ("| study | rounds, workers=2 | rounds, Ray | median, workers=2 | median, Ray | "
              "Ray / workers | same files | largest test-accuracy difference |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for study, (label, _) in STUDIES.items():
        if study not in times:
            continue
        w, r = times[study]["workers"], times[study]["ray"]
        lines.append(f"| {label} | {', '.join(_clock(s) for s in w)} | "
                     f"{', '.join(_clock(s) for s in r)} | {_clock(statistics.median(w))} | "
                     f"{_clock(statistics.median(r))} | "
                     f"{statistics.median(r) / statistics.median(w):.2f}× | "
                     f"{'yes' if files[study] else 'no'} | {differences[study]:.3f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="write the Markdown report here")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the quick study")
    parser.add_argument("--tuned", action="store_true", help="also time a tuned study")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    loads = [os.getloadavg()[0]]
    times, differences, files = {}, {}, {}
    plan = [("quick", args.rounds)] + ([("tuned", 1)] if args.tuned else [])
    with tempfile.TemporaryDirectory() as folder:
        for study, rounds in plan:
            times[study] = {"workers": [], "ray": []}
            for round_ in range(rounds):
                for executor in EXECUTORS:
                    out = os.path.join(folder, f"{study}-{executor}-{round_}")
                    times[study][executor].append(time_study(study, executor, out))
            pair = (os.path.join(folder, f"{study}-workers-0"),
                    os.path.join(folder, f"{study}-ray-0"))
            differences[study] = largest_difference(*pair)
            files[study] = same_files(*pair)
    loads.append(os.getloadavg()[0])
    text = report(times, differences, files, started, loads)
    print_and_save(text, args.out)


if __name__ == "__main__":
    main()
