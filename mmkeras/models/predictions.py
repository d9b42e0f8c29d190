"""`Predictions`: class probabilities of a batch of raw inputs, with their names and ids."""

import dataclasses

import numpy as np

from mmkeras.utils import validation


@dataclasses.dataclass
class Predictions:
    """Class probabilities for a batch of raw inputs.

    Attributes:
        class_names: Column `j` of `probabilities` is `class_names[j]`.
        probabilities: `(samples, classes)`.
        ids: One id per sample (the first file path given, else its index).
        missing: `{modality: bool per sample}` for inputs that were absent.
    """

    class_names: list
    probabilities: np.ndarray
    ids: list
    missing: dict

    def __len__(self):
        return len(self.probabilities)

    @property
    def labels(self):
        """The most probable class name of each sample."""
        return [self.class_names[i] for i in self.probabilities.argmax(-1)]

    @property
    def confidence(self):
        """The probability of each sample's most probable class."""
        return self.probabilities.max(-1)

    def top(self, k=3):
        """`[[(class name, probability), ...k], ...]` per sample, most probable first."""
        k = validation.check_positive_int("k", k)
        order = np.argsort(-self.probabilities, axis=-1)[:, :k]
        return [[(self.class_names[j], float(p[j])) for j in row]
                for row, p in zip(order, self.probabilities)]

    def to_frame(self):
        """A pandas DataFrame: id, predicted class, confidence, one column per class."""
        import pandas as pd

        frame = pd.DataFrame({"id": self.ids, "prediction": self.labels,
                              "confidence": self.confidence})
        for j, name in enumerate(self.class_names):
            frame[f"p({name})"] = self.probabilities[:, j]
        for modality, flags in self.missing.items():
            if np.any(flags):
                frame[f"{modality}_missing"] = flags
        return frame
