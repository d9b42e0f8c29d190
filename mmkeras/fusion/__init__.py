"""Fusion strategies: one Keras layer per concept, reachable by a short name.

`FUSIONS` maps every name to its layer class and default arguments; pass a
name or a configured layer to `mmkeras.build_model(fusion=...)`.

| name | level | layer | formula |
|---|---|---|---|
| `"early"` | early | `EarlyFusion` | one joint Transformer over all shallow features |
| `"concat"` | feature | `ConcatFusion` | [h_1; …; h_M] (the documents') |
| `"sum"` | feature | `SumFusion` | Σ P_m(h_m) |
| `"weighted"` | feature | `WeightedSumFusion` | Σ α_m P_m(h_m), α = softmax(w) learned |
| `"attention"` | feature | `ModalityAttentionFusion` | α = softmax(W[h_1; …; h_M]) per sample |
| `"self_attention"` | feature | `SelfAttentionFusion` | MHA over modality tokens, mean |
| `"cross_attention"` | sequence | `CrossModalAttentionFusion` | each modality's positions attend to the others' |
| `"tensor"` | feature | `TensorFusion` | vec(⊗ [h_m; 1]) |
| `"low_rank"` | feature | `LowRankFusion` | Σ_i ⊙_m [h_m; 1] W_m^(i) |
| `"gated"` | feature | `GatedFusion` | Σ z_m ⊙ tanh(W_m h_m), z = softmax gates |
| `"film"` | feature | `FiLMFusion` | γ(c) ⊙ P(h_m) + β(c) |
| `"late"` | decision | `LateFusion("mean")` | mean of per-modality probabilities |
| `"late_weighted"` | decision | `LateFusion("weighted")` | learned weights over probabilities |
| `"late_stacker"` | decision | `LateFusion("stacker")` | learned meta-classifier on logits |

Every fusion subclasses `Fusion`, which validates the inputs, owns `units`
and the per-modality projections, and gives `readout()`: what the layer
learned (weights, attention, gates), read for a model with `fusion_readout`.
`register_fusion` adds a fusion of your own.

`ModalityDropout` is not a fusion but goes before one
(`build_model(..., modality_dropout=0.25)`).
"""

from mmkeras.fusion.base_fusion import AttentionFusion, Fusion
from mmkeras.fusion.concat import ConcatFusion
from mmkeras.fusion.cross_attention import CrossModalAttentionFusion
from mmkeras.fusion.early import EarlyFusion
from mmkeras.fusion.film import FiLMFusion
from mmkeras.fusion.gated import GatedFusion
from mmkeras.fusion.inspect import fusion_inputs, fusion_layer, fusion_masks, fusion_readout
from mmkeras.fusion.late import COMBINERS, LateFusion
from mmkeras.fusion.low_rank import LowRankFusion
from mmkeras.fusion.modality_attention import ModalityAttentionFusion
from mmkeras.fusion.modality_dropout import ModalityDropout
from mmkeras.fusion.registry import FUSION_LEVELS, FUSIONS, get, name_of, register_fusion
from mmkeras.fusion.self_attention import SelfAttentionFusion
from mmkeras.fusion.sum import SumFusion
from mmkeras.fusion.tensor_fusion import TensorFusion
from mmkeras.fusion.weighted_sum import WeightedSumFusion

register_fusion("early", EarlyFusion)
register_fusion("concat", ConcatFusion)
register_fusion("sum", SumFusion)
register_fusion("weighted", WeightedSumFusion)
register_fusion("attention", ModalityAttentionFusion)
register_fusion("self_attention", SelfAttentionFusion)
register_fusion("cross_attention", CrossModalAttentionFusion)
register_fusion("tensor", TensorFusion)
register_fusion("low_rank", LowRankFusion)
register_fusion("gated", GatedFusion)
register_fusion("film", FiLMFusion)
register_fusion("late", LateFusion, combine="mean")
register_fusion("late_weighted", LateFusion, combine="weighted")
register_fusion("late_stacker", LateFusion, combine="stacker")

__all__ = [
    "AttentionFusion",
    "COMBINERS",
    "ConcatFusion",
    "CrossModalAttentionFusion",
    "EarlyFusion",
    "FUSIONS",
    "FUSION_LEVELS",
    "FiLMFusion",
    "Fusion",
    "GatedFusion",
    "LateFusion",
    "LowRankFusion",
    "ModalityAttentionFusion",
    "ModalityDropout",
    "SelfAttentionFusion",
    "SumFusion",
    "TensorFusion",
    "WeightedSumFusion",
    "fusion_inputs",
    "fusion_layer",
    "fusion_masks",
    "fusion_readout",
    "get",
    "name_of",
    "register_fusion",
]
