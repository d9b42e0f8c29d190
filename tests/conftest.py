import os
import tempfile

# Keep Keras' config file and TensorFlow's log lines out of the user's home/terminal.
os.environ.setdefault("KERAS_HOME", os.path.join(tempfile.gettempdir(), "mmkeras-test-keras-home"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
    keras.backend.clear_session()


@pytest.fixture
def assert_round_trip(tmp_path):
    """`assert_round_trip(model, x)`: saves `model`, reloads it in safe mode,
    checks identical outputs and returns the reloaded model."""

    def check(model, x, name="model.keras"):
        path = tmp_path / name
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        expected = model.predict(x, verbose=0)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
        return loaded

    return check
