"""`Converter`: the base of the per-modality converters a `Preprocessor` holds.

keras-hub gives each modality its own converter (`ImageConverter`,
`Tokenizer`, `AudioConverter`) with its own config; mmkeras does the same.
A converter turns one modality's raw values — file paths, arrays, strings,
waveforms — into the stacked array a model input takes. Subclasses say how
to read one value (`read`), how to stack them (`stack`) and the input shape
(`input_shape`); the base class reads a batch in parallel, in order, and
represents a missing value the way `ModalityDropout` and the robustness
checks do: all zeros, flagged.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ON_ERROR = ("raise", "collect")


def is_missing(value):
    """Whether a raw value stands for an absent modality: `None`, NaN, or an empty
    (or blank) string or path."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, (str, os.PathLike)) and not os.fspath(value).strip()


def resolve_path(value, base_dir=None):
    """`value` joined to `base_dir` when it is a relative path; other values as given."""
    if isinstance(value, (str, os.PathLike)):
        value = os.fspath(value)
        if base_dir and not os.path.isabs(value):
            return os.path.join(os.fspath(base_dir), value)
    return value


class Converter:
    """Raw values of one modality → the array its model input takes.

    Subclasses implement `read(value)` (one array, or `None` when the value
    holds nothing, e.g. a text with no word), `stack(arrays)` and
    `input_shape`, and `get_config()` returning every constructor argument.
    """

    def read(self, value):
        """One sample's array from one raw value (a path is already resolved)."""
        raise NotImplementedError

    def stack(self, arrays):
        """`(samples, ...)` from one array per sample, `None` where missing."""
        raise NotImplementedError

    # Whether a value is a file path (joined to `base_dir`) or the data itself.
    reads_files = True

    @property
    def input_shape(self):
        """The model input shape without the batch axis (`None` = variable)."""
        raise NotImplementedError

    def __call__(self, values, base_dir=None, on_error="raise"):
        """`(array, missing, failures)` for a batch of raw values.

        Args:
            values: One raw value per sample; a missing one (`is_missing`)
                gives zeros and `missing[i] = True`.
            base_dir: Folder relative paths start from.
            on_error: `"raise"`: a file that cannot be read or decoded raises
                an error naming it. `"collect"`: its sample becomes zeros and
                `failures[i]` says why.
        """
        if on_error not in ON_ERROR:
            raise ValueError(f"`on_error` must be one of {ON_ERROR}. Received: "
                             f"on_error={on_error!r}")

        def read(value):
            if is_missing(value):
                return None, None
            try:
                if self.reads_files:
                    value = resolve_path(value, base_dir)
                return self.read(value), None
            except (OSError, ValueError) as err:
                if on_error == "raise":
                    raise
                return None, str(err)

        # Files are decoded in threads (OpenCV and librosa release the GIL), in order.
        workers = min(32, (os.cpu_count() or 1) + 4)
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(read, list(values)))
        arrays = [array for array, _ in results]
        failures = {i: error for i, (_, error) in enumerate(results) if error is not None}
        missing = np.array([array is None for array in arrays], dtype=bool)
        return self.stack(arrays), missing, failures

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                              if k != "vocabulary")
        return f"{type(self).__name__}({arguments})"


def stack_fixed(arrays, shape, dtype):
    """Stacks same-shape arrays, zeros of `shape` where a sample is missing."""
    if not arrays:
        return np.zeros((0, *shape), dtype=dtype)
    empty = np.zeros(shape, dtype=dtype)
    return np.stack([empty if a is None else a for a in arrays]).astype(dtype)
