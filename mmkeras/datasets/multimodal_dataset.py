"""The container every loader returns: splits of named arrays plus metadata."""

import dataclasses

import numpy as np


@dataclasses.dataclass
class Split:
    """One split: `x` maps modality names to arrays, `y` holds integer labels."""

    x: dict
    y: np.ndarray

    def __len__(self):
        return len(self.y)

    def select(self, modalities):
        """The same samples with only some modalities (e.g. a unimodal baseline)."""
        modalities = [modalities] if isinstance(modalities, str) else list(modalities)
        unknown = [m for m in modalities if m not in self.x]
        if unknown or not modalities:
            raise ValueError(
                f"Unknown modalities. Received: {modalities}; available: {sorted(self.x)}"
            )
        return Split({m: self.x[m] for m in modalities}, self.y)

    def take(self, n, seed=0):
        """A stratified-by-shuffle random subset of `n` samples (for quick runs)."""
        n = min(int(n), len(self))
        idx = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        return Split({k: v[idx] for k, v in self.x.items()}, self.y[idx])


@dataclasses.dataclass
class MultimodalDataset:
    """A loaded dataset.

    Attributes:
        name: Registry name.
        splits: `{"train": Split, "validation": Split, "test": Split}`.
        class_names: Label `i` is `class_names[i]`.
        input_shapes: `{modality: shape without batch axis}`, `None` = variable.
        vocabulary: Token list of the text modality (index = id), or `None`.
        description: What the data is, where it comes from, its license.
    """

    name: str
    splits: dict
    class_names: list
    input_shapes: dict
    vocabulary: list = None
    description: str = ""

    @property
    def train(self):
        return self.splits["train"]

    @property
    def validation(self):
        return self.splits["validation"]

    @property
    def test(self):
        return self.splits["test"]

    @property
    def modalities(self):
        return list(self.input_shapes)

    @property
    def num_classes(self):
        return len(self.class_names)

    def __repr__(self):
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        shapes = ", ".join(f"{k}{tuple(v)}" for k, v in self.input_shapes.items())
        return (f"MultimodalDataset({self.name!r}: {sizes}; inputs {shapes}; "
                f"{self.num_classes} classes)")
