"""Training utilities: devices, precision, distribution, callbacks, seeding, fitting."""

from mmkeras.training.balancing import OGMGE, ogm_coefficients
from mmkeras.training.callbacks import (
    RetrievalEarlyStopping,
    RunProgress,
    standard_callbacks,
)
from mmkeras.training.devices import (
    device_summary,
    distribution_strategy,
    format_device_summary,
    has_gpu,
    set_mixed_precision,
)
from mmkeras.training.fit import bucketed_modalities, fit_model, predict_latency
from mmkeras.training.matching import (
    NEGATIVES,
    fit_dual_encoder,
    fit_matcher,
    matching_pairs,
    sample_negatives,
)
from mmkeras.training.multi_worker import train_multi_worker
from mmkeras.training.pretraining import (
    fit_frozen_then_fine_tune,
    pretrain_encoders,
    set_encoders_trainable,
)
from mmkeras.training.seeding import seed_everything

__all__ = [
    "NEGATIVES",
    "OGMGE",
    "RetrievalEarlyStopping",
    "RunProgress",
    "bucketed_modalities",
    "device_summary",
    "distribution_strategy",
    "fit_frozen_then_fine_tune",
    "fit_dual_encoder",
    "fit_matcher",
    "fit_model",
    "format_device_summary",
    "has_gpu",
    "matching_pairs",
    "ogm_coefficients",
    "predict_latency",
    "pretrain_encoders",
    "sample_negatives",
    "seed_everything",
    "set_encoders_trainable",
    "set_mixed_precision",
    "standard_callbacks",
    "train_multi_worker",
]
