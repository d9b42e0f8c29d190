"""benchmarks/test_suite.py's report: times, the CPU-time floor and the files that took most
(the lanes themselves run only when the benchmark is run)."""

import os
import subprocess

import pytest


@pytest.fixture
def suite_benchmark(repository_script):
    return repository_script("benchmarks/test_suite.py")


def test_minutes_round_before_splitting(suite_benchmark):
    minutes = suite_benchmark.minutes
    assert minutes(119.6) == "2 min 0 s" and minutes(1225) == "20 min 25 s"


def test_each_files_time_is_summed_over_its_tests_and_phases(suite_benchmark):
    durations = [(3.0, "call", "tests/test_a.py::test_x"), (1.0, "setup", "tests/test_b.py::t"),
                 (2.5, "teardown", "tests/test_a.py::test_x"),
                 (0.5, "call", "tests/test_a.py::test_y[1]")]
    assert suite_benchmark.by_file(durations) == [(6.0, "tests/test_a.py"),
                                                  (1.0, "tests/test_b.py")]


def test_report_gives_the_least_wall_time_the_cpu_time_allows(suite_benchmark):
    run = {"seconds": 600.0, "cpu_seconds": 960.0, "busy_seconds": 1080.0,
           "summary": "9 passed in 599.00s", "reference_seconds": (0.8312, 1.104),
           "durations": [(300.0, "call", "tests/test_a.py::test_x"),
                         (100.0, "call", "tests/test_b.py::test_y")]}
    text = suite_benchmark.report({"full": run}, slowest=1, revision="commit abc1234")
    assert "Measured: commit abc1234." in text
    cores = os.cpu_count()
    assert "| full | `python -m pytest` | 10 min 0 s (600 s) | 9 passed in 599.00s |" in text
    # The floor comes from the larger: the machine's busy time counts the processes not
    # waited for.
    assert (f"960 s (160% of one core) | 1080 s (180% of one core) | "
            f"{suite_benchmark.minutes(1080 / cores)} | 0.83 s / 1.10 s |") in text
    unknown = suite_benchmark.report({"full": {**run, "busy_seconds": None}}, slowest=1)
    assert f"| unknown | {suite_benchmark.minutes(960 / cores)} |" in unknown
    unmeasured = suite_benchmark.report({"full": {**run, "reference_seconds": None}}, slowest=1)
    assert "| not measured |" in unmeasured
    assert "| 300.0 | call | `tests/test_a.py::test_x` |" in text
    assert "test_y" not in text  # only the slowest one was asked for
    assert "| 300 | 75% | `tests/test_a.py` |" in text


def test_the_machines_busy_time_is_read_from_proc_stat(suite_benchmark, tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice, in clock ticks
    stat.write_text("cpu  1000 50 200 9000 300 10 40 700 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    ticks = os.sysconf("SC_CLK_TCK")
    assert suite_benchmark.machine_busy_seconds(str(stat)) == pytest.approx(1300 / ticks)
    assert suite_benchmark.machine_busy_seconds(str(tmp_path / "absent")) is None


def test_the_report_names_the_commit_measured(suite_benchmark, tmp_path, monkeypatch):
    # git looks no higher than tmp_path, even where the temporary folder lies in a checkout.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    revision = suite_benchmark.source_revision
    assert revision(str(tmp_path)) == "not a git checkout"
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    assert revision(str(tmp_path)) == f"commit {commit}"
    (tmp_path / "a.txt").write_text("2")
    assert revision(str(tmp_path)) == f"commit {commit}, with uncommitted changes"


@pytest.mark.parametrize("section", ["ERRORS", "FAILURES"])
def test_a_failed_lane_shows_why(suite_benchmark, monkeypatch, section):
    """A fixture's error or a test's failure is shown, not the durations printed after it."""
    output = (f"....E\n===== {section} =====\n___ test_x ___\nAssertionError: the reason\n"
              + "0.01s call     tests/test_a.py::test_y\n" * 2000
              + "===== 1 passed, 1 error in 9.00s =====\n")
    done = subprocess.CompletedProcess([], 1, stdout=output, stderr="")
    monkeypatch.setattr(suite_benchmark.subprocess, "run", lambda *args, **kwargs: done)
    # The real reference workload runs for seconds.
    monkeypatch.setattr(suite_benchmark, "reference_seconds", lambda: 1.0)
    with pytest.raises(SystemExit) as stop:
        suite_benchmark.run_lane("fast")
    assert "fast lane failed (exit 1)" in str(stop.value)
    assert "AssertionError: the reason" in str(stop.value)


def test_the_reference_workload_is_timed(repository_script):
    machine = repository_script("benchmarks/_machine.py")
    small, larger = machine.reference_seconds(size=10_000), machine.reference_seconds(size=400_000)
    assert 0 < small < larger
