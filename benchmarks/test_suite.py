"""How long the test suite takes: the fast lane and the full suite, as README.md runs them.

Run it on an otherwise idle machine (about 20 min on a 2-core CPU):
`python benchmarks/test_suite.py --out benchmarks/results/test_suite.md`

Each lane is README.md's command in its own process, timed as a whole (collection, the two
pytest-xdist workers, every test and docstring example): `python -m pytest -m "not slow"`
(the fast lane) and `python -m pytest` (the full suite, which CI runs). Reported: the wall
time, pytest's summary line, and the slowest tests of each lane (pytest's `--durations`, the
time of each test in its worker: with two workers, the wall time is about half their sum).
`--lanes fast` times one lane.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

from _machine import machine_details  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANES = {"fast": ["-m", "not slow"], "full": []}
SUMMARY = re.compile(r"^=+ (.*\d+ passed.*) =+$", re.MULTILINE)
DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S+)$", re.MULTILINE)


def run_lane(lane, slowest):
    """(wall seconds, pytest's summary line, [(seconds, phase, test)]) of one lane."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *LANES[lane],
               f"--durations={slowest}"]
    start = time.perf_counter()
    # A failing lane is reported with its output below, not raised.
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    summary = SUMMARY.findall(output)
    if result.returncode != 0 or not summary:
        sys.exit(f"{lane} lane failed (exit {result.returncode}):\n{output[-3000:]}")
    print(f"{lane}: {seconds:.0f} s, {summary[-1]}", flush=True)
    durations = [(float(s), phase, test) for s, phase, test in DURATION.findall(output)]
    return seconds, summary[-1], durations


def minutes(seconds):
    whole = round(seconds)  # rounded first: 119.6 s is "2 min 0 s", not "1 min 60 s"
    return f"{whole // 60} min {whole % 60} s"


def report(results, slowest):
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    lines = [f"# The test suite's time ({day})", "",
             f"Machine: {machine_details()}.", "",
             (f"Command: `python benchmarks/test_suite.py --lanes {','.join(results)}` "
              "(each lane README.md's command in its own process, on the otherwise idle "
              "machine, two pytest-xdist workers)."), "",
             "| lane | command | wall time | pytest's summary |", "|---|---|---|---|"]
    for lane, (seconds, summary, _) in results.items():
        command = " ".join(["python -m pytest", *(f'"{a}"' if " " in a else a
                                                  for a in LANES[lane])])
        lines.append(f"| {lane} | `{command}` | {minutes(seconds)} ({seconds:.0f} s) "
                     f"| {summary} |")
    for lane, (seconds, _, durations) in results.items():
        lines += ["", f"## The {slowest} slowest of the {lane} lane", "",
                  "| seconds | phase | test |", "|---|---|---|"]
        lines += [f"| {s:.1f} | {phase} | `{test}` |" for s, phase, test in durations[:slowest]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lanes", default="fast,full",
                        help="comma-separated, of: fast, full (default: both)")
    parser.add_argument("--slowest", type=int, default=15,
                        help="how many of the slowest tests to list per lane (default: 15)")
    parser.add_argument("--out", help="write the Markdown report here (default: print it)")
    args = parser.parse_args(argv)
    lanes = [lane.strip() for lane in args.lanes.split(",") if lane.strip()]
    unknown = [lane for lane in lanes if lane not in LANES]
    if unknown or not lanes:
        parser.error(f"--lanes takes {', '.join(LANES)}. Received: {args.lanes!r}")
    if args.slowest < 1:
        parser.error(f"--slowest must be a positive integer. Received: {args.slowest}")
    results = {lane: run_lane(lane, args.slowest) for lane in lanes}
    text = report(results, args.slowest)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
