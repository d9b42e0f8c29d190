"""Argument checks shared by layers, encoders, the builder and the data loaders.

Each check returns the value (converted to a plain Python number where that
helps serialisation) or raises a `ValueError` that names the argument and
echoes what was received, in the Keras style:
"`units` must be a positive integer. Received: units=0".

NumPy integers count as integers; `bool` does not (``True`` is not a size).
This module imports nothing from the rest of the package, so any layer of it
may use it.
"""

import math
import numbers

import numpy as np


def _where(owner):
    return f"`{owner}`: " if owner else ""


def is_int(value):
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def is_real(value):
    """True for Python/NumPy integers and floats (not bools)."""
    return (is_int(value) or isinstance(value, (numbers.Real, np.floating))) and not isinstance(
        value, (bool, np.bool_))


def int_range(minimum=None, maximum=None):
    """The integers in `[minimum, maximum]` in words: "a positive integer", "an integer >= 2"."""
    if minimum == 1 and maximum is None:
        return "a positive integer"
    if minimum == 0 and maximum is None:
        return "a non-negative integer"
    if maximum is None:
        return f"an integer >= {minimum}" if minimum is not None else "an integer"
    if minimum is None:
        return f"an integer <= {maximum}"
    return f"an integer in [{minimum}, {maximum}]"


def check_int(name, value, minimum=None, maximum=None, owner=None, allow_none=False):
    """An integer in `[minimum, maximum]` (either bound optional); returns an `int`."""
    if value is None and allow_none:
        return None
    low = minimum is None or (is_int(value) and value >= minimum)
    high = maximum is None or (is_int(value) and value <= maximum)
    if not is_int(value) or not low or not high:
        wanted = int_range(minimum, maximum) + (" or None" if allow_none else "")
        raise ValueError(f"{_where(owner)}`{name}` must be {wanted}. Received: {name}={value!r}")
    return int(value)


def check_positive_int(name, value, owner=None, allow_none=False):
    """An integer >= 1 (NumPy integers accepted); returns an `int`."""
    return check_int(name, value, minimum=1, owner=owner, allow_none=allow_none)


def check_non_negative_int(name, value, owner=None, allow_none=False):
    """An integer >= 0; returns an `int`."""
    return check_int(name, value, minimum=0, owner=owner, allow_none=allow_none)


def check_positive_ints(name, values, owner=None, allow_empty=False):
    """A non-empty list/tuple of positive integers; returns a tuple of `int`."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, np.ndarray)):
        raise ValueError(f"{_where(owner)}`{name}` must be a list of positive integers. "
                         f"Received: {name}={values!r}")
    given, values = values, list(values)
    if not values and not allow_empty:
        raise ValueError(f"{_where(owner)}`{name}` must not be empty. Received: {name}={given!r}")
    for v in values:
        if not is_int(v) or v < 1:
            raise ValueError(f"{_where(owner)}`{name}` must hold positive integers. "
                             f"Received: {name}={given!r}")
    return tuple(int(v) for v in values)


def check_float(name, value, minimum=None, maximum=None, min_inclusive=True,
                max_inclusive=True, owner=None, allow_none=False):
    """A finite real number within the given bounds; returns a `float`."""
    if value is None and allow_none:
        return None
    ok = is_real(value) and math.isfinite(float(value))
    if ok and minimum is not None:
        ok = value >= minimum if min_inclusive else value > minimum
    if ok and maximum is not None:
        ok = value <= maximum if max_inclusive else value < maximum
    if not ok:
        parts = []
        if minimum is not None:
            parts.append(f"{'>=' if min_inclusive else '>'} {minimum}")
        if maximum is not None:
            parts.append(f"{'<=' if max_inclusive else '<'} {maximum}")
        wanted = "a finite number" + (" " + " and ".join(parts) if parts else "")
        if allow_none:
            wanted += " or None"
        raise ValueError(f"{_where(owner)}`{name}` must be {wanted}. Received: {name}={value!r}")
    return float(value)


def check_rate(name, value, owner=None, allow_one=False):
    """A probability-like rate in `[0, 1)` (or `[0, 1]` with `allow_one`)."""
    if not (is_real(value) and math.isfinite(float(value))
            and 0 <= value and (value <= 1 if allow_one else value < 1)):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{_where(owner)}`{name}` must be a number in {interval}. "
                         f"Received: {name}={value!r}")
    return float(value)


def check_positive_float(name, value, owner=None):
    """A finite number > 0 (a learning rate, a temperature); returns a `float`."""
    return check_float(name, value, minimum=0, min_inclusive=False, owner=owner)


def check_choice(name, value, choices, owner=None):
    """One of `choices`; the message lists them."""
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a set/dict
        ok = False
    if not ok:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{_where(owner)}`{name}` must be one of {allowed}. "
                         f"Received: {name}={value!r}")
    return value


def check_bool(name, value, owner=None):
    """A `bool` (NumPy bools accepted); returns a `bool`."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{_where(owner)}`{name}` must be True or False. "
                         f"Received: {name}={value!r}")
    return bool(value)


def check_divisible(name, value, divisor_name, divisor, owner=None):
    """`value` divisible by `divisor` (e.g. a width split across attention heads)."""
    if value % divisor:
        raise ValueError(f"{_where(owner)}`{name}` must be divisible by `{divisor_name}` "
                         f"({divisor}). Received: {name}={value!r}")
    return value
