"""TensorFlow's start-up log lines stay out of the terminal unless asked for."""

import pytest
import os
import subprocess
import sys

NOISE = ("I0000", "cudart_stub", "absl::InitializeLog", "oneDNN custom operations")


def _run(*argv, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("TF_CPP_MIN_LOG_LEVEL", "MMKERAS_TF_LOGS")}
    clean.update(env)
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=clean,
                          timeout=300)


@pytest.mark.slow
def test_import_and_cli_print_no_tensorflow_log_lines():
    result = _run("-m", "mmkeras", "info")  # imports mmkeras, then TensorFlow's devices
    assert result.returncode == 0, result.stderr
    assert not [n for n in NOISE if n in result.stderr], result.stderr


@pytest.mark.slow
def test_an_import_error_is_still_shown():
    result = _run("-c", "import mmkeras, mmkeras.nope")
    assert result.returncode == 1 and "No module named 'mmkeras.nope'" in result.stderr


def test_asking_for_the_log_lines(monkeypatch):
    from mmkeras.utils import tf_logging

    monkeypatch.delenv("MMKERAS_TF_LOGS", raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setattr(sys, "argv", ["mmkeras", "info"])
    assert not tf_logging.wanted()
    monkeypatch.setattr(sys, "argv", ["mmkeras", "--tf-logs", "info"])
    assert tf_logging.wanted()
    monkeypatch.setattr(sys, "argv", ["mmkeras", "info"])
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert tf_logging.wanted()
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MMKERAS_TF_LOGS", "1")
    assert tf_logging.wanted()
