"""Every constructor and loader rejects a bad argument up front, echoing the value received."""

import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, encoders, fusion
from mmkeras.datasets import tfds_loaders
from mmkeras.models.head import classification_head
from mmkeras.utils import validation


def _encoders():
    return {"image": encoders.image_cnn(input_shape=(8, 8, 1), filters=(4,), embedding_dim=4)}


NAN = float("nan")

# (call, the argument and value the message must echo)
CASES = {
    # encoders
    "image_conv_flatten filters": (lambda: encoders.image_conv_flatten(filters=0), "filters=0"),
    "image_conv_flatten kernel": (lambda: encoders.image_conv_flatten(kernel_size=-3),
                                  "kernel_size=-3"),
    "image_conv_flatten pool": (lambda: encoders.image_conv_flatten(pool_size=0), "pool_size=0"),
    "image_cnn filters": (lambda: encoders.image_cnn(filters=(32, 0)), r"filters=\(32, 0\)"),
    "image_cnn no blocks": (lambda: encoders.image_cnn(filters=()), r"filters=\(\)"),
    "image_cnn filters str": (lambda: encoders.image_cnn(filters="32"), "filters='32'"),
    "image_cnn embedding": (lambda: encoders.image_cnn(embedding_dim=-1), "embedding_dim=-1"),
    "image_cnn dropout": (lambda: encoders.image_cnn(dropout=1.0), "dropout=1.0"),
    "image_cnn dropout nan": (lambda: encoders.image_cnn(dropout=NAN), "dropout=nan"),
    "image_cnn shape": (lambda: encoders.image_cnn(input_shape=(28, 0, 1)),
                        r"input_shape=\(28, 0, 1\)"),
    "image_flatten_dense embedding": (lambda: encoders.image_flatten_dense(embedding_dim=0),
                                      "embedding_dim=0"),
    "image_backbone trainable": (lambda: encoders.image_backbone(trainable="no"),
                                 "trainable='no'"),
    "image_backbone embedding": (lambda: encoders.image_backbone(embedding_dim=2.5),
                                 "embedding_dim=2.5"),
    "sequence_lstm units": (lambda: encoders.sequence_lstm(units=0), "units=0"),
    "sequence_lstm units bool": (lambda: encoders.sequence_lstm(units=True), "units=True"),
    "sequence_lstm name": (lambda: encoders.sequence_lstm(name=""), "name=''"),
    "sequence_conv1d filters": (lambda: encoders.sequence_conv1d(filters=(8, -8)),
                                r"filters=\(8, -8\)"),
    "sequence_conv1d kernel": (lambda: encoders.sequence_conv1d(kernel_size=0), "kernel_size=0"),
    "text_lstm vocab": (lambda: encoders.text_lstm(vocab_size=0), "vocab_size=0"),
    "text_lstm units": (lambda: encoders.text_lstm(units=-4), "units=-4"),
    "text_lstm embedding": (lambda: encoders.text_lstm(embedding_dim=None), "embedding_dim=None"),
    "text_bigru length": (lambda: encoders.text_bigru(sequence_length=0), "sequence_length=0"),
    "text_bigru units": (lambda: encoders.text_bigru(units=1.5), "units=1.5"),
    "text_conv1d filters": (lambda: encoders.text_conv1d(filters=0), "filters=0"),
    "text_conv1d kernel": (lambda: encoders.text_conv1d(kernel_size=0), "kernel_size=0"),
    "text_transformer heads": (lambda: encoders.text_transformer(num_heads=0), "num_heads=0"),
    "text_transformer layers": (lambda: encoders.text_transformer(num_layers=0), "num_layers=0"),
    "text_transformer ff": (lambda: encoders.text_transformer(ff_dim=-1), "ff_dim=-1"),
    "text_transformer dropout": (lambda: encoders.text_transformer(dropout=-0.1),
                                 "dropout=-0.1"),
    "video_cnn_lstm units": (lambda: encoders.video_cnn_lstm(units=0), "units=0"),
    "video_cnn_lstm filters": (lambda: encoders.video_cnn_lstm(filters=()), r"filters=\(\)"),
    # head
    "head classes": (lambda: classification_head(1), "num_classes=1"),
    "head units": (lambda: classification_head(3, units=(0,)), r"units=\(0,\)"),
    "head dropout": (lambda: classification_head(3, dropout=2.0), "dropout=2.0"),
    "head activation": (lambda: classification_head(3, activation="wiggle"),
                        "activation='wiggle'"),
    "head binary": (lambda: classification_head(2, binary="yes"), "binary='yes'"),
    # build_model (its non-fusion arguments)
    "build_model classes": (lambda: mmkeras.build_model(_encoders(), num_classes=0),
                            "num_classes=0"),
    "build_model classes float": (lambda: mmkeras.build_model(_encoders(), num_classes=3.0),
                                  "num_classes=3.0"),
    "build_model head_units": (lambda: mmkeras.build_model(_encoders(), head_units=(16, 0)),
                               r"head_units=\(16, 0\)"),
    "build_model dropout": (lambda: mmkeras.build_model(_encoders(), dropout=1.0),
                            "dropout=1.0"),
    "build_model modality_dropout": (
        lambda: mmkeras.build_model(_encoders(), modality_dropout=-0.5), "modality_dropout=-0.5"),
    "build_model learning_rate": (lambda: mmkeras.build_model(_encoders(), learning_rate=0),
                                  "learning_rate=0"),
    "build_model steps_per_execution": (
        lambda: mmkeras.build_model(_encoders(), steps_per_execution=0),
        "steps_per_execution=0"),
    "build_model learning_rate nan": (
        lambda: mmkeras.build_model(_encoders(), learning_rate=NAN), "learning_rate=nan"),
    # loaders (checked before any file is read or any network is tried)
    "av_digits energy": (lambda: datasets.load("av_digits", image_energy_removed=1.0),
                         "image_energy_removed=1.0"),
    "av_digits energy nan": (lambda: datasets.load("av_digits", image_energy_removed=NAN),
                             "image_energy_removed=nan"),
    "av_digits noise": (lambda: datasets.load("av_digits", audio_noise=-1),
                        "audio_noise=-1"),
    "av_digits noise str": (lambda: datasets.load("av_digits", audio_noise="loud"),
                            "audio_noise='loud'"),
    "av_digits seed": (lambda: datasets.load("av_digits", seed=-1), "seed=-1"),
    "emoji length": (lambda: datasets.load("emoji", sequence_length=0), "sequence_length=0"),
    "emoji image size": (lambda: datasets.load("emoji", image_size=-32), "image_size=-32"),
    "emoji frames": (lambda: datasets.load("emoji", speech=True, max_frames=0), "max_frames=0"),
    "emoji speech": (lambda: datasets.load("emoji", speech="yes"), "speech='yes'"),
    "emoji label": (lambda: datasets.load("emoji", label="colour"), "label='colour'"),
    "spoken_words features": (lambda: datasets.load("spoken_words", features="mel"),
                              "features='mel'"),
    "spoken_words normalize": (lambda: datasets.load("spoken_words", normalize="no"),
                               "normalize='no'"),
    "tfds name": (lambda: tfds_loaders.load_tfds("", "train"), "name=''"),
    "tfds download": (lambda: tfds_loaders.load_tfds("mnist", "train", download="no"),
                      "download='no'"),
    "tfds_av_mnist frames": (lambda: tfds_loaders.load_tfds_av_mnist(max_frames=0),
                             "max_frames=0"),
    "tfds_av_mnist seed": (lambda: tfds_loaders.load_tfds_av_mnist(seed=-2), "seed=-2"),
    "tfds_imdb length": (lambda: tfds_loaders.load_tfds_imdb(sequence_length=0),
                         "sequence_length=0"),
    "tfds_imdb tokens": (lambda: tfds_loaders.load_tfds_imdb(max_tokens=2), "max_tokens=2"),
    "tfds_imdb fraction": (lambda: tfds_loaders.load_tfds_imdb(validation_fraction=1.5),
                           "validation_fraction=1.5"),
}

# Every registered fusion with one bad argument (their checks live in mmkeras.fusion).
for _name, (_cls, _defaults) in sorted(fusion.FUSIONS.items()):
    _bad = {"combine": "median"} if _cls.__name__ == "LateFusion" else {"units": 0}
    _key, _value = next(iter(_bad.items()))
    CASES[f"fusion {_name}"] = (
        lambda cls=_cls, defaults=_defaults, bad=_bad: cls(**{**defaults, **bad}),
        f"{_key}={_value!r}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_argument_is_named_with_the_value_received(case):
    call, echoed = CASES[case]
    with pytest.raises(ValueError, match="Received: .*" + echoed):
        call()


def test_numpy_integers_are_integers():
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(np.int64(8), 8, 1), filters=np.array([4]),
                                     embedding_dim=np.int32(4)),
         "text": encoders.text_transformer(sequence_length=np.int64(6), vocab_size=np.int64(20),
                                           embedding_dim=np.int64(8), num_heads=np.int16(2),
                                           ff_dim=np.int64(8), num_layers=np.int8(1))},
        num_classes=np.int64(3), head_units=(np.int64(8),))
    assert model.output.shape == (None, 3)
    assert encoders.sequence_conv1d(filters=np.int64(4), kernel_size=np.int64(3)).output.shape \
        == (None, 4)
    assert encoders.video_cnn_lstm(input_shape=(2, 8, 8, 3), filters=np.int64(4),
                                   units=np.int64(3)).output.shape == (None, 3)
    assert validation.check_positive_int("units", np.uint8(3)) == 3
    with pytest.raises(ValueError, match="Received: units=True"):
        validation.check_positive_int("units", True)
