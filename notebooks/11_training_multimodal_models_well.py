# %% [markdown]
# # 11. Training multimodal models well
#
# **Goal:** see the classic failure of jointly trained fusion models — *modality imbalance*:
# with one modality missing, a fused model falls below the other modality's own unimodal
# model — and train the remedies the literature proposes, reading the code that makes each
# one work: modality dropout, auxiliary unimodal heads, OGM-GE gradient modulation (Peng et
# al. 2022) and pretrain-then-fuse with frozen encoders. Then train two tasks on one trunk
# (emoji category and subcategory), and start a text encoder from word vectors.
#
# **Prerequisites:** notebook 4 (fusion levels, `build_model`) and notebook 5 (`compare`,
# modality dropout, robustness to a missing modality); Keras `fit` with callbacks.
#
# **Time:** about 3 min 25 s (206 s) at full size on a 2-core CPU, no GPU (`av_digits`, at
# most 8 epochs per model, early stopping patience 2, one seed); `MMKERAS_SMOKE=1`
# 63 s. The three-seed study of the same remedies on both datasets, trained longer (at most
# 10 epochs, patience 4), is quoted at the end.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 8
TRAIN_LIMIT = 256 if SMOKE else None
SEED = 0

# %%
import inspect
import pathlib
import tempfile

import keras
import numpy as np
import pandas as pd

import mmkeras
from mmkeras import datasets
from mmkeras.encoders import standard_encoders
from mmkeras.evaluation import accuracy, missing_modality_accuracy
from mmkeras.training import fit_model, seed_everything

work = pathlib.Path(tempfile.mkdtemp(prefix="lesson11-"))
data = datasets.load("av_digits")
train = data.train.take(TRAIN_LIMIT, seed=SEED) if TRAIN_LIMIT else data.train
test = data.test
fit = dict(epochs=EPOCHS, patience=2, batch_size=128, seed=SEED, checkpoint=False)


def report(model, name):
    """Test accuracy with every input and with each modality missing (zeros)."""
    inputs = test.select([t.name for t in model.inputs])
    row = {"model": name, "accuracy": accuracy(model, inputs.x, inputs.y)}
    for m in data.modalities:
        if len(model.inputs) > 1:
            row[f"missing {m}"] = missing_modality_accuracy(model, inputs.x, inputs.y, m)
    return row


rows = {}  # model name → its row: a cell run again replaces its model's row, it adds none


def add(row):
    """Keeps `row` in `rows`, in place of an older row of the same model."""
    rows[row["model"]] = row


def table(*names):
    """The rows of these models, in this order (all rows if none is named)."""
    return pd.DataFrame([rows[name] for name in names or rows])

# %% [markdown]
# ## The failure: a fused model leans on one modality
#
# Train each modality alone, then `concat` fusion on both. Then blank one modality at test
# time (its input all zeros): does the fused model still do as well as the other modality's
# own model? For a model with a modality dropout layer (remedy 1 below),
# `missing_modality_accuracy` blanks the modality differently: that layer replaces its
# *embedding* as in training (zeros here), so its encoder's output on a blank input never
# reaches the head. `pretrain_encoders` trains one unimodal model per encoder, in place, so
# the same trained encoders serve again in remedy 4.

# %%
from mmkeras.training.pretraining import pretrain_encoders

seed_everything(SEED)
pretrained = standard_encoders(data)
unimodal = pretrain_encoders(pretrained, train, data.validation, data.num_classes,
                             epochs=EPOCHS, patience=2, batch_size=128, seed=SEED)
for m, model in unimodal.items():
    add(report(model, f"{m} only"))

seed_everything(SEED)
plain = mmkeras.build_model(standard_encoders(data), "concat", num_classes=10, dropout=0.2)
fit_model(plain, train, data.validation, **fit)
add(report(plain, "concat (plain)"))
table().round(3)

# %% [markdown]
# Read the last row against the first two (their NaN cells are tests that do not apply: a
# model of one modality has no other to fall back on). With the image blanked, the fused model
# has only the audio left, and the fair reference is the audio-only model; with the audio
# blanked, the image-only model. The *gap* is the difference: below zero, the fused model
# answers worse from a modality than that modality's own model does.

# %%
def gaps(row):
    """Missing-modality accuracy minus the remaining modality's own model."""
    return {m: row[f"missing {m}"] - rows[f"{other} only"]["accuracy"]
            for m, other in (("image", "audio"), ("audio", "image"))}


plain_gaps = gaps(rows["concat (plain)"])
worst = min(plain_gaps, key=plain_gaps.get)
print(f"gap with the image missing: {plain_gaps['image']:+.3f}; "
      f"with the audio missing: {plain_gaps['audio']:+.3f}")
print(f"The fused model leans on the {worst}: without it, it falls "
      f"{-plain_gaps[worst]:.3f} below the {'audio' if worst == 'image' else 'image'}-only "
      "model.")

# %% [markdown]
# Trained jointly, the encoders compete for the same loss: the modality that lowers it
# fastest takes most of the gradient, and the other encoder stays weaker than it would be
# alone (Wang et al. 2020, "What makes training multimodal classification networks hard?").
# The head, too, only ever saw both modalities, so it never learned to answer from one.
#
# ## Remedy 1: modality dropout
#
# Drop a whole modality per training sample — replace its embedding by zeros — so that the
# head must answer from each modality alone. In Keras terms, a layer between the encoders and
# the fusion; its `call` in training:

# %%
from mmkeras.fusion import ModalityDropout

print(inspect.getsource(ModalityDropout.call))

# %%
seed_everything(SEED)
dropped = mmkeras.build_model(standard_encoders(data), "concat", num_classes=10, dropout=0.2,
                              modality_dropout=0.3)
fit_model(dropped, train, data.validation, **fit)
add(report(dropped, "concat + modality dropout"))
table("concat (plain)", "concat + modality dropout").round(3)

# %% [markdown]
# ## Remedy 2: auxiliary unimodal heads
#
# A classifier on each modality's embedding, trained jointly with the fused head:
# `L = CE(y, f(z)) + Σ_m w_aux · CE(y, g_m(h_m))` (`w_aux = auxiliary_weight`, 1 by default).
# Every encoder must now classify on its own. `build_multitask_model` names the outputs;
# `single_output` keeps one of them for inference.

# %%
from mmkeras.tasks.multitask import build_multitask_model, single_output, task_labels

stop = keras.callbacks.EarlyStopping(monitor="val_digit_loss", mode="min", patience=2,
                                     restore_best_weights=True)


def fit_heads(model):
    """Trains a multi-output model: each output gets the digit labels."""
    model.fit(train.x, task_labels(model, {"digit": train.y}),
              validation_data=(data.validation.x,
                               task_labels(model, {"digit": data.validation.y})),
              epochs=EPOCHS, batch_size=128, callbacks=[stop], verbose=0)


seed_everything(SEED)
auxiliary = build_multitask_model(standard_encoders(data), {"digit": 10}, "concat",
                                  auxiliary_heads=True, dropout=0.2)
print("outputs:", sorted(auxiliary.output))
fit_heads(auxiliary)
add(report(single_output(auxiliary, "digit"), "concat + auxiliary heads"))
heads = {m: round(accuracy(single_output(auxiliary, f"{m}_aux"), test.x, test.y), 3)
         for m in data.modalities}
print("each auxiliary head alone:", heads)

# %% [markdown]
# Each auxiliary head alone does about as well as its modality's unimodal model, here a
# little better (image 0.57 against 0.563, audio 0.513 against 0.483): the encoders now
# classify alone. The fused head does not answer from one modality: it never trained with a
# modality missing, and with the image missing it falls to 0.373 (its row in the tables
# below), under the audio-only model's 0.483.
#
# ## Remedy 3: OGM-GE, on-the-fly gradient modulation
#
# Peng et al. (2022) score each modality on every batch, `s_m = Σ_i p_m(y_i | x_i)`, and slow
# down the encoder of the modality ahead: `k_m = 1 − tanh(α ρ_m)` when
# `ρ_m = s_m / mean_{j≠m} s_j > 1`, else 1. Its gradient becomes `k_m g + ε` with
# `ε ~ N(0, std(g)²)` (the "generalisation enhancement"). For two modalities scored 30 and 10
# (the first three times ahead), with α = 0.5:

# %%
from mmkeras.training.balancing import OGMGE, ogm_coefficients

k = keras.ops.convert_to_numpy(ogm_coefficients(np.array([30.0, 10.0]), alpha=0.5))
print(f"k = {k[0]:.3f} for the modality ahead (its gradient cut to {k[0]:.0%}), "
      f"{k[1]:.3f} for the other")

# %% [markdown]
# `OGMGE` is a `keras.Model` with its own `train_step`: a `GradientTape` over the loss, the
# scores from probe heads (which read the embeddings without training the encoders), then
# every encoder's gradients scaled by its `k_m` (`modulate`) before the optimizer applies
# them:

# %%
print(inspect.getsource(OGMGE.train_step))
print(inspect.getsource(OGMGE.modulate))

# %%
seed_everything(SEED)
probe = build_multitask_model(standard_encoders(data), {"digit": 10}, "concat",
                              auxiliary_heads="probe", dropout=0.2, compile=False)
balanced = OGMGE(probe.input, probe.output, alpha=0.5, seed=SEED)
mmkeras.tasks.multitask.compile_multitask(balanced)
fit_heads(balanced)
add(report(single_output(balanced, "digit"), "concat + OGM-GE"))
table("concat + modality dropout", "concat + auxiliary heads", "concat + OGM-GE").round(3)

# %% [markdown]
# ## Remedy 4: pretrain, then fuse
#
# The unimodal models of the first section trained their encoders alone. Fuse those same
# encoders, freeze them, and train only the fusion and the head. Freezing in Keras is one
# attribute per layer — `layer.trainable = False` — read when the model is compiled:

# %%
from mmkeras.training.pretraining import set_encoders_trainable

seed_everything(SEED)
fused = mmkeras.build_model(pretrained, "concat", num_classes=10, dropout=0.2)
frozen = set_encoders_trainable(fused, False)  # the `<modality>_encoder` layers
fused.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
print("frozen:", frozen, "| trainable weights left:",
      f"{sum(int(np.prod(w.shape)) for w in fused.trainable_weights):,} of "
      f"{fused.count_params():,}")
fit_model(fused, train, data.validation, **fit)
add(report(fused, "concat, pretrained encoders frozen"))

# %% [markdown]
# ## Remedies 1 + 4: frozen pretrained encoders, a head trained with modalities dropped
#
# Frozen pretrained encoders answer alone as well as the unimodal models do; what fails with
# a modality missing is the head, which never saw one missing. Train the head with modality
# dropout on top of the same frozen encoders.

# %%
seed_everything(SEED)
fused_dropped = mmkeras.build_model(pretrained, "concat", num_classes=10, dropout=0.2,
                                    modality_dropout=0.3)
set_encoders_trainable(fused_dropped, False)
fused_dropped.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
fit_model(fused_dropped, train, data.validation, **fit)
add(report(fused_dropped, "concat, pretrained frozen + modality dropout"))
fused_rows = table(*(name for name in rows if name.startswith("concat")))
fused_rows["worst gap"] = [min(gaps(r).values()) for _, r in fused_rows.iterrows()]
fused_rows.round(3)

# %% [markdown]
# The "worst gap" column puts the remedies side by side in this run: the closer to zero (or
# above), the better the model answers from either modality alone, measured against that
# modality's own model. One seed on one dataset is not evidence: differences of a few points
# can be seed-to-seed noise. In the study below, `concat` on `av_digits` has a standard
# deviation over three seeds of 0.005–0.014 with every input and 0.013–0.066 with a
# modality missing (up to 0.084 for `gated` and `attention`).
#
# Two tests share the "missing" columns: for the two rows with modality dropout, the dropout
# layer zeroes the missing modality's embedding; for the others, the modality's input is all
# zeros and its encoder still turns that blank input into an embedding the head reads.
#
# ## The three-seed study's answer
#
# The same six ways of training — plain, modality dropout, auxiliary heads, OGM-GE,
# pretrain-then-fuse, and pretrain-then-fuse with modality dropout — were run for `concat`,
# `gated` and `attention` fusion, seeds 0–2, on `av_digits` and `emoji` (the repository's
# `results/training_strategies/results.md`, also on the documentation site's Results page).
# The study trained longer than this notebook: at most 10 epochs, early stopping patience 4
# (here 8 and 2; the study script warns that a patience of 2 can stop the image CNN at
# chance level, its validation loss flat for the first epochs; here it did not, image only
# 0.563). Its numbers differ from this run's: the audio-only model 0.550 ± 0.009 (here
# 0.483), plain `concat`'s gap with the image missing −0.340 (here −0.143).
# Mean over the three fusions; *vs plain* is full-input accuracy minus the plainly trained
# fusion; *worst gap* as above:
#
# | dataset | strategy | accuracy | vs plain | worst gap |
# |---|---|---|---|---|
# | av_digits | plain | 0.772 | +0.000 | −0.333 |
# | av_digits | modality dropout | 0.759 | −0.013 | −0.057 |
# | av_digits | auxiliary heads | 0.778 | +0.006 | −0.296 |
# | av_digits | OGM-GE | 0.755 | −0.017 | −0.369 |
# | av_digits | pretrain-then-fuse | 0.796 | +0.024 | −0.320 |
# | av_digits | pretrain-then-fuse + modality dropout | 0.801 | +0.029 | −0.013 |
# | emoji | plain | 0.671 | +0.000 | −0.367 |
# | emoji | modality dropout | 0.665 | −0.006 | −0.123 |
# | emoji | auxiliary heads | 0.688 | +0.016 | −0.376 |
# | emoji | OGM-GE | 0.633 | −0.038 | −0.287 |
# | emoji | pretrain-then-fuse | 0.725 | +0.054 | −0.378 |
# | emoji | pretrain-then-fuse + modality dropout | 0.745 | +0.074 | −0.019 |
#
# - No remedy passes the strict test — every gap ≥ 0 with full-input accuracy no more than
#   0.01 below plain — for all three fusions on both datasets.
# - Frozen pretrained encoders with modality dropout in the head come closest: worst gaps of
#   −0.013 and −0.019, within the seed spread of zero, and the most accurate with every input.
# - Modality dropout alone closes most of the gap on `av_digits` (−0.057), less on `emoji`
#   (−0.123). Pretraining alone raises full-input accuracy but leaves the gap: the head never
#   learned to answer from one modality.
# - Auxiliary heads changed little (a slightly smaller gap on `av_digits`, a slightly larger
#   one on `emoji`); OGM-GE with Adam lowered full-input accuracy without closing the gap.

# %% [markdown]
# ## Two tasks on one trunk: emoji category and subcategory
#
# `load("emoji", extra_labels=("subcategory",))` keeps `split.y` as the category (9 classes)
# and adds `split.targets["subcategory"]` (98); `split.labels("category")` gives both. One
# trunk, two heads, one loss weight each.

# %%
from mmkeras.evaluation.multitask import evaluate_tasks

emoji = datasets.load("emoji", extra_labels=("subcategory",))
e_train = emoji.train.take(TRAIN_LIMIT, seed=SEED) if TRAIN_LIMIT else emoji.train
print(emoji.tasks)
stop_emoji = keras.callbacks.EarlyStopping(monitor="val_category_loss", mode="min",
                                           patience=2, restore_best_weights=True)
seed_everything(SEED)
multitask = build_multitask_model(standard_encoders(emoji), emoji.tasks, "concat",
                                  loss_weights={"subcategory": 0.5}, dropout=0.2)
multitask.fit(e_train.x, e_train.labels("category"),
              validation_data=(emoji.validation.x, emoji.validation.labels("category")),
              epochs=EPOCHS, batch_size=128, callbacks=[stop_emoji], verbose=0)
seed_everything(SEED)
single = mmkeras.build_model(standard_encoders(emoji), "concat", num_classes=9, dropout=0.2)
fit_model(single, e_train, emoji.validation, **fit)
scores = evaluate_tasks(multitask, emoji.test.x, emoji.test.labels("category"))
both = scores["category"]["accuracy"]
alone = accuracy(single, emoji.test.x, emoji.test.y)
print(f"category accuracy: {both:.3f} with the subcategory head, {alone:.3f} alone "
      f"({both - alone:+.3f}); subcategory: {scores['subcategory']['accuracy']:.3f}")

# %% [markdown]
# One run: compare the difference printed above with the category-only model's seed spread
# (± 0.026 over three seeds). Over three seeds (the study above), the shared trunk helped the
# coarse task and cost the fine one: category 0.736 ± 0.013 against 0.702 ± 0.026 for the
# category-only model (+0.034), subcategory 0.433 ± 0.024 against 0.501 ± 0.010. The study's
# multi-task model was trained differently from the one above: both losses weighed 1 (here
# the subcategory's 0.5), early stopping watched the total validation loss (here the
# category's alone), at most 10 epochs with patience 4 (here 8 and 2, for the category-only
# model too). So this run's −0.008 and the study's +0.034 differ in recipe, not only in seed.
#
# ## Word vectors for a text encoder
#
# `set_word_vectors` puts a GloVe or word2vec text file's vectors at the vocabulary's ids of
# a text encoder's `Embedding`, and lists the words the file lacks. No vectors ship with
# mmkeras (GloVe files are hundreds of MB); here a small file of made-up vectors shows the
# mechanics. `load_encoder` likewise takes an encoder out of a saved `.keras` model (or, for
# users who are online, a `keras.applications` or keras-hub preset).

# %%
from mmkeras.encoders.pretrained import load_encoder, set_word_vectors

unimodal["image"].save(work / "image_only.keras")
image_encoder = load_encoder(str(work / "image_only.keras"), trainable=False)
print(image_encoder.name, "->", image_encoder.output.shape)

rng = np.random.default_rng(0)
words = emoji.vocabulary[2:50]
(work / "vectors.txt").write_text(
    "".join(f"{w} " + " ".join(f"{v:.3f}" for v in rng.normal(size=64)) + "\n"
            for w in words[::2]), encoding="utf-8")
text_encoder = standard_encoders(emoji, ["text"])["text"]
found = set_word_vectors(text_encoder, str(work / "vectors.txt"), emoji.vocabulary)
print(found["found"], "words found;", len(found["unknown"]), "not in the file, e.g.",
      found["unknown"][:5])

# %% [markdown]
# ## Summary
#
# - Trained jointly on `av_digits`, the fused model answered worse from one modality than
#   that modality's own model — modality imbalance; the printed gaps say which modality it
#   leaned on in this run.
# - Modality dropout (a layer that zeroes whole embeddings in training), auxiliary heads
#   (one more loss per encoder), OGM-GE (a `train_step` that scales each encoder's
#   gradients) and pretrain-then-fuse (`trainable = False` on the encoders) attack it in
#   different ways. Over three seeds, three fusions and two datasets, two remedies combined,
#   frozen pretrained encoders with a head trained under modality dropout, came closest to
#   closing the gap and were the most accurate with every input. No remedy on its own did
#   both: modality dropout alone closed much of the gap but lost a little accuracy, and
#   pretraining alone raised the accuracy but left the gap.
# - `build_multitask_model` trains several named targets on one trunk; over three seeds the
#   shared trunk helped emoji's category and cost its subcategory.
# - `set_word_vectors` and `load_encoder` start encoders from vectors or saved models.
#
# ## Exercises
#
# 1. Raise `modality_dropout` to 0.5: what happens to the full-input accuracy and to the
#    worst gap?
# 2. Train the auxiliary-heads model with `auxiliary_weight=3.0`: does a heavier weight on
#    the unimodal heads change the fused head's accuracy or its worst gap?
# 3. Take the best model above (frozen pretrained encoders, head trained with modality
#    dropout), unfreeze its encoders and fine-tune everything for 2 epochs with a small
#    learning rate (1e-4): does its worst gap stay near zero?
# 4. Give the multi-task model `loss_weights={"subcategory": 2.0}`: does the category gain
#    from a heavier fine task?
#
# ## Solutions
#
# The solutions are collapsed: click a cell to open it. Each trains one model like those
# above and prints its row.

# %% tags=["solution"]
# Exercise 1: modality dropout 0.5.
seed_everything(SEED)
half = mmkeras.build_model(standard_encoders(data), "concat", num_classes=10, dropout=0.2,
                           modality_dropout=0.5)
fit_model(half, train, data.validation, **fit)
row = report(half, "concat + modality dropout 0.5")
print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()},
      "worst gap", round(min(gaps(row).values()), 3))
# Compare the accuracy and the worst gap with the 0.3 row above: the head now sees both
# modalities in only half of the samples (a quarter keep both, and the quarter that would
# lose both keep both too: ModalityDropout never blanks every modality of a sample).

# %% tags=["solution"]
# Exercise 2: auxiliary heads weighted 3.
seed_everything(SEED)
heavy = build_multitask_model(standard_encoders(data), {"digit": 10}, "concat",
                              auxiliary_heads=True, auxiliary_weight=3.0, dropout=0.2)
fit_heads(heavy)
row = report(single_output(heavy, "digit"), "concat + auxiliary heads × 3")
print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()},
      "worst gap", round(min(gaps(row).values()), 3))
# Compare with the weight-1 row above: the encoders are pushed harder to classify alone, but
# the fused head still trains on both modalities only.

# %% tags=["solution"]
# Exercise 3: unfreeze the best model's encoders and fine-tune everything.
# Warning: these encoders are the `pretrained` objects, shared with unimodal["image"],
# unimodal["audio"] and fused (pretrain_encoders trained them in place). Unfreezing and
# fine-tuning them here changes those models too: a cell above re-run after this one gives
# other numbers (the rows already in `rows` keep theirs until their cells run again). Re-run
# from the top to undo it.
set_encoders_trainable(fused_dropped, True)
fused_dropped.compile(optimizer=keras.optimizers.Adam(1e-4),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
fit_model(fused_dropped, train, data.validation, **{**fit, "epochs": 1 if SMOKE else 2})
row = report(fused_dropped, "pretrained + modality dropout, fine-tuned")
print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()},
      "worst gap", round(min(gaps(row).values()), 3))
# Compare with the frozen model's row above: fine-tuning trains the encoders jointly again,
# under modality dropout this time.

# %% tags=["solution"]
# Exercise 4: a heavier subcategory task.
seed_everything(SEED)
heavier = build_multitask_model(standard_encoders(emoji), emoji.tasks, "concat",
                                loss_weights={"subcategory": 2.0}, dropout=0.2)
heavier.fit(e_train.x, e_train.labels("category"),
            validation_data=(emoji.validation.x, emoji.validation.labels("category")),
            epochs=EPOCHS, batch_size=128, callbacks=[stop_emoji], verbose=0)
scores = evaluate_tasks(heavier, emoji.test.x, emoji.test.labels("category"))
print({task: round(s["accuracy"], 3) for task, s in scores.items()})
# One seed: compare with the 0.5 weight above, and remember the seed spread (0.01–0.03).
