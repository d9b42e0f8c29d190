"""Making a trained model smaller: magnitude pruning and knowledge distillation
for Keras 3 models on any backend (quantisation is in `mmkeras.export`).

- `MagnitudePruning`: a callback that zeroes the smallest weights of every
  prunable kernel, following a `ConstantSparsity` or `PolynomialSparsity`
  schedule during fine-tuning; `strip_pruning` returns a plain model.
- `Distiller`: trains a student on the labels and on a teacher's
  temperature-softened probabilities.

These modules use the models only (no data or experiment code).
"""

from mmkeras.compression.distillation import Distiller, distillation_loss
from mmkeras.compression.pruning import (
    ConstantSparsity,
    MagnitudePruning,
    PolynomialSparsity,
    gzipped_size,
    prunable_weights,
    sparsity,
    strip_pruning,
)

__all__ = [
    "ConstantSparsity",
    "Distiller",
    "MagnitudePruning",
    "PolynomialSparsity",
    "distillation_loss",
    "gzipped_size",
    "prunable_weights",
    "sparsity",
    "strip_pruning",
]
