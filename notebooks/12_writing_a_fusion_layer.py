# %% [markdown]
# # 12. Writing a fusion layer from scratch
#
# **Goal:** write a fusion that mmkeras does not have — multiplicative (Hadamard product)
# fusion — as a Keras layer of your own: validated arguments, weights made in `build()`,
# `call()` in `keras.ops`, `get_config()` and registration for saving. Check it against
# NumPy, plug it into `mmkeras.build_model`, give it a name so `compare` trains it beside the
# built-in fusions, and save and reload the model with `safe_mode=True`.
#
# Data: `av_digits` (degraded handwritten digits + noisy spoken digits). Measured on a 2-core
# CPU (no GPU), with the cores shared with another training job: about 1 min 15 s (74 s) at
# full size; `MMKERAS_SMOKE=1` takes about 40 s.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
SMOKE = os.environ.get("MMKERAS_SMOKE") == "1"
EPOCHS = 1 if SMOKE else 8
TRAIN_LIMIT = 300 if SMOKE else None
SEED = 0

# %%
import logging
import pathlib
import tempfile

import keras
import numpy as np
from keras import ops

import mmkeras
from mmkeras import datasets, experiments, fusion, training

# compare() below builds a fresh model per fusion; TensorFlow warns about the retracing.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

data = datasets.load("av_digits")
train = data.train.take(TRAIN_LIMIT, seed=SEED) if TRAIN_LIMIT else data.train
print(data)

# %% [markdown]
# ## The idea: multiply the modalities instead of stacking them
#
# Concatenation puts the modalities side by side and leaves every interaction between them to
# the head. Multiplicative fusion (the Hadamard product of Kim et al., 2017, "MLB") makes the
# interaction the representation: each modality is projected to the same width and squashed,
# and the projections are multiplied element by element,
#
# F = tanh(h_1 W_1 + b_1) ⊙ tanh(h_2 W_2 + b_2) ⊙ … ⊙ tanh(h_M W_M + b_M), shape (batch, units).
#
# A feature of F is large only when *every* modality agrees on it: a gate that each modality
# holds over the others. mmkeras's `low_rank` fusion is the linear relative (a sum of `rank`
# such products, no tanh, a 1 appended to each input); `"hadamard"` is not in
# `mmkeras.fusion.FUSIONS`:

# %%
print("hadamard" in fusion.FUSIONS, sorted(fusion.FUSIONS))

# %% [markdown]
# ## The layer
#
# Subclass `mmkeras.fusion.Fusion`, not bare `keras.layers.Layer`: it is a Keras layer with
# three things `build_model` relies on — the class attribute `fusion_level` (what the builder
# feeds the layer: here `"feature"`, one embedding `(batch, d_m)` per modality), a check of the
# list of input shapes (rank, number of modalities, known widths) and the validated,
# serialised `units`. `build_model` refuses a layer that is not a `Fusion` (see below).
#
# What we write ourselves: the extra argument `activation` checked in `__init__` with an
# error that echoes the bad value; one kernel and bias per modality created in `build()`,
# where the input widths are known; `call()` with `keras.ops` only (so it runs on any
# backend); the output shape; `get_config()` with every constructor argument; and the
# decorator that registers the class for saving under a package name of our own.

# %%
ACTIVATIONS = ("tanh", "sigmoid", "linear")


@keras.saving.register_keras_serializable(package="my_fusions")
class HadamardFusion(fusion.Fusion):
    """Multiplicative fusion: the element-wise product of the projected modalities.

    `F = σ(h_1 W_1 + b_1) ⊙ … ⊙ σ(h_M W_M + b_M)`, shape `(batch, units)`.

    Args:
        units: Width every modality is projected to (positive integer).
        activation: σ, one of `"tanh"` (default, as in Kim et al. 2017),
            `"sigmoid"` or `"linear"`.
        **kwargs: Standard layer keyword arguments.
    """

    fusion_level = "feature"
    min_modalities = 2  # the product of one modality is just a projection

    def __init__(self, units=64, activation="tanh", **kwargs):
        super().__init__(units=units, **kwargs)  # validates `units`
        if activation not in ACTIVATIONS:
            raise ValueError(f"`HadamardFusion` needs an activation in {ACTIVATIONS}. "
                             f"Received: activation={activation!r}")
        self.activation = activation

    def build(self, input_shape):
        super().build(input_shape)  # checks the list of per-modality shapes
        self.kernels, self.biases = [], []
        for m, shape in enumerate(input_shape):
            self.kernels.append(self.add_weight(name=f"kernel_{m}", shape=(shape[-1], self.units),
                                                initializer="glorot_uniform"))
            self.biases.append(self.add_weight(name=f"bias_{m}", shape=(self.units,),
                                               initializer="zeros"))

    def call(self, inputs):
        squash = keras.activations.get(self.activation)
        fused = None
        for x, kernel, bias in zip(inputs, self.kernels, self.biases):
            projected = squash(ops.matmul(x, kernel) + bias)
            fused = projected if fused is None else fused * projected
        return fused

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        config = super().get_config()  # has `units` and the standard layer arguments
        config["activation"] = self.activation
        return config


# %% [markdown]
# ## Check it against NumPy
#
# A layer test recomputes the formula in NumPy from the layer's own weights, on a small batch
# with different widths per modality.

# %%
training.seed_everything(SEED)  # the layer's initial weights
rng = np.random.default_rng(SEED)
h = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")]
layer = HadamardFusion(units=6)
output = ops.convert_to_numpy(layer(h))

weights = [ops.convert_to_numpy(w) for w in layer.weights]  # kernel_0, bias_0, kernel_1, bias_1
expected = np.tanh(h[0] @ weights[0] + weights[1]) * np.tanh(h[1] @ weights[2] + weights[3])
np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
print(f"output {output.shape}; largest difference from NumPy: "
      f"{np.abs(output - expected).max():.0e}")
print("weights:", [f"{w.path} {tuple(w.shape)}" for w in layer.weights])

# %% [markdown]
# The configuration round-trips, and bad arguments fail at once with the value received:

# %%
clone = HadamardFusion.from_config(layer.get_config())
print({k: clone.get_config()[k] for k in ("units", "activation")})

for make in (lambda: HadamardFusion(activation="softmax"), lambda: HadamardFusion(units=0),
             lambda: HadamardFusion(units=4)([h[0]])):
    try:
        make()
    except ValueError as error:
        print("ValueError:", error)

# %% [markdown]
# ## Plug it into `build_model`
#
# Pass an instance as `fusion=`: the builder puts the same encoders under it as under any
# built-in fusion (`standard_encoders`: a small CNN for the image, an LSTM for the MFCC
# frames) and the same classification head on top. A plain Keras layer is refused, because
# the builder could not know what to feed it:

# %%
try:
    mmkeras.build_model(mmkeras.encoders.standard_encoders(data), fusion=keras.layers.Concatenate(),
                        num_classes=data.num_classes)
except TypeError as error:
    print("TypeError:", error)

# %%
training.seed_everything(SEED)
model = mmkeras.build_model(mmkeras.encoders.standard_encoders(data), fusion=HadamardFusion(units=64),
                            num_classes=data.num_classes, name="hadamard_fusion")
print(f"{model.count_params():,} parameters")
history, seconds, epochs_run = training.fit_model(
    model, train, data.validation, epochs=EPOCHS, seed=SEED, checkpoint=False)
test_loss, test_accuracy = model.evaluate(data.test.x, data.test.y, verbose=0)
print(f"epochs run: {epochs_run}; test accuracy {test_accuracy:.3f}")

# %% [markdown]
# ## Give it a name, and compare it with the built-in fusions
#
# `register_fusion` adds the class, with default arguments, to `mmkeras.fusion.FUSIONS`: from
# then on `build_model(fusion="hadamard")` and `compare(fusions=[...])` accept the name. The
# comparison trains every model on the same encoders, data, seed and epochs (one seed here:
# differences of a point or two are within the seed spread of `results/av_digits/`). It
# trains `hadamard` afresh, with `compare`'s settings, so its accuracy differs from the model
# above's: one more sign of how much a single run varies.

# %%
fusion.register_fusion("hadamard", HadamardFusion, units=64)
results, summary = experiments.compare(
    data, fusions=["hadamard", "concat", "gated"], seeds=[SEED], epochs=EPOCHS,
    baselines=False, robustness=False, train_limit=TRAIN_LIMIT, verbose=0, figures=False,
    save_models=False)
columns = {"model": "model", "test_accuracy_mean": "test accuracy",
           "parameters_mean": "parameters", "epochs_run_mean": "epochs",
           "train_seconds_mean": "train s"}
table = summary[list(columns)].rename(columns=columns)
table.astype({"parameters": int, "epochs": int}).round(3)

# %% [markdown]
# ## Save and reload, with `safe_mode=True`
#
# A `.keras` file stores each layer's `get_config()` and its class's *registered name*
# (`my_fusions>HadamardFusion`), not the class's code. Loading looks the name up among the
# registered classes and calls `from_config`; `safe_mode=True` (the default) refuses to run
# code stored in the file, such as a `Lambda` layer's. So the file loads wherever the class
# has been defined (imported) with its decorator, and the reloaded model computes the same
# outputs.

# %%
folder = pathlib.Path(tempfile.mkdtemp())
path = folder / "hadamard_fusion.keras"
model.save(path)
reloaded = keras.models.load_model(path, safe_mode=True)
sample = data.test.take(64, seed=SEED).x
before, after = model.predict(sample, verbose=0), reloaded.predict(sample, verbose=0)
np.testing.assert_allclose(before, after, rtol=1e-6, atol=1e-6)
print(f"{path.name}: reloaded, {type(fusion.fusion_layer(reloaded)).__name__}, "
      f"largest output difference {float(np.abs(before - after).max())}")
print("registered as:", keras.saving.get_registered_name(HadamardFusion))

# %% [markdown]
# Without the registration the file cannot be read. Here we hide the class from Keras for one
# load (and put it back), as in a fresh Python session that never defined it:

# %%
registered = keras.saving.get_custom_objects()
name = keras.saving.get_registered_name(HadamardFusion)
hidden = registered.pop(name)
try:
    keras.models.load_model(path, safe_mode=True)
except TypeError as error:
    message = str(error)  # long: the model's config follows the reason
    start, end = message.find("Could not locate"), message.find("Full object config")
    print("TypeError:", message[start:end].strip() if start >= 0 else message[:300])
finally:
    registered[name] = hidden

# %% [markdown]
# ## Summary
#
# A fusion of your own is a `mmkeras.fusion.Fusion` subclass with a `fusion_level`, weights
# made in `build()` from the input widths, a `call()` in `keras.ops`, and a `get_config()`
# with every argument; check it against NumPy before training it. Passed as
# `build_model(fusion=HadamardFusion())`, it gets the same encoders and head as the built-in
# fusions; `register_fusion("hadamard", ...)` makes it a name `compare` can train beside
# them. The `register_keras_serializable` decorator is what lets a saved model load again
# (with `safe_mode=True`) in any program that imports the class. Whether multiplying beats
# concatenating is a question for several seeds, not one.
#
# ## Exercises
#
# 1. Run the comparison with `seeds=[0, 1, 2]`. Is the gap between `hadamard` and `concat`
#    larger than the seed spread?
# 2. Add a residual sum, F = Σ_m u_m + ⊙_m u_m with u_m = tanh(h_m W_m + b_m), as a new
#    argument `residual=False` (validate it, add it to `get_config()`, extend the NumPy check).
#    Does it train faster in the first epochs?
# 3. Write `MaxFusion` (the element-wise maximum of the projections, see the example in
#    `help(fusion.Fusion)`), register it as `"max"` and compare it with `sum`.
# 4. Move `HadamardFusion` into a module `my_fusions.py`, restart the kernel, and load the saved
#    model after `import my_fusions`. What happens if you forget the import?
