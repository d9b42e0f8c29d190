"""Checks that data matches a model's named inputs before training on it."""

import numpy as np


def check_inputs(model, x):
    """Raises a clear error when `x` does not fit `model`'s inputs.

    Keras reports a mismatched dict deep inside `fit`; this names the keys
    and shapes received and expected up front.

    Args:
        model: A model with named inputs (from `build_model`).
        x: A dict `{input name: array}`.
    """
    expected = {t.name: t for t in model.inputs}
    if not isinstance(x, dict):
        raise TypeError(
            f"Inputs must be a dict keyed by {sorted(expected)}. "
            f"Received: {type(x).__name__}"
        )
    missing = sorted(set(expected) - set(x))
    extra = sorted(set(x) - set(expected))
    if missing or extra:
        raise ValueError(
            f"Input keys do not match the model's inputs. Received keys: {sorted(x)}; "
            f"expected: {sorted(expected)} (missing: {missing}, unexpected: {extra})"
        )
    sizes = set()
    for key, spec in expected.items():
        shape = tuple(np.shape(x[key]))
        want = tuple(spec.shape)
        if len(shape) != len(want):
            raise ValueError(
                f"Input {key!r} must have rank {len(want)} with shape {want} "
                f"(None = any). Received: shape={shape}"
            )
        for got, need in zip(shape[1:], want[1:]):
            if need is not None and got != need:
                raise ValueError(
                    f"Input {key!r} must have shape {want} (None = any). "
                    f"Received: shape={shape}"
                )
        sizes.add(shape[0])
    if len(sizes) > 1:
        raise ValueError(
            "All inputs need the same number of samples. Received: "
            + ", ".join(f"{k}={np.shape(x[k])[0]}" for k in expected)
        )
