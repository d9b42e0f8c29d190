# %% [markdown]
# # 4. Early, feature-level and late fusion
#
# **Goal:** compare the three levels at which modalities can be joined — early (shallow
# features into one joint network), feature-level (encoder embeddings concatenated, the
# documents' model) and late (each modality's own prediction, combined) — with the same
# encoders, against a model for each modality alone, over several seeds; and test the
# documents' claim that late fusion beats early fusion.
#
# Data: `av_digits`, handwritten digits with 75% of their image energy removed, paired with
# noisy spoken digits. Measured on a 2-core CPU (no GPU): about 5 min (296 s) at full size;
# `MMKERAS_SMOKE=1` takes about 45 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
SEEDS = [0] if SMOKE else [0, 1, 2]
EPOCHS = 1 if SMOKE else 8
TRAIN_LIMIT = 300 if SMOKE else None

# %%
import matplotlib.pyplot as plt

import mmkeras
from mmkeras import datasets, experiments, plots

data = datasets.load("av_digits")
print(data)

# %% [markdown]
# ## The three levels, built from the same encoders
#
# `standard_encoders` gives a fresh `image_cnn` and `sequence_lstm` for every model, so the
# only thing that changes between models is where the modalities meet.

# %%
for fusion in ("early", "concat", "late"):
    model = mmkeras.build_model(mmkeras.encoders.standard_encoders(data), fusion=fusion,
                                num_classes=10)
    print(f"{fusion:>7}: {model.count_params():>7,} parameters; layers: "
          + ", ".join(layer.name for layer in model.layers[2:]))

# %% [markdown]
# ## Training all of them, with unimodal baselines, over seeds

# %%
results, summary = experiments.compare(
    data, fusions=["early", "concat", "late", "late_weighted", "late_stacker"], seeds=SEEDS,
    epochs=EPOCHS, robustness=False, train_limit=TRAIN_LIMIT)

# %%
columns = ["model", "test_accuracy_mean", "test_accuracy_std", "parameters_mean",
           "train_seconds_mean"]
summary[columns].round(3)

# %%
plots.plot_accuracy(summary, title="av_digits: fusion levels vs single modalities")
plt.show()

# %% [markdown]
# ## Does late fusion beat early fusion here?

# %%
for line in experiments.findings(summary):
    print("-", line)
best_late = experiments.level_leaders(summary)["decision"]["model"]
verdict, sentence = experiments.versus(summary, best_late, "early")
print(f"'Late fusion beats early fusion': {sentence}")

# %% [markdown]
# The committed full study (`results/av_digits/`: every fusion, three seeds, early stopping)
# gives feature-level concat 0.798 ± 0.004 and early 0.774 ± 0.013, against 0.784 ± 0.008 for
# the best late combiner (a learned stacker) and 0.690 ± 0.020 for the plain average of the two
# models' probabilities; each modality alone reaches 0.57–0.58. A digit that is ambiguous in a
# degraded image is often clear in the sound and the other way round: joining features lets
# the model learn such combinations, averaging two weak classifiers' votes cannot. The
# documents' claim (000 §4.3) comes without data; on ours it does not hold: the plain average
# is well behind early fusion, and the learned stacker and early fusion are within one standard
# deviation of each other (a tie over three seeds). It may hold where one modality alone is
# already strong and the other adds noise — try exercise 2.
#
# ## Summary
#
# Same encoders, same budget, three levels of fusion: the level matters more than the choice
# within a level, and the ranking is a property of the data, not a law.
#
# ## Exercises
#
# 1. Repeat with `datasets.load("av_digits", audio_noise=0)` (clean audio). What happens to
#    the gap between the audio-only model and the fusions?
# 2. Make the image useless (`image_energy_removed=0.99`). Does late fusion catch up?
# 3. Run the comparison on `emoji` (image + text). Is the ranking the same?
