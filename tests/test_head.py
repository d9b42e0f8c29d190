import numpy as np
import pytest

from mmkeras import classification_head


def test_softmax_sigmoid_and_logits():
    x = np.random.default_rng(0).random((4, 5)).astype("float32")
    probs = np.asarray(classification_head(3, units=(8,), dropout=0.5)(x))
    np.testing.assert_allclose(probs.sum(-1), 1, rtol=1e-6)
    binary = np.asarray(classification_head(2, binary=True, units=())(x))
    assert binary.shape == (4, 1) and np.all((binary > 0) & (binary < 1))
    head = classification_head(3, units=(), output="logits")
    logits = np.asarray(head(x))
    kernel, bias = head.get_weights()
    np.testing.assert_allclose(logits, x @ kernel + bias, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        classification_head(0)
    with pytest.raises(ValueError, match="Received: output='scores'"):
        classification_head(3, output="scores")
