"""Variable-length sequences stored flat, as `data/` keeps them."""

import numpy as np


def unpack_ragged(flat, lengths):
    """The sequences stored end to end in `flat`: `flat[:l0]`, `flat[l0:l0 + l1]`, ...

    Example:

    >>> [s.tolist() for s in unpack_ragged(np.arange(5), [2, 0, 3])]
    [[0, 1], [], [2, 3, 4]]
    """
    lengths = np.asarray(lengths)
    if lengths.sum() != len(flat):
        raise ValueError(f"The lengths must add up to the stored rows. Received: "
                         f"sum(lengths)={int(lengths.sum())}, rows={len(flat)}")
    return np.split(flat, np.cumsum(lengths)[:-1])
