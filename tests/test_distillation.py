import keras
import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, deploy, encoders


def _numpy_loss(y, p_student, p_teacher, alpha, temperature):
    def soft(p):
        z = np.log(np.clip(p, 1e-7, 1)) / temperature
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    hard = -np.mean(np.log(np.clip(p_student[np.arange(len(y)), y], 1e-7, 1)))
    t, s = soft(p_teacher), soft(p_student)
    kl = np.mean(np.sum(t * (np.log(t) - np.log(s)), axis=-1))
    return alpha * hard + (1 - alpha) * temperature ** 2 * kl


@pytest.mark.parametrize("alpha,temperature", [(0.1, 3.0), (0.5, 1.0), (1.0, 10.0), (0.0, 2.0)])
def test_loss_matches_numpy(alpha, temperature):
    rng = np.random.default_rng(0)
    p_s = rng.dirichlet(np.ones(5), size=8).astype("float32")
    p_t = rng.dirichlet(np.ones(5), size=8).astype("float32")
    y = rng.integers(0, 5, size=8)
    got = float(deploy.distillation_loss(y, p_s, p_t, alpha, temperature))
    assert got == pytest.approx(_numpy_loss(y, p_s, p_t, alpha, temperature), rel=1e-4)


def test_softening_at_temperature_one_is_the_identity():
    p = np.array([[0.6, 0.3, 0.1]], "float32")
    np.testing.assert_allclose(deploy.distillation.softened(p, 1.0), p, rtol=1e-5)
    flatter = keras.ops.convert_to_numpy(deploy.distillation.softened(p, 4.0))
    assert flatter.max() < 0.6 and flatter.min() > 0.1


@pytest.fixture(scope="module")
def teacher_and_data():
    ds = datasets.load("av_digits")
    train = ds.train.take(400)
    mmkeras.training.seed_everything(0)
    teacher = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8,), embedding_dim=16),
         "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(16,))},
        fusion="cross_attention", num_classes=ds.num_classes)
    teacher.fit(train.x, train.y, epochs=2, batch_size=64, verbose=0)
    return teacher, train, ds.num_classes


def _image_student(num_classes):
    mmkeras.training.seed_everything(1)
    return mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(4,), embedding_dim=8)},
        num_classes=num_classes, head_units=(16,))


@pytest.mark.slow
def test_distiller_loss_is_the_reference_on_a_batch(teacher_and_data):
    teacher, train, num_classes = teacher_and_data
    distiller = deploy.Distiller(_image_student(num_classes), teacher, alpha=0.3,
                                      temperature=4.0)
    batch = train.take(16)
    loss = float(distiller.compute_loss(batch.x, batch.y, training=False))
    expected = _numpy_loss(batch.y, distiller.student.predict({"image": batch.x["image"]}, verbose=0),
                           teacher.predict(batch.x, verbose=0), 0.3, 4.0)
    assert loss == pytest.approx(expected, rel=1e-4)


@pytest.mark.slow
def test_unimodal_student_moves_towards_the_multimodal_teacher(teacher_and_data):
    # The same image-only student, trained the same way on the teacher's soft outputs only
    # (alpha=0) or on the labels only (alpha=1): the first ends closer to the teacher.
    teacher, train, num_classes = teacher_and_data
    t = teacher.predict(train.x, verbose=0)
    teacher_weights = [w.copy() for w in teacher.get_weights()]

    def gap(student):
        s = student.predict({"image": train.x["image"]}, verbose=0)
        return float(deploy.distillation_loss(train.y, s, t, alpha=0.0, temperature=2.0))

    gaps = {}
    for alpha in (0.0, 1.0):
        student = _image_student(num_classes)
        before = gap(student)
        distiller = deploy.Distiller(student, teacher, alpha=alpha, temperature=2.0)
        distiller.compile(optimizer=keras.optimizers.Adam(3e-3), metrics=["accuracy"])
        mmkeras.training.seed_everything(2)
        distiller.fit(train.x, train.y, epochs=3, batch_size=32, verbose=0)
        gaps[alpha] = gap(student)
    print(f"KL to the teacher: before {before:.4f}, after {gaps}")
    assert gaps[0.0] < before and gaps[0.0] < gaps[1.0], (before, gaps)
    for old, new in zip(teacher_weights, teacher.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert distiller.predict(train.take(3).x, verbose=0).shape == (3, num_classes)


@pytest.mark.slow
def test_bad_distiller_arguments(teacher_and_data):
    teacher, _, num_classes = teacher_and_data
    student = _image_student(num_classes)
    with pytest.raises(ValueError, match="Received: alpha=1.5"):
        deploy.Distiller(student, teacher, alpha=1.5)
    with pytest.raises(ValueError, match="Received: temperature=0"):
        deploy.Distiller(student, teacher, temperature=0)
    with pytest.raises(ValueError, match="Received: student 3, teacher 10"):
        deploy.Distiller(_image_student(3), teacher)
    text_student = mmkeras.build_model({"text": encoders.text_conv1d(sequence_length=5,
                                                                     vocab_size=9, filters=4)},
                                       num_classes=num_classes)
    with pytest.raises(ValueError, match=r"inputs \['text'\] are not among"):
        deploy.Distiller(text_student, teacher)
