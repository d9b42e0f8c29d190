"""The encoders a comparison uses for a dataset: the same for every fusion."""

from mmkeras.encoders.image import image_cnn
from mmkeras.encoders.sequence import sequence_lstm
from mmkeras.encoders.text import text_bigru


def standard_encoders(dataset, modalities=None):
    """Fresh encoders for `dataset`'s modalities (built anew on every call).

    av_digits: `image_cnn` (28×28×1) and `sequence_lstm` (13 MFCCs);
    emoji: `image_cnn` (32×32×3) and `text_bigru` (its vocabulary, any length);
    any other dataset: picked by input kind (image → image_cnn, token ids →
    text_bigru, frames → sequence_lstm).
    """
    modalities = list(modalities or dataset.modalities)
    unknown = [m for m in modalities if m not in dataset.input_shapes]
    if unknown:
        raise ValueError(f"Unknown modalities. Received: {unknown}; dataset has {dataset.modalities}")
    built = {}
    for m in modalities:
        shape = tuple(dataset.input_shapes[m])
        if len(shape) == 3:
            built[m] = image_cnn(input_shape=shape)
        elif len(shape) == 1 and dataset.vocabulary is not None and m == "text":
            # A None length takes the stored ids and length-bucketed batches alike.
            built[m] = text_bigru(sequence_length=None,
                                           vocab_size=len(dataset.vocabulary))
        elif len(shape) == 2:
            built[m] = sequence_lstm(input_shape=shape)
        else:
            raise ValueError(f"No standard encoder for {m!r} with input shape {shape}")
    return built
