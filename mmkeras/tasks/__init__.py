"""Tasks beyond one classifier on the same encoders and fusions: several
classification heads, matching and retrieval.

- `build_multitask_model(encoders, tasks)`: one fused trunk, one head per
  task (e.g. emoji category and subcategory), optionally one auxiliary head
  per modality; `single_output(model, task)` keeps one head for inference.

- `build_dual_encoder(encoders)`: two towers into one L2-normalised space,
  trained with the symmetric contrastive (CLIP) loss (`ContrastiveLoss`,
  `SimilarityLogits` with a learnable temperature); any two modalities.
- `build_matcher(encoders, fusion="cross_attention")`: the articles'
  cross-modal attention network as a matched/mismatched classifier on a pair.
- `build_matcher_from_dual_encoder(dual_encoder, head="product")`: one trunk,
  two heads: a matcher on copies of a trained dual encoder's towers (frozen
  or not), to re-rank its top candidates.
- `Retriever(dual_encoder, gallery)`: embed a gallery once, search it with
  queries of the other modality, re-rank the top candidates with a matcher;
  brute force (`BruteForceIndex`) or FAISS (`FaissIndex`, optional).

Training helpers (negatives, fitting) are in `mmkeras.training.matching`,
metrics (recall@k, median rank, MRR) in `mmkeras.evaluation.retrieval_metrics`.
"""

from mmkeras.tasks.contrastive_loss import ContrastiveLoss, contrastive_loss
from mmkeras.tasks.dual_encoder import (
    build_dual_encoder,
    dual_encoder_modalities,
    embedding_model,
    temperature,
)
from mmkeras.tasks.matcher import build_matcher, compile_matcher, match_probabilities
from mmkeras.tasks.multitask import build_multitask_model, single_output, task_labels
from mmkeras.tasks.retrieval import Retriever, SearchResults
from mmkeras.tasks.search_index import INDEXES, BruteForceIndex, FaissIndex, make_index
from mmkeras.tasks.similarity_logits import SimilarityLogits
from mmkeras.tasks.trunk_matcher import (
    TRUNK_HEADS,
    PairFeatures,
    build_matcher_from_dual_encoder,
    set_towers_trainable,
)

__all__ = [
    "INDEXES",
    "TRUNK_HEADS",
    "BruteForceIndex",
    "ContrastiveLoss",
    "FaissIndex",
    "PairFeatures",
    "Retriever",
    "SearchResults",
    "SimilarityLogits",
    "build_dual_encoder",
    "build_matcher",
    "build_matcher_from_dual_encoder",
    "build_multitask_model",
    "compile_matcher",
    "contrastive_loss",
    "dual_encoder_modalities",
    "embedding_model",
    "make_index",
    "match_probabilities",
    "set_towers_trainable",
    "single_output",
    "task_labels",
    "temperature",
]
