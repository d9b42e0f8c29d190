# %% [markdown]
# # 6. Inside attention and gates
#
# **Goal:** open up the fusions that say what they rely on — the learned α of the weighted
# sum, per-sample modality attention, cross-modal attention between image regions and words,
# and the gates of the Gated Multimodal Unit — and read them per class.
#
# Data: `emoji` (image + name). Measured on a 2-core CPU (no GPU), otherwise idle: about
# 1.5 min (97 s) at full size; `MMKERAS_SMOKE=1` takes about 40 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 10
TRAIN_LIMIT = 300 if SMOKE else None

# %%
import matplotlib.pyplot as plt
import pandas as pd

import mmkeras
from mmkeras import datasets, fusion, training

data = datasets.load("emoji")
train = data.train if TRAIN_LIMIT is None else data.train.take(TRAIN_LIMIT)
test = data.test
names = data.class_names


def trained(fusion_name):
    training.seed_everything(0)
    model = mmkeras.build_model(mmkeras.encoders.standard_encoders(data), fusion=fusion_name,
                                num_classes=data.num_classes, dropout=0.2)
    model.fit(train.x, train.y, validation_data=(data.validation.x, data.validation.y),
              epochs=EPOCHS, batch_size=64, verbose=0)
    accuracy = model.evaluate(test.x, test.y, verbose=0)[1]
    print(f"{fusion_name}: test accuracy {accuracy:.3f}")
    return model


models = {name: trained(name) for name in ("weighted", "attention", "gated", "cross_attention")}

# %% [markdown]
# ## Weighted sum: one α per modality for the whole data set
#
# F = α_image · P(h_image) + α_text · P(h_text), α = softmax(w) learned.

# %%
readout = fusion.fusion_readout(models["weighted"])
{m: round(float(w), 3) for m, w in zip(readout["modalities"], readout["modality_weights"])}

# %% [markdown]
# α is a global preference, and with projections before it, α and the projection scales
# trade off: read it together with the per-sample views below.
#
# ## Modality attention: α per sample, averaged per class

# %%
readout = fusion.fusion_readout(models["attention"], test.x)
weights = pd.DataFrame(readout["attention_weights"], columns=readout["modalities"])
weights["class"] = [names[y] for y in test.y]
per_class = weights.groupby("class").mean().round(3)
per_class

# %%
per_class.plot.barh(stacked=True, figsize=(6, 3.5), title="attention weight per modality")
plt.show()

# %% [markdown]
# ## Gated Multimodal Unit: a gate per feature
#
# z ∈ [0, 1] for each feature and sample says how much of that feature came from each
# modality. The mean gate per class shows which classes lean on the picture.

# %%
readout = fusion.fusion_readout(models["gated"], test.x)
gates = readout["gates"].mean(axis=2)  # (samples, modalities)
gate_table = pd.DataFrame(gates, columns=readout["modalities"])
gate_table["class"] = [names[y] for y in test.y]
gate_table.groupby("class").mean().round(3)

# %% [markdown]
# ## Cross-modal attention: which words each image region looks at, and back
#
# The image's 8×8 feature-map positions attend over the name's tokens, and each token attends
# over the positions. Padding tokens get zero attention.

# %%
readout = fusion.fusion_readout(models["cross_attention"], test.x)
order = readout["modalities"]  # sorted: image, text
image_to_text = readout["attention_maps"][order.index("image")]  # (n, heads, 64, tokens)
text_to_image = readout["attention_maps"][order.index("text")]  # (n, heads, tokens, 64)
print(image_to_text.shape, text_to_image.shape)

# %% [markdown]
# Per example: the picture; the attention its 64 regions give each word (mean over heads and
# regions); where the words look in the picture (mean over heads and words, on the 8×8 grid).
# `mmkeras.plots.plot_cross_attention` draws it from the readout (the README's figure comes
# from the same function).

# %%
examples = [0, 2, 40, 100] if len(test.y) > 100 else [0, 1]
some = {"modalities": order, "attention_maps": [m[examples] for m in readout["attention_maps"]]}
mmkeras.plots.plot_cross_attention(some, test.x["image"][examples], test.x["text"][examples],
                                   data.vocabulary, [names[y] for y in test.y[examples]])
plt.show()

# %% [markdown]
# ## Summary
#
# Attention weights and gates are cheap to read and tempting to over-interpret: they show
# where the fusion put weight, not why the prediction is right. Check a reading against
# `mmkeras.evaluation.modality_contributions` (accuracy lost when a modality goes missing).

# %%
pd.Series(mmkeras.evaluation.modality_contributions(models["gated"], test.x, test.y)).round(3)

# %% [markdown]
# ## Exercises
#
# 1. Which emoji category relies most on the picture under modality attention? Does
#    leave-one-modality-out agree?
# 2. Retrain `cross_attention` with `num_heads=4` (`fusion.CrossModalAttentionFusion(num_heads=4)`).
#    Do the heads look at different words?
# 3. Give the weighted sum fixed weights (`fusion.WeightedSumFusion(alpha=[0.9, 0.1],
#    learn_alpha=False)`). How much accuracy does the fixed choice cost?
