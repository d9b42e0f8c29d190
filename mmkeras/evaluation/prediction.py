"""`predict`: a model's outputs on arrays, batched by sequence length."""

import numpy as np


def bucketed_modalities(model, x):
    """The modalities of `x` that can be batched at their own length for `model`.

    Variable-length arrays (token ids, frames: see
    `mmkeras.datasets.bucketing`) whose model input has a `None` steps axis;
    an input of fixed length (e.g. `text_bigru(sequence_length=16)`) keeps
    the stored length.
    """
    from mmkeras.datasets.bucketing import is_variable_length

    names = getattr(model, "input_names", None) or [t.name for t in model.inputs]
    shapes = dict(zip(names, (tuple(t.shape) for t in model.inputs)))
    return sorted(m for m, v in x.items()
                  if is_variable_length(v) and m in shapes and len(shapes[m]) == np.ndim(v)
                  and shapes[m][1] is None)


def predict(model, x, batch_size=256, bucketing=True):
    """`model.predict(x)`, computed on batches of samples of similar length.

    The samples are sorted by length (`mmkeras.datasets.bucketing`), each
    batch is cut to its longest sample (or padded to the next fixed
    boundary, for a model compiled per shape: JAX), and the outputs are
    returned in the order of `x`. Masks make the outputs those of
    `model.predict` (within float tolerance); a recurrent encoder computes
    only the steps the batch holds, not the stored padding (`av_digits` audio: 18 frames on average,
    stored as 92).

    Args:
        model: A model with named inputs.
        x: A dict `{input name: array}`.
        batch_size: Samples per batch.
        bucketing: `True` pads each batch the way that is fastest for the
            model (`mmkeras.datasets.bucketing.best_padding`); `"longest"` or
            `"boundaries"` chooses; `False` predicts on the arrays as given.

    Returns:
        The model's output (a NumPy array, or a list or dict of them for
        several outputs), one row per sample of `x`.
    """
    from mmkeras.datasets.bucketing import PADDINGS
    from mmkeras.utils.validation import check_choice

    check_choice("bucketing", bucketing, (True, False, *PADDINGS), "predict")
    variable = bucketed_modalities(model, x) if bucketing else []
    if not variable:
        return model.predict(x, batch_size=batch_size, verbose=0)
    from mmkeras.datasets import to_tf_dataset
    from mmkeras.datasets.bucketing import bucket_keys, check_padding

    x = {k: np.asarray(v) for k, v in x.items()}
    order = np.argsort(bucket_keys(x, variable)[1], kind="stable")
    # Already sorted, so the pipeline's own stable sort keeps this order.
    ordered = {k: v[order] for k, v in x.items()}
    dataset = to_tf_dataset((ordered, np.zeros(len(order), "int32")), batch_size,
                            bucketing=variable, cache=False,
                            bucket_padding=check_padding(None, bucketing, model))
    outputs = model.predict(dataset, verbose=0)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return _take(outputs, inverse)


def _take(outputs, index):
    if isinstance(outputs, dict):
        return {k: np.asarray(v)[index] for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(v)[index] for v in outputs]
    return np.asarray(outputs)[index]
