"""Evaluation: metrics, confusion, robustness to missing or noisy modalities,
leave-one-modality-out contributions. For what a fusion layer learned
(weights, attention, gates) see `mmkeras.fusion.fusion_readout`."""

from mmkeras.evaluation.contribution import modality_contributions
from mmkeras.evaluation.metrics import accuracy, evaluate_classifier, predict_classes
from mmkeras.evaluation.multitask import evaluate_tasks
from mmkeras.evaluation.prediction import bucketed_modalities, predict
from mmkeras.evaluation.retrieval_metrics import (
    first_relevant_rank,
    random_recall,
    retrieval_metrics,
)
from mmkeras.evaluation.robustness import (
    PERTURBATIONS,
    area_under_curve,
    missing_modality_accuracy,
    modality_kind,
    perturb,
    robustness_report,
)

__all__ = [
    "PERTURBATIONS",
    "accuracy",
    "area_under_curve",
    "bucketed_modalities",
    "evaluate_classifier",
    "evaluate_tasks",
    "first_relevant_rank",
    "missing_modality_accuracy",
    "modality_contributions",
    "modality_kind",
    "perturb",
    "predict",
    "predict_classes",
    "random_recall",
    "retrieval_metrics",
    "robustness_report",
]
