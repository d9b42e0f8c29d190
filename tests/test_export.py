import numpy as np
import pytest

import mmkeras
from mmkeras import datasets, encoders, export


@pytest.fixture(scope="module")
def trained():
    ds = datasets.load("emoji", speech=True, max_frames=60)
    mmkeras.training.seed_everything(0)
    model = mmkeras.build_model(
        {"image": encoders.image_cnn(input_shape=(32, 32, 3), filters=(8, 16), embedding_dim=16),
         "text": encoders.text_conv1d(sequence_length=16, vocab_size=len(ds.vocabulary),
                                      filters=16),
         "audio": encoders.sequence_conv1d(input_shape=(60, 13), filters=(16,))},
        fusion="gated", num_classes=ds.num_classes)
    model.fit(ds.train.x, ds.train.y, epochs=2, batch_size=64, verbose=0)
    return model, ds.test.take(60)


def test_saved_model_and_tflite_match_keras(trained, tmp_path):
    model, test = trained
    folder = export.export_saved_model(model, tmp_path / "saved")
    expected = model.predict(test.x, verbose=0)
    plain = export.TFLiteClassifier(export.to_tflite(folder))
    np.testing.assert_allclose(plain.predict(test.x), expected, atol=1e-4)
    small = export.TFLiteClassifier(export.to_tflite(folder, quantize=True))
    assert small.size_bytes < 0.5 * plain.size_bytes
    agree = np.mean(small.predict(test.x).argmax(-1) == expected.argmax(-1))
    assert agree >= 0.9
    assert small.latency(test.x, repeats=3) > 0
    with pytest.raises(ValueError, match="Missing inputs"):
        small.predict({"image": test.x["image"]})


def test_conversion_errors_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="Received"):
        export.to_tflite(tmp_path / "nothing")
