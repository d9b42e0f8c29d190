"""A Ctrl-C during a study stops it after the run in flight, even where it was swallowed."""

import os
import signal
import threading
import time

import pytest

from mmkeras import experiments
from mmkeras.experiments.interrupts import kept_interrupts


@pytest.fixture(autouse=True)
def ctrl_c_as_in_a_terminal():
    """Python's own Ctrl-C handler, as a process started from a terminal has it: one started
    in the background by a shell (a CI script's `&`) finds SIGINT ignored and keeps it so."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_is_raised_as_usual_and_noted():
    with kept_interrupts() as stop_if_interrupted:
        stop_if_interrupted()  # none yet
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the interrupt arrives here
        with pytest.raises(KeyboardInterrupt):
            stop_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_error_after_a_ctrl_c_leaves_as_the_ctrl_c_and_without_one_as_itself():
    with pytest.raises(KeyboardInterrupt) as raised:
        with kept_interrupts():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except:  # noqa: E722 — C code that mishandles the interrupt, as TensorFlow's did
                raise SystemError("Objects/listobject.c:338: bad argument to internal function")
    assert isinstance(raised.value.__cause__, SystemError)
    with pytest.raises(SystemError):
        with kept_interrupts():
            raise SystemError("a bug, no Ctrl-C")


def test_a_handler_of_the_caller_or_another_thread_is_left_alone():
    def own(signum, frame):
        pass

    previous = signal.signal(signal.SIGINT, own)
    try:
        with kept_interrupts() as stop_if_interrupted:
            assert signal.getsignal(signal.SIGINT) is own
            stop_if_interrupted()
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)
    seen = []

    def in_a_thread():
        with kept_interrupts() as stop_if_interrupted:  # signal.signal would raise here
            seen.append(signal.getsignal(signal.SIGINT))
            stop_if_interrupted()

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_a_swallowed_ctrl_c_stops_the_study_once_the_run_in_flight_is_recorded(
        small_av_digits, tmp_path):
    """Ctrl-C during the first of two runs, caught by a bare `except` (as inside Keras):
    the first run is kept and the second is never started."""
    started = []

    def swallowing_executor(function, shared, tasks):
        for task in tasks:
            started.append(task[0].label)
            result = function(*shared, *task)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except:  # noqa: E722 — a library's bare except
                pass
            yield result

    out = tmp_path / "study"
    with pytest.raises(KeyboardInterrupt):
        experiments.compare(small_av_digits(60, 20, 20), fusions=[], seeds=[0], epochs=1,
                            out=str(out), executor=swallowing_executor, robustness=False,
                            figures=False, save_models=False, verbose=0)
    assert started == ["image only"]
    assert list(experiments.ResultStore(str(out)).results()["model"]) == ["image only"]
