import subprocess
import sys

import pytest

from mmkeras.__main__ import main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "concat" in out and "late" in out and "image_cnn" in out and "av_digits" in out


def test_demo_runs_every_model(capsys):
    from mmkeras.demo import run_demo

    rows = run_demo(epochs=1, fusions=("early", "late"), verbose=True)
    assert [r["model"] for r in rows] == ["image only", "audio only", "early fusion", "late fusion"]
    assert all(0.0 <= r["test_accuracy"] <= 1 and r["parameters"] > 0 for r in rows)
    assert "audio only" in capsys.readouterr().out


def test_bad_arguments_exit_with_a_message():
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "0"])
    result = subprocess.run([sys.executable, "-m", "mmkeras", "nope"], capture_output=True,
                            text=True)
    assert result.returncode != 0 and "invalid choice: 'nope'" in result.stderr
