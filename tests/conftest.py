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


def assert_round_trip(model, x, tmp_path, name="model.keras"):
    """Saves `model`, reloads it in safe mode and checks identical outputs."""
    path = tmp_path / name
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    return loaded
