import subprocess
import sys

import numpy as np
import pytest

from mmkeras.__main__ import main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "concat" in out and "cross_attention" in out and "av_digits" in out
    assert "devices: backend tensorflow" in out


@pytest.mark.slow
def test_compare_writes_table_and_figures(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["compare", "--fusions", "concat", "--seeds", "0", "--epochs", "1",
                 "--no-robustness", "--no-bucketing", "--train-limit", "300",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| concat |" in printed and "| image only |" in printed
    settings = (out / "settings.json").read_text()
    assert '"bucketing": false' in settings and '"train_limit": 300' in settings
    for name in ("results.csv", "results.md", "accuracy.png", "training_curves.png"):
        assert (out / name).exists(), name


@pytest.mark.slow
def test_train_evaluate_predict_round_trip(tmp_path, capsys):
    from mmkeras import datasets
    from mmkeras.preprocessing.image import write_image

    model = tmp_path / "emoji.keras"
    assert main(["train", "--dataset", "emoji", "--fusion", "gated", "--epochs", "2",
                 "--train-limit", "300", "--out", str(model)]) == 0
    assert model.exists() and not (tmp_path / "emoji.json").exists()  # one file
    printed = capsys.readouterr().out
    assert "2 epochs on 300 samples" in printed and "test accuracy" in printed
    assert main(["evaluate", "--model", str(model)]) == 0  # the file names its dataset
    assert "macro avg" in capsys.readouterr().out
    raw = np.load(datasets.data_dir() / "emoji.npz")
    picture = tmp_path / "grinning.png"
    write_image(picture, raw["image"][0, 0])
    assert main(["predict", "--model", str(model), "--image", str(picture),
                 "--text", "grinning face"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(float(line.split()[-1]) <= 1 for line in lines)


@pytest.mark.slow
def test_predict_audio_from_frames(tmp_path, capsys):
    from mmkeras import datasets

    model = tmp_path / "audio.keras"
    assert main(["train", "--dataset", "av_digits", "--modalities", "audio", "--epochs", "1",
                 "--train-limit", "300", "--out", str(model)]) == 0
    frames = datasets.load("av_digits").test.x["audio"][0]
    np.save(tmp_path / "clip.npy", frames[np.any(frames != 0, -1)])
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--audio", str(tmp_path / "clip.npy"),
                 "--top", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--dataset", "mnist"], "`dataset` must be one of 'av_digits', 'emoji', "
                                            "'spoken_words'. Received: dataset='mnist'"),
        (["compare", "--fusions", "concat,avg"], "`fusion` must be one of"),
        (["compare", "--seeds", "a,b"], "seeds must be integers"),
        (["compare", "--epochs", "0"], "--epochs: must be a positive integer. Received: '0'"),
        (["train", "--fusion", "mix"], "Received: fusion='mix'"),
        (["train", "--out", "model.h5"], "--out must end in .keras"),
        (["predict", "--model", "nope.keras"], "model file not found"),
        (["demo", "--epochs", "0"], "--epochs: must be a positive integer"),
    ],
)
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_unwritable_output_is_reported_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["compare", "--out", str(blocker / "results")]) == 2
    assert "cannot be written" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_names_missing_files_and_predicts_without_absent_inputs(tmp_path, capsys):
    from mmkeras import datasets
    from mmkeras.preprocessing.image import write_image

    model = tmp_path / "m.keras"
    assert main(["train", "--dataset", "av_digits", "--epochs", "1", "--train-limit", "300",
                 "--out", str(model)]) == 0
    assert main(["predict", "--model", str(model), "--image",
                 str(tmp_path / "missing.png")]) == 2
    assert "missing.png" in capsys.readouterr().err
    write_image(tmp_path / "digit.png", datasets.load("av_digits").test.x["image"][0])
    assert main(["predict", "--model", str(model), "--image", str(tmp_path / "digit.png")]) == 0
    assert "predicted without them: audio x1" in capsys.readouterr().out
    assert main(["predict", "--model", str(model), "--image", str(tmp_path / "missing.png"),
                 "--audio", str(tmp_path / "missing.npy")]) == 2
    err = capsys.readouterr().err
    assert "missing.npy" in err or "missing.png" in err


@pytest.mark.slow
def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "mmkeras", "nope"], capture_output=True,
                            text=True)
    assert result.returncode == 2 and "invalid choice: 'nope'" in result.stderr


@pytest.mark.slow
def test_demo_runs_every_model(small_av_digits, monkeypatch, capsys):
    from mmkeras import datasets

    # What the demo prints, not how well it learns: 300 training samples instead of 2,400.
    small = small_av_digits(300, 100, 100)
    monkeypatch.setattr(datasets, "load", lambda name, **kwargs: small)
    assert main(["demo", "--epochs", "1", "--fusions", "late"]) == 0
    out = capsys.readouterr().out
    lines = [l for l in out.splitlines() if "accuracy" in l.lower()]
    for model in ("image only", "audio only", "late"):
        assert any(model in l for l in lines), out
    assert "concat" not in out


@pytest.mark.slow
def test_compare_train_predict_on_your_own_csv(tmp_path, capsys):
    from user_files import write_user_files

    write_user_files(tmp_path)
    table = str(tmp_path / "table.csv")
    columns = ["--csv", table, "--image", "image", "--text", "text", "--label", "label"]
    # In this process: the two worker processes `--workers auto` starts on a 2-core machine
    # would each import TensorFlow again (test_compare_writes_table_and_figures runs those).
    assert main(["compare", *columns, "--fusions", "concat", "--seeds", "0", "--epochs", "1",
                 "--no-robustness", "--workers", "1", "--out", str(tmp_path / "study")]) == 0
    printed = capsys.readouterr().out
    assert "| concat |" in printed and "MultimodalDataset('table'" in printed
    model = tmp_path / "study" / "models" / "table_concat_seed=0_fold=0.keras"
    assert model.exists()
    assert main(["predict", "--model", str(model), "--csv", table, "--out",
                 str(tmp_path / "p.csv")]) == 0
    predictions = __import__("pandas").read_csv(tmp_path / "p.csv")
    assert len(predictions) == 55 and predictions["prediction"].isin(
        ["Flags", "Smileys & Emotion"]).all()
    assert main(["evaluate", "--model", str(model), "--csv", table]) == 0
    assert "accuracy" in capsys.readouterr().out


# ---- a user's mistakes: one line naming the value or file, exit status != 0, no traceback


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small audio-only model file, and damaged copies of it."""
    import zipfile

    import mmkeras
    from mmkeras import encoders

    folder = tmp_path_factory.mktemp("models")
    model = mmkeras.build_model(
        {"audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(4,))},
        num_classes=10, head_units=())
    good = folder / "tiny.keras"
    model.save(good)
    data = good.read_bytes()
    (folder / "truncated.keras").write_bytes(data[: len(data) // 2])
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(folder / "badjson.keras", "w") as out:
        for name in source.namelist():
            out.writestr(name, b"{not json" if name == "config.json" else source.read(name))
    from mmkeras.models import MultimodalClassifier
    from mmkeras.preprocessing import AudioConverter, Preprocessor

    preprocessor = Preprocessor({"audio": AudioConverter("precomputed", num_features=13)},
                                [str(d) for d in range(10)], dataset="av_digits")
    MultimodalClassifier(model, preprocessor).save(folder / "with_preprocessor.keras")
    (folder / "unclosed.csv").write_text('audio,label\n"clip.npy,1\n')
    (folder / "table.csv").write_text("audio,label\nclip.npy,1\n")
    (folder / "other_columns.csv").write_text("sound,label\nclip.npy,1\n")
    (folder / "notjson.json").write_bytes(b"\x89PNG\r\n not json")
    (folder / "garbage.csv").write_bytes(bytes(range(256)) * 8)
    np.save(folder / "clip.npy", np.zeros((5, 13), "float32"))
    return folder


USER_MISTAKES = {
    "empty fusions": (["compare", "--fusions", ","], "--fusions: expected a comma-separated "
                                                     "list such as a,b. Received: ','"),
    "empty seeds": (["compare", "--seeds", ","], "--seeds: expected a comma-separated list"),
    "negative seed": (["compare", "--seeds", "0,-1"], "integers >= 0 like 0,1,2. Received: '0,-1'"),
    "cv 0": (["compare", "--cv", "0"], "--cv: must be an integer >= 2 (leave --cv out"),
    "cv 1": (["compare", "--cv", "1"], "Received: '1'"),
    "workers 0": (["compare", "--workers", "0"],
                  "--workers: must be 'auto' or a positive integer. Received: '0'"),
    "empty demo fusions": (["demo", "--fusions", " , "], "Received: ' , '"),
    "empty modalities": (["train", "--modalities", ","], "--modalities: expected a"),
    "modality dropout": (["train", "--modality-dropout", "1"], "[0, 1). Received: '1'"),
    "negative patience": (["train", "--patience", "-2"], "Received: '-2'"),
    "top 0": (["predict", "--model", "{dir}/tiny.keras", "--top", "0"],
              "--top: must be a positive integer. Received: '0'"),
    "truncated model": (["predict", "--model", "{dir}/truncated.keras", "--audio",
                         "{dir}/clip.npy"], "truncated.keras"),
    "model with bad JSON": (["evaluate", "--model", "{dir}/badjson.keras", "--dataset",
                             "av_digits"], "cannot read the model file"),
    "JSON file as a model": (["evaluate", "--model", "{dir}/notjson.json"], "notjson.json"),
    "binary CSV": (["evaluate", "--model", "{dir}/with_preprocessor.keras", "--csv",
                    "{dir}/garbage.csv"], "garbage.csv' is not a readable CSV table"),
    "unclosed quote CSV": (["predict", "--model", "{dir}/with_preprocessor.keras", "--csv",
                            "{dir}/unclosed.csv"], "unclosed.csv' is not a readable CSV"),
    "missing CSV": (["predict", "--model", "{dir}/tiny.keras", "--csv", "{dir}/absent.csv"],
                    "--csv file not found: '{dir}/absent.csv'"),
    "CSV without preprocessor": (["evaluate", "--model", "{dir}/tiny.keras", "--csv",
                                  "{dir}/table.csv"], "tiny.keras' has no preprocessor"),
    "CSV with other columns": (["predict", "--model", "{dir}/with_preprocessor.keras", "--csv",
                                "{dir}/other_columns.csv"], "audio from column 'audio'"),
}


def _run_cli(argv, folder, capsys):
    argv = [a.replace("{dir}", str(folder)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(USER_MISTAKES))
def test_a_user_mistake_gets_one_line_and_no_traceback(case, tiny_model, capsys):
    argv, message = USER_MISTAKES[case]
    code, err = _run_cli(argv, tiny_model, capsys)
    assert code not in (0, None)
    lines = [line for line in err.splitlines()
             if line.strip() and "UserWarning" not in line and "saveable" not in line]
    assert len(lines) == 1, err
    assert "error:" in lines[0] and message.replace("{dir}", str(tiny_model)) in lines[0], err
    assert "Traceback" not in err


@pytest.mark.slow
def test_debug_shows_the_traceback(tiny_model, monkeypatch, capsys):
    quiet = subprocess.run([sys.executable, "-m", "mmkeras", "predict", "--model",
                            str(tiny_model / "badjson.keras"), "--audio", "clip.npy"],
                           capture_output=True, text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    assert "badjson.keras" in quiet.stderr

    from mmkeras import datasets

    def corrupt(*args, **kwargs):
        raise ValueError("data/av_digits.npz is damaged")

    monkeypatch.setattr(datasets, "load", corrupt)
    argv = ["evaluate", "--model", str(tiny_model / "tiny.keras"), "--dataset", "av_digits"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error: data/av_digits.npz is damaged (--debug shows the traceback)" in err
    with pytest.raises(ValueError, match="damaged"):
        main(argv + ["--debug"])


@pytest.mark.slow
def test_an_output_folder_of_another_study_is_refused_in_one_line(tmp_path, capsys):
    import json

    out = tmp_path / "study"
    out.mkdir()
    (out / "settings.json").write_text(json.dumps({"epochs": 2}))
    code, err = _run_cli(["compare", "--fusions", "concat", "--seeds", "0", "--epochs", "3",
                          "--out", str(out)], tmp_path, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert "epochs: 2 before, now 3" in lines[0] and "new output folder" in lines[0]
    assert sorted(p.name for p in out.iterdir()) == ["settings.json"]  # nothing trained


def test_compare_refuses_a_bad_tuning_budget_before_training(tmp_path, capsys):
    code, err = _run_cli(["compare", "--tune", "0", "--out", str(tmp_path / "results")],
                         tmp_path, capsys)
    assert code == 2 and "--tune: must be a positive integer" in err
    assert not (tmp_path / "results" / "results.csv").exists()


@pytest.mark.slow
def test_ctrl_c_during_compare_says_in_one_line_how_to_resume(tmp_path):
    """SIGINT (Ctrl-C) after the first run: one line naming the folder, then the same
    command finishes the study without training the first run again."""
    import signal
    import time
    from pathlib import Path

    out = tmp_path / "study"
    command = [sys.executable, "-m", "mmkeras", "compare", "--fusions", "concat", "--seeds",
               "0", "--epochs", "1", "--no-robustness", "--no-models", "--workers", "1",
               "--train-limit", "300", "--out", str(out)]
    def as_in_a_terminal():
        # A shell that started this suite in the background leaves SIGINT ignored, and a
        # process inherits that and its parent thread's blocked signals: give the study the
        # Ctrl-C of a terminal.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path, preexec_fn=as_in_a_terminal)
    runs = out / "runs.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (runs.exists() and runs.read_text().count("\n")):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    # Twice in about twenty runs on 2026-12-07 the study finished as if never interrupted (exit
    # 0, no message), cause not found; a study now stops after the run in flight if a Ctrl-C
    # was lost on the way (tests/test_interrupts.py). If this fails again: what the child did
    # with signals (Linux) and how far it was.
    try:
        status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
    except OSError:  # not Linux, or the child has ended
        status = []
    masks = [line for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
    sent_after = runs.read_text().count("\n")
    printed, err = process.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip()]
    assert process.returncode == 130, (
        f"SIGINT sent after {sent_after} runs, child's signals {masks}: {err}{printed[-1500:]}")
    assert lines == [f"python -m mmkeras: interrupted; the finished runs are kept in {out}/, "
                     "and the same command resumes the study"]
    done = runs.read_text().count("\n")
    resumed = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert resumed.stdout.count("already done, skipped") == done
    assert "| concat |" in resumed.stdout
