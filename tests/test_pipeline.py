import numpy as np
import pytest
import tensorflow as tf

import mmkeras
from mmkeras import datasets, encoders
from mmkeras.preprocessing.image import augmentation


@pytest.mark.slow
def test_batches_match_the_builder_inputs_and_train():
    ds = datasets.load("av_digits")
    pipeline = datasets.to_tf_dataset(ds.train.take(256), batch_size=32, shuffle=True)
    x, y = next(iter(pipeline))
    assert set(x) == {"image", "audio"}
    assert x["image"].shape == (32, 28, 28, 1) and x["audio"].shape == (32, 92, 13)
    assert y.dtype == tf.int32
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(28, 28, 1), filters=(8,)),
         "audio": encoders.sequence_conv1d(input_shape=(None, 13), filters=(8,))},
        num_classes=10)
    history = model.fit(pipeline, validation_data=datasets.to_tf_dataset(ds.validation),
                        epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


def test_modalities_subset_and_order():
    ds = datasets.load("emoji")
    pipeline = datasets.to_tf_dataset(ds.test, batch_size=50, modalities=["text"])
    batches = list(pipeline)
    assert all(set(x) == {"text"} for x, _ in batches)
    labels = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(labels, ds.test.y)  # nothing dropped, order kept


def test_augmentation_runs_after_cache_and_changes_each_epoch():
    ds = datasets.load("emoji")
    pipeline = datasets.to_tf_dataset(
        ds.test.take(16), batch_size=16,
        augment={"image": augmentation()})
    first = next(iter(pipeline))[0]["image"].numpy()
    second = next(iter(pipeline))[0]["image"].numpy()
    assert first.shape == (16, 32, 32, 3) and not np.allclose(first, second)


def test_bad_arguments():
    split = datasets.load("av_digits").test
    with pytest.raises(ValueError, match=r"Received: \['text'\]"):
        datasets.to_tf_dataset(split, augment={"text": lambda t: t})
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        datasets.to_tf_dataset(split, batch_size=0)


def test_a_numpy_integer_batch_size_is_a_batch_size():
    split = datasets.Split({"audio": np.ones((40, 5, 3), "float32")}, np.zeros(40, "int32"))
    batches = datasets.to_tf_dataset(split, batch_size=np.int64(32))
    assert next(iter(batches))[1].shape[0] == 32
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        datasets.to_tf_dataset(split, batch_size=0)
