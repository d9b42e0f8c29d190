"""Figures (matplotlib), drawn with the caller's backend and saved as PNG when given a path.

- Studies: `plot_accuracy` (mean ± std per model), `plot_robustness`,
  `plot_training_curves`, `plot_confusion_matrix`.
- Fusions: `plot_cross_attention` (image regions ↔ words).
- Retrieval: `plot_recall_bars`, `plot_top_matches`.
"""

from mmkeras.plots.attention import plot_cross_attention
from mmkeras.plots.retrieval import plot_recall_bars, plot_top_matches
from mmkeras.plots.study import (
    plot_accuracy,
    plot_confusion_matrix,
    plot_robustness,
    plot_training_curves,
)

__all__ = [
    "plot_accuracy",
    "plot_confusion_matrix",
    "plot_cross_attention",
    "plot_recall_bars",
    "plot_robustness",
    "plot_top_matches",
    "plot_training_curves",
]
