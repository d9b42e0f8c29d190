"""check_inputs: every wrong input is named with the value received, where data enters."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmkeras
from mmkeras import encoders, evaluation, training
from mmkeras.datasets import Split
from mmkeras.utils.input_check import check_inputs, check_labels, embedding_input_dim

RNG = np.random.default_rng(0)
VOCAB = 50


@pytest.fixture(scope="module")
def model():
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(12, 12, 1), filters=(4,), embedding_dim=8),
         "text": encoders.text_bigru(sequence_length=10, vocab_size=VOCAB, embedding_dim=8,
                                     units=4)},
        num_classes=3, head_units=(8,))


@pytest.fixture(scope="module")
def binary_model():
    return mmkeras.build_model(
        {"audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(4,))},
        num_classes=2, binary=True, head_units=())


def _x(n=6):
    text = RNG.integers(1, VOCAB, (n, 10)).astype("int32")
    text[:, 6:] = 0
    return {"image": RNG.random((n, 12, 12, 1)).astype("float32"), "text": text}


def _y(n=6):
    return np.arange(n) % 3


def test_good_inputs_pass_in_every_form(model):
    x, y = _x(), _y()
    check_inputs(model, x)
    check_inputs(model, x, y)
    check_inputs(model, Split(x, y))
    check_inputs(model, {**x, "image": (x["image"] * 255).astype("uint8")})  # ints into floats
    check_inputs(model, x, y.astype("float32"))  # whole-number floats are ids
    check_inputs(model, x, y[:, None])
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    check_inputs(model, dataset)
    check_inputs(model, tf.data.Dataset.from_tensor_slices(x).batch(4))


def test_the_vocabulary_is_found_through_the_encoder(model):
    assert embedding_input_dim(model, "text") == VOCAB
    assert embedding_input_dim(model, "image") is None


# Each case: (how the good data is changed, pattern naming the input and the value).
BAD_INPUTS = {
    "extra key": (lambda x: {**x, "audio": x["image"]}, r"unexpected: \['audio'\]"),
    "misnamed key": (lambda x: {"img": x["image"], "text": x["text"]},
                     r"missing: \['image'\], unexpected: \['img'\]"),
    "float token ids": (lambda x: {**x, "text": x["text"] + 0.5},
                        r"Input 'text' takes integer token ids.*Received: dtype=float64"),
    "strings": (lambda x: {**x, "image": x["image"].astype(str)},
                r"Input 'image' must hold numbers.*Received: dtype=str"),
    "id past the vocabulary": (lambda x: {**x, "text": np.where(x["text"] == x["text"][2, 1],
                                                                VOCAB + 7, x["text"])},
                               rf"'text' holds token ids outside the vocabulary \[0, {VOCAB}\).*"
                               rf"Received: text\[2, 1\]={VOCAB + 7}"),
    "negative id": (lambda x: {**x, "text": np.negative(x["text"])},
                    r"'text' holds token ids outside .*Received: text\[0, 0\]=-"),
    "NaN": (lambda x: {**x, "image": np.where(np.arange(6)[:, None, None, None] == 4, np.nan,
                                               x["image"]).astype("float32")},
            r"Input 'image' holds 144 NaN or infinite value\(s\), first at sample 4. "
            r"Received: image\[4, 0, 0, 0\]=.*nan"),
    "infinity": (lambda x: {**x, "image": np.full_like(x["image"], np.inf)},
                 r"Input 'image' holds .* NaN or infinite.*Received: image\[0, 0, 0, 0\]=.*inf"),
    "empty": (lambda x: {k: v[:0] for k, v in x.items()},
              r"Input 'image' is empty. Received: shape=\(0, 12, 12, 1\)"),
    "wrong rank": (lambda x: {**x, "image": x["image"][..., 0]},
                   r"Input 'image' must have rank 4.*Received: shape=\(6, 12, 12\)"),
    "wrong width": (lambda x: {**x, "text": x["text"][:, :8]},
                    r"Input 'text' must have shape \(None, 10\).*Received: shape=\(6, 8\)"),
    "sample counts": (lambda x: {**x, "text": x["text"][:4]},
                      r"same number of samples. Received: image=6, text=4"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_inputs_are_named(model, case):
    change, pattern = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=pattern):
        check_inputs(model, change(_x()))


def test_a_list_is_refused(model):
    x = _x()
    with pytest.raises(TypeError, match="Received: list"):
        check_inputs(model, [x["image"], x["text"]])


BAD_LABELS = {
    "out of range": (lambda y: np.where(y == 2, 5, y),
                     r"has 3 classes: labels must be in \[0, 3\). Received: y\[2\]=5"),
    "negative": (lambda y: y - 1, r"labels must be in \[0, 3\). Received: y\[0\]=-1"),
    "one-hot": (lambda y: np.eye(3)[y], r"look one-hot \(shape \(6, 3\)\).*Received: y.shape"),
    "fractional": (lambda y: y + 0.25, r"integer class ids. Received: y\[0\]=0.25"),
    "NaN": (lambda y: np.where(y == 1, np.nan, y), r"NaN or infinite.*Received: y\[1\]=nan"),
    "count": (lambda y: y[:5], "Received: 5 labels for 6 samples"),
    "strings": (lambda y: y.astype(str), r"integer class ids. Received: dtype=str"),
}


@pytest.mark.parametrize("case", sorted(BAD_LABELS))
def test_bad_labels_are_named(model, case):
    change, pattern = BAD_LABELS[case]
    with pytest.raises(ValueError, match=pattern):
        check_inputs(model, _x(), change(_y()))


def test_three_classes_for_a_binary_model(binary_model):
    x = {"audio": RNG.normal(size=(6, 5, 13)).astype("float32")}
    check_inputs(binary_model, x, np.array([0, 1, 0, 1, 1, 0]))
    with pytest.raises(ValueError, match=r"binary \(one sigmoid unit\): labels must be 0 or 1. "
                                         r"Received: y\[2\]=2 \(labels seen: \[0, 1, 2\]\)"):
        check_inputs(binary_model, x, _y())


def test_one_hot_labels_pass_for_a_categorical_model(model):
    categorical = keras.models.clone_model(model)
    categorical.compile("adam", "categorical_crossentropy")
    check_labels(categorical, np.eye(3)[_y()])
    with pytest.raises(ValueError, match="one-hot"):
        check_labels(model, np.eye(3)[_y()])


def test_datasets_are_checked_by_their_element_spec(model):
    x, y = _x(), _y()
    misnamed = tf.data.Dataset.from_tensor_slices(({"img": x["image"], "text": x["text"]}, y))
    with pytest.raises(ValueError, match=r"missing: \['image'\], unexpected: \['img'\]"):
        check_inputs(model, misnamed.batch(2))
    floats = tf.data.Dataset.from_tensor_slices(({**x, "text": x["text"] * 1.0}, y))
    with pytest.raises(ValueError, match="'text' takes integer token ids.*dtype=float64"):
        check_inputs(model, floats.batch(2))
    unbatched = tf.data.Dataset.from_tensor_slices((x, y))
    with pytest.raises(ValueError,
                       match=r"'image' must have rank 4.*Received: shape=\(12, 12, 1\)"):
        check_inputs(model, unbatched)
    one_hot = tf.data.Dataset.from_tensor_slices((x, np.eye(3)[y])).batch(2)
    with pytest.raises(ValueError, match="look one-hot"):
        check_inputs(model, one_hot)


ENTRY_POINTS = {
    "evaluate_classifier": lambda m, x, y: evaluation.evaluate_classifier(m, x, y),
    "accuracy": lambda m, x, y: evaluation.accuracy(m, x, y),
    "robustness_report": lambda m, x, y: evaluation.robustness_report(m, x, y),
    "missing_modality_accuracy": lambda m, x, y: evaluation.missing_modality_accuracy(
        m, x, y, "image"),
    "modality_contributions": lambda m, x, y: evaluation.modality_contributions(m, x, y),
    "fit_model": lambda m, x, y: training.fit_model(m, (x, y), epochs=1),
    "fit_model validation": lambda m, x, y: training.fit_model(m, (_x(), _y()), (x, y),
                                                               epochs=1),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_checks_its_inputs(model, entry):
    call = ENTRY_POINTS[entry]
    x = _x()
    # an extra key would shift one modality's data into another's input
    with pytest.raises(ValueError, match=r"unexpected: \['audio'\]"):
        call(model, {**x, "audio": x["image"]}, _y())
    with pytest.raises(ValueError, match=r"Received: y\[2\]=7"):
        call(model, x, np.where(_y() == 2, 7, _y()))


def test_evaluation_takes_a_split(model):
    split = Split(_x(), _y())
    result = evaluation.evaluate_classifier(model, split, class_names=["a", "b", "c"])
    assert 0 <= result["accuracy"] <= 1
    assert evaluation.accuracy(model, split) == result["accuracy"]
    curves, summary = evaluation.robustness_report(model, split)
    assert curves and "missing_text" in summary
    assert set(evaluation.modality_contributions(model, split)) == {"all", "image", "text"}
    with pytest.raises(ValueError, match="Labels are needed.*Received: y=None"):
        evaluation.evaluate_classifier(model, _x())
    with pytest.raises(ValueError, match=r"name the model's 3 classes. Received: 2 names"):
        evaluation.evaluate_classifier(model, split, class_names=["a", "b"])


def test_fit_refuses_nan_instead_of_training_to_nan_loss(model):
    x = _x()
    x["image"][3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"'image' holds 1 NaN.*sample 3"):
        training.fit_model(model, Split(x, _y()), epochs=1)
