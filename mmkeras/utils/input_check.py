"""Checks that data matches a model's named inputs and outputs before it is used.

Keras reports a mismatched dict deep inside `fit` or `predict` (or not at
all: an extra key can shift one modality's data into another's input, float
token ids are truncated, a NaN trains to `loss=nan`). `check_inputs` names
the input, what it received and what the model expects, up front.
"""

import numpy as np

_FLOAT_KINDS = "fc"  # float, complex
_NUMBER_KINDS = "biuf"  # bool, signed, unsigned, float


def unpack(x, y=None):
    """`(x, y)` from a `Split` (its `.x` and `.y`, unless `y` is given) or as given."""
    if not isinstance(x, dict) and hasattr(x, "x") and hasattr(x, "y"):
        return x.x, (x.y if y is None else y)
    return x, y


def check_inputs(model, x, y=None):
    """Raises a clear error when `x` (and `y`) do not fit `model`.

    Checks the input names, ranks, shapes and sample counts; the dtype (no
    floats into a token-id input); token ids within the vocabulary of the
    input's `Embedding` (when the model has one for it); NaN and infinite
    values; empty arrays; and, with `y`, that the labels are class ids the
    model's output can take (integers in `[0, classes)`, 0/1 for one sigmoid
    unit, not one-hot for a sparse model).

    Args:
        model: A model with named inputs (from `build_model`).
        x: A dict `{input name: array}`, a `mmkeras.datasets.Split` (its
            labels are checked too), or a `tf.data.Dataset` of such dicts or
            `(dict, labels)` pairs (its element spec is checked: names,
            ranks, shapes, dtypes; values are not read).
        y: Labels, optional.
    """
    if _is_dataset(x):
        _check_dataset_spec(model, x)
        return
    x, y = unpack(x, y)
    expected = {t.name: t for t in model.inputs}
    _check_keys(expected, x)
    for key, spec in expected.items():
        _check_array(model, key, spec, x[key])
    sizes = {key: np.shape(x[key])[0] for key in expected}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            "All inputs need the same number of samples. Received: "
            + ", ".join(f"{k}={n}" for k, n in sizes.items()))
    if y is not None:
        check_labels(model, y, samples=next(iter(sizes.values()), None))


def _is_dataset(x):
    return hasattr(x, "element_spec") and not isinstance(x, dict)


def _check_keys(expected, x):
    if not isinstance(x, dict):
        raise TypeError(
            f"Inputs must be a dict keyed by {sorted(expected)} (or a Split). "
            f"Received: {type(x).__name__}")
    missing = sorted(set(expected) - set(x))
    extra = sorted(set(x) - set(expected))
    if missing or extra:
        raise ValueError(
            f"Input keys do not match the model's inputs. Received keys: {sorted(x)}; "
            f"expected: {sorted(expected)} (missing: {missing}, unexpected: {extra})")


def _check_shape(key, shape, want):
    if len(shape) != len(want):
        raise ValueError(
            f"Input {key!r} must have rank {len(want)} with shape {want} "
            f"(None = any). Received: shape={shape}")
    for got, need in zip(shape[1:], want[1:]):
        if need is not None and got is not None and got != need:
            raise ValueError(
                f"Input {key!r} must have shape {want} (None = any). Received: shape={shape}")


def _np_dtype(dtype):
    try:
        return np.dtype(dtype)
    except TypeError:  # e.g. "string": not a NumPy number type
        return None


def _check_dtype(key, got, want):
    """Floats into an integer (token id) input lose their fractions silently."""
    got, want = np.dtype(got), _np_dtype(want)
    if want is None or want.kind not in _NUMBER_KINDS:
        return  # a string or other non-numeric input: Keras checks it
    if got.kind not in _NUMBER_KINDS:
        raise ValueError(
            f"Input {key!r} must hold numbers ({want.name}). Received: dtype={got.name}")
    if want.kind in "iu" and got.kind in _FLOAT_KINDS:
        raise ValueError(
            f"Input {key!r} takes integer token ids ({want.name}); floats would be truncated. "
            f"Received: dtype={got.name} (convert with .astype('int32') if they are ids)")


def _check_array(model, key, spec, value):
    array = np.asarray(value)
    shape, want = tuple(array.shape), tuple(spec.shape)
    _check_shape(key, shape, want)
    if shape[0] == 0:
        raise ValueError(f"Input {key!r} is empty. Received: shape={shape}")
    _check_dtype(key, array.dtype, spec.dtype)
    if array.dtype.kind in _FLOAT_KINDS:
        bad = ~np.isfinite(array)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"Input {key!r} holds {int(bad.sum())} NaN or infinite value(s), first at "
                f"sample {where[0]}. Received: {key}{list(where)}={array[where].item()!r}")
    if array.dtype.kind in "iu" and getattr(_np_dtype(spec.dtype), "kind", "") in ("i", "u"):
        _check_token_ids(model, key, array)


def _check_token_ids(model, key, array):
    vocab = embedding_input_dim(model, key)
    low, high = int(array.min()), int(array.max())
    if low < 0 or (vocab is not None and high >= vocab):
        bad = array < 0 if low < 0 else array >= vocab
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        allowed = f"[0, {vocab})" if vocab is not None else ">= 0"
        raise ValueError(
            f"Input {key!r} holds token ids outside the vocabulary {allowed}"
            + (f" of its Embedding (input_dim={vocab})" if vocab is not None else "")
            + f". Received: {key}{list(where)}={int(array[where])} (ids from {low} to {high})")


def _sublayers(layer):
    yield layer
    for inner in getattr(layer, "layers", None) or ():
        yield from _sublayers(inner)


def embedding_input_dim(model, key):
    """The vocabulary size of the `Embedding` that reads input `key`, or `None`.

    Looks in the nested models named after the input (`"<key>_encoder"`,
    `"<key>_stem"`, ..., as `build_model` names them), or anywhere in a
    model with one integer input. `None` when no single size is found.
    """
    import keras

    int_inputs = [t.name for t in model.inputs
                  if getattr(_np_dtype(t.dtype), "kind", "") in ("i", "u")]
    if len(int_inputs) == 1 and int_inputs[0] == key:
        roots = [model]
    else:
        roots = [layer for layer in model.layers
                 if layer.name.startswith(f"{key}_") and getattr(layer, "layers", None)]
    sizes = {layer.input_dim for root in roots for layer in _sublayers(root)
             if isinstance(layer, keras.layers.Embedding)}
    return sizes.pop() if len(sizes) == 1 else None


def _output_units(model):
    """Units of the model's single output, or `None` (several outputs, unknown width)."""
    if len(model.outputs) != 1:
        return None
    return model.outputs[0].shape[-1]


def _sparse_labels(model):
    """False when the model was compiled for one-hot labels (categorical cross-entropy)."""
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or type(loss).__name__
    name = str(name).lower()
    return not ("categorical" in name and "sparse" not in name)


def check_labels(model, y, samples=None):
    """Raises unless `y` holds labels `model` can be trained or scored on.

    Integer class ids in `[0, classes)` for a softmax output, 0 or 1 for one
    sigmoid unit; one-hot rows only for a model compiled with categorical
    cross-entropy.
    """
    y = np.asarray(y)
    if y.dtype.kind not in _NUMBER_KINDS:
        raise ValueError(f"Labels must be integer class ids. Received: dtype={y.dtype.name}")
    if y.size == 0:
        raise ValueError(f"Labels are empty. Received: shape={y.shape}")
    if samples is not None and len(y) != samples:
        raise ValueError(
            f"Labels and inputs need the same number of samples. Received: {len(y)} labels "
            f"for {samples} samples")
    if y.dtype.kind in _FLOAT_KINDS and not np.isfinite(y).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(y))[0])
        raise ValueError(f"Labels hold NaN or infinite values. "
                         f"Received: y{list(where)}={y[where].item()!r}")
    units = _output_units(model)
    if units is None:
        return
    if y.ndim == 2 and y.shape[1] == units and units > 1 and not _sparse_labels(model):
        return  # one-hot labels for a categorical loss
    if y.ndim == 2 and y.shape[1] > 1:
        raise ValueError(
            f"Labels look one-hot (shape {y.shape}), but this model takes integer class "
            f"ids, shape (samples,). Received: y.shape={y.shape} "
            "(use y.argmax(-1) to convert)")
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise ValueError(f"Labels must have shape (samples,). Received: y.shape={y.shape}")
    flat = y.reshape(-1)
    fractional = flat != np.round(flat) if y.dtype.kind in _FLOAT_KINDS else np.zeros(0, bool)
    if fractional.any():
        index = int(np.argmax(fractional))
        raise ValueError(
            f"Labels must be integer class ids. Received: y[{index}]={flat[index].item()!r}")
    classes = 2 if units == 1 else units
    bad = (flat < 0) | (flat >= classes)
    if bad.any():
        index = int(np.argmax(bad))
        found = sorted({int(v) for v in np.unique(flat)})
        shown = found if len(found) <= 12 else found[:6] + ["..."] + found[-3:]
        kind = ("binary (one sigmoid unit): labels must be 0 or 1" if units == 1 else
                f"has {classes} classes: labels must be in [0, {classes})")
        raise ValueError(
            f"This model {kind}. Received: y[{index}]={flat[index].item()!r} "
            f"(labels seen: {shown})")


def _check_dataset_spec(model, dataset):
    """Names, ranks, shapes and dtypes of a `tf.data.Dataset`'s (batched) elements."""
    spec = dataset.element_spec
    if isinstance(spec, tuple):
        if not 1 <= len(spec) <= 3:
            raise ValueError(
                "A dataset's elements must be `inputs` or `(inputs, labels)`. Received: "
                f"{len(spec)}-tuples")
        spec, label_spec = spec[0], spec[1] if len(spec) > 1 else None
    else:
        label_spec = None
    expected = {t.name: t for t in model.inputs}
    if not isinstance(spec, dict):
        raise TypeError(
            f"A dataset's inputs must be dicts keyed by {sorted(expected)}. "
            f"Received: element_spec={dataset.element_spec}")
    _check_keys(expected, spec)
    for key, want in expected.items():
        got = spec[key]
        _check_shape(key, tuple(got.shape), tuple(want.shape))
        _check_dtype(key, got.dtype.as_numpy_dtype, want.dtype)
    if label_spec is not None and hasattr(label_spec, "dtype"):
        dtype = np.dtype(label_spec.dtype.as_numpy_dtype)
        if dtype.kind not in _NUMBER_KINDS:
            raise ValueError(
                f"A dataset's labels must be integer class ids. Received: dtype={dtype.name}")
        units = _output_units(model)
        shape = tuple(label_spec.shape)
        if (units and units > 1 and len(shape) == 2 and shape[1] not in (None, 1)
                and _sparse_labels(model)):
            raise ValueError(
                f"A dataset's labels look one-hot (shape {shape}), but this model takes "
                f"integer class ids. Received: labels shape={shape}")
