"""How long the test suite takes: the fast lane and the full suite, as README.md runs them.

Run it on an otherwise idle machine (about 20 min on a 2-core CPU):
`python benchmarks/test_suite.py --out benchmarks/results/test_suite.md`

Each lane is README.md's command in its own process, timed as a whole (collection, the two
pytest-xdist workers, every test and docstring example): `python -m pytest -m "not slow"` (the
fast lane) and `python -m pytest` (the full suite, which CI runs). Reported: the commit
measured, the wall time, pytest's summary line, the slowest tests of each lane (pytest's
`--durations`, the time of each test in its worker: with two workers, the wall time is about
half their sum), the test files that took most, and CPU time two ways: that of the processes
the lane waited for (pytest, its workers, the kernels and subprocesses they ended), and, on
Linux, all the machine's cores were busy with during the lane (`/proc/stat`), which also
counts the processes the lane started but did not wait for: a Ray cluster's workers, whose
parent (Ray's raylet) ends first. The larger over the machine's cores is the least wall time
the lane could take on it, however its tests are spread over workers; for the rest of the wall
time cores were idle (seen in the Ray tests: their process waits while a cluster's processes
start). A fixed Python workload timed before and after each lane gives the machine's speed
at the time, which varied by half from hour to hour on the same 2-core machine. `--lanes fast`
times one lane.
"""

import argparse
import datetime
import os
import re
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

from _machine import machine_details, reference_seconds, source_revision  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANES = {"fast": ["-m", "not slow"], "full": []}
SUMMARY = re.compile(r"^=+ (.*\d+ passed.*) =+$", re.MULTILINE)
DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S+)$", re.MULTILINE)


def children_cpu_seconds():
    """User + system CPU seconds of this process' ended, waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds(stat="/proc/stat"):
    """CPU seconds all the machine's cores have been busy since it started, from the first
    line of `/proc/stat` (user, nice, system, irq and softirq; not idle, iowait or the time a
    hypervisor gave to other machines); `None` where there is no such file (not Linux)."""
    try:
        with open(stat) as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run_lane(lane):
    """One lane: `{"seconds", "cpu_seconds", "busy_seconds", "summary", "durations":
    [(s, phase, test)], "reference_seconds": (before, after)}` (`busy_seconds`: the machine's,
    `None` where it cannot be read; `reference_seconds`: `_machine.reference_seconds()` just
    before and just after the lane, the machine's speed at the time)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *LANES[lane],
               "--durations=0"]
    reference = reference_seconds()
    cpu = children_cpu_seconds()
    busy = machine_busy_seconds()
    start = time.perf_counter()
    # A failing lane is reported with its output below, not raised.
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    cpu = children_cpu_seconds() - cpu
    busy = None if busy is None else machine_busy_seconds() - busy
    reference = (reference, reference_seconds())
    output = result.stdout + result.stderr
    summary = SUMMARY.findall(output)
    if result.returncode != 0 or not summary:
        # pytest's ERRORS (a fixture's) or FAILURES section says why; the durations after it
        # would hide it.
        found = [i for i in (output.find(" ERRORS "), output.find(" FAILURES ")) if i >= 0]
        shown = output[min(found):min(found) + 8000] if found else output[-3000:]
        sys.exit(f"{lane} lane failed (exit {result.returncode}):\n{shown}")
    print(f"{lane}: {seconds:.0f} s, {cpu:.0f} CPU-s waited for, machine busy "
          f"{'unknown' if busy is None else f'{busy:.0f} CPU-s'}, {summary[-1]}", flush=True)
    durations = [(float(s), phase, test) for s, phase, test in DURATION.findall(output)]
    return {"seconds": seconds, "cpu_seconds": cpu, "busy_seconds": busy,
            "summary": summary[-1], "durations": sorted(durations, reverse=True),
            "reference_seconds": reference}


def by_file(durations):
    """`[(seconds, file)]`, each test file's summed test time (all phases), largest first."""
    totals = {}
    for seconds, _, test in durations:
        name = test.split("::")[0]
        totals[name] = totals.get(name, 0.0) + seconds
    return sorted(((s, name) for name, s in totals.items()), reverse=True)


def minutes(seconds):
    whole = round(seconds)  # rounded first: 119.6 s is "2 min 0 s", not "1 min 60 s"
    return f"{whole // 60} min {whole % 60} s"


def reference_cell(reference):
    """`(before, after)` seconds of the reference workload as a table cell."""
    return "not measured" if reference is None else "{:.2f} s / {:.2f} s".format(*reference)


def report(results, slowest, revision="unknown"):
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    cores = os.cpu_count()
    lines = [f"# The test suite's time ({day})", "",
             f"Machine: {machine_details()}.", "", f"Measured: {revision}.", "",
             (f"Command: `python benchmarks/test_suite.py --lanes {','.join(results)}` "
              "(each lane README.md's command in its own process, on the otherwise idle "
              "machine, two pytest-xdist workers)."), "",
             ("The reference workload (`reference_seconds` in `benchmarks/_machine.py`: a fixed "
              "single-threaded Python loop, the median of three, timed just before and just "
              "after each lane) says how fast the machine ran then: compare two reports' "
              "times where it is about the same."), "",
             ("| lane | command | wall time | pytest's summary | CPU time of the processes "
              f"waited for | the machine's busy CPU time | its least wall time on {cores} "
              "cores | the reference workload before / after |"),
             "|---|---|---|---|---|---|---|---|"]
    for lane, run in results.items():
        command = " ".join(["python -m pytest", *(f'"{a}"' if " " in a else a
                                                  for a in LANES[lane])])
        cpu, busy = run["cpu_seconds"], run.get("busy_seconds")
        used = (f"{busy:.0f} s ({busy / run['seconds']:.0%} of one core)" if busy is not None
                else "unknown")
        lines.append(f"| {lane} | `{command}` | {minutes(run['seconds'])} ({run['seconds']:.0f} "
                     f"s) | {run['summary']} | {cpu:.0f} s ({cpu / run['seconds']:.0%} of one "
                     f"core) | {used} | {minutes(max(cpu, busy or 0) / cores)} | "
                     f"{reference_cell(run.get('reference_seconds'))} |")
    for lane, run in results.items():
        lines += ["", f"## The {slowest} slowest of the {lane} lane", "",
                  "| seconds | phase | test |", "|---|---|---|"]
        lines += [f"| {s:.1f} | {phase} | `{test}` |"
                  for s, phase, test in run["durations"][:slowest]]
        files = by_file(run["durations"])
        total = sum(s for s, _ in files)
        lines += ["", f"## The {lane} lane's test files that took most", "",
                  f"Summed over the workers: {total:.0f} s of tests in {len(files)} files.", "",
                  "| seconds | share | file |", "|---|---|---|"]
        lines += [f"| {s:.0f} | {s / total:.0%} | `{name}` |" for s, name in files[:slowest]]
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
    revision = source_revision(ROOT)  # before the lanes, which take minutes
    results = {lane: run_lane(lane) for lane in lanes}
    text = report(results, args.slowest, revision)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print(f"wrote {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
