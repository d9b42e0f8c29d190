import subprocess
import sys

import pytest

from mmkeras.__main__ import main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "concat" in out and "late" in out and "image_cnn" in out


def test_demo_runs_and_fusion_beats_each_half(capsys):
    from mmkeras.demo import run_demo

    rows = run_demo(epochs=6, fusions=("concat",), verbose=False)
    accuracy = {row["model"]: row["test_accuracy"] for row in rows}
    assert set(accuracy) == {"left only", "right only", "concat fusion"}
    assert all(0.5 < a <= 1 for a in accuracy.values())
    assert accuracy["concat fusion"] > max(accuracy["left only"], accuracy["right only"])


def test_bad_arguments_exit_with_a_message():
    with pytest.raises(SystemExit):
        main(["demo", "--epochs", "0"])
    result = subprocess.run([sys.executable, "-m", "mmkeras", "nope"], capture_output=True,
                            text=True)
    assert result.returncode != 0 and "invalid choice: 'nope'" in result.stderr
