"""`kept_interrupts`: a Ctrl-C during a study stops it, even where a library lost it.

Python turns Ctrl-C (SIGINT) into a `KeyboardInterrupt` raised wherever the
main thread is. Code on the way can lose it: a bare `except:` (Keras' shape
helpers have some, run while a model is traced) catches it, and C code that
checks for signals can mishandle the error (a Ctrl-C during tracing has come
out of TensorFlow as a `SystemError` instead). The command-line test of
Ctrl-C saw a study run on to its end, as if never interrupted, twice in
about twenty runs. So the study notes every Ctrl-C as it arrives and, after
each finished run, stops if one was noted: at the latest, a study stops once
the run in flight is recorded, and resumes from there. An error raised after
a Ctrl-C stops it as the Ctrl-C it was.
"""

import contextlib
import signal
import threading


@contextlib.contextmanager
def kept_interrupts():
    """Within the block, a Ctrl-C raises `KeyboardInterrupt` as usual and is also noted;
    yields a function that raises `KeyboardInterrupt` if one was noted. An error that leaves
    the block after a Ctrl-C leaves it as a `KeyboardInterrupt` (raised from that error).

    Only where Python's own handler is in place (the main thread, a terminal's or a
    notebook kernel's Ctrl-C): a handler of the caller's is left alone, and so is a
    thread that cannot receive signals.

    Example:

    >>> with kept_interrupts() as stop_if_interrupted:
    ...     stop_if_interrupted()  # no Ctrl-C so far: nothing happens
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: None
        return
    interrupted = False

    def note_and_raise(signum, frame):
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    def stop_if_interrupted():
        if interrupted:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note_and_raise)
    try:
        yield stop_if_interrupted
    except Exception as error:
        if interrupted:  # the Ctrl-C came out as another error (the SystemError above)
            raise KeyboardInterrupt from error
        raise
    finally:
        # A handler installed inside the block (a library's) is left in place.
        if signal.getsignal(signal.SIGINT) is note_and_raise:
            signal.signal(signal.SIGINT, signal.default_int_handler)
