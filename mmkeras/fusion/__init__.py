"""Fusion strategies. `FUSIONS` maps every short name to its layer.

| name | level | layer |
|---|---|---|
| `"early"` | early: one joint network over shallow features | `EarlyFusion` |
| `"concat"` | feature: the documents' concatenation | `ConcatFusion` |
| `"late"` | decision: mean of per-modality probabilities | `LateFusion("mean")` |
| `"late_weighted"` | decision: learned weights | `LateFusion("weighted")` |
| `"late_stacker"` | decision: learned meta-classifier | `LateFusion("stacker")` |
"""

from mmkeras.fusion.concat import ConcatFusion
from mmkeras.fusion.early import EarlyFusion
from mmkeras.fusion.late import COMBINERS, LateFusion
from mmkeras.fusion.registry import FUSION_LEVELS, FUSIONS, get, name_of, register_fusion

register_fusion("early", EarlyFusion)
register_fusion("concat", ConcatFusion)
register_fusion("late", LateFusion, combine="mean")
register_fusion("late_weighted", LateFusion, combine="weighted")
register_fusion("late_stacker", LateFusion, combine="stacker")

__all__ = [
    "COMBINERS",
    "ConcatFusion",
    "EarlyFusion",
    "FUSIONS",
    "FUSION_LEVELS",
    "LateFusion",
    "get",
    "name_of",
    "register_fusion",
]
