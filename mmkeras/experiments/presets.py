"""Budgets of a comparison study, by name."""

# A representative fusion of each family, for the quick look.
QUICK_FUSIONS = ("early", "concat", "sum", "weighted", "attention", "gated", "cross_attention",
                 "late", "late_stacker")

PRESETS = {
    # ≤ 5 minutes on a 2-core laptop CPU for av_digits: 9 fusions + 2 baselines, one seed.
    "quick": {"fusions": QUICK_FUSIONS, "seeds": (0,), "epochs": 5, "patience": None},
    # What results/ holds: every fusion, three seeds, early stopping on validation loss.
    "full": {"fusions": None, "seeds": (0, 1, 2), "epochs": 20, "patience": 4},
}
