"""The base class of every fusion layer."""

import keras

from mmkeras.layers.composite_layer import CompositeLayer
from mmkeras.utils.validation import check_divisible, check_positive_int, check_rate

FUSION_LEVELS = ("early", "sequence", "feature", "decision")

# What each modality's tensor looks like at each level: (batch, features) or
# (batch, steps, features).
INPUT_RANKS = {"early": 3, "sequence": 3, "feature": 2, "decision": 2}


@keras.saving.register_keras_serializable(package="mmkeras")
class Fusion(CompositeLayer):
    """Base class of fusion layers: joins a list of per-modality tensors into one.

    A fusion receives `[x_1, …, x_M]`, one tensor per modality in the order
    `build_model` gives them (sorted modality names), and returns one fused
    tensor. The class attribute `fusion_level` tells the builder what each
    `x_m` is:

    | level | `x_m` | after the fusion |
    |---|---|---|
    | `"early"` | shallow features as tokens `(batch, T_m, d_m)`, with masks | head |
    | `"sequence"` | the encoder's sequence `(batch, T_m, d_m)`, with masks | head |
    | `"feature"` | the encoder's embedding `(batch, d_m)` | head |
    | `"decision"` | class logits of a per-modality head `(batch, classes)` | nothing (probabilities) |

    The base class checks the list of input shapes in `build()` (rank from
    the level, `min_modalities` to `max_modalities` entries, known feature
    widths), validates and serialises `units`, builds per-modality
    projections (`build_projections`), gives the output shape
    `(batch, units)`, and has a `readout()` that subclasses extend with what
    they learned (weights, attention, gates).

    A subclass implements `call(inputs)` (and `mask=` for the early and
    sequence levels), creates its weights in `build()` after calling
    `super().build(input_shape)`, and overrides `compute_output_shape()`
    when the output is not `(batch, units)`.

    Args:
        units: Width of the fused output or of the per-modality projections
            (a positive integer; `None` only where a subclass allows it).
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> class MaxFusion(Fusion):
    ...     fusion_level = "feature"
    ...     def build(self, input_shape):
    ...         super().build(input_shape)
    ...         self.projections = self.build_projections(input_shape)
    ...     def call(self, inputs):
    ...         projected = [p(x) for p, x in zip(self.projections, inputs)]
    ...         return keras.ops.max(keras.ops.stack(projected, axis=1), axis=1)
    >>> tuple(MaxFusion(units=4)([np.ones((2, 3)), np.ones((2, 5))]).shape)
    (2, 4)
    """

    fusion_level = None
    min_modalities = 1
    max_modalities = None
    # Subclasses without a width (late fusion) set `has_units = False`; those
    # for which `units=None` means "no projection" set `units_optional = True`.
    has_units = True
    units_optional = False

    def __init__(self, units=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        if not self.has_units:
            if units is not None:
                raise ValueError(f"`{name}` has no `units` argument. Received: units={units!r}")
            return
        self.units = check_positive_int("units", units, owner=name,
                                        allow_none=self.units_optional)

    @property
    def input_rank(self):
        """2 for `(batch, features)` inputs, 3 for `(batch, steps, features)`."""
        return INPUT_RANKS[self.fusion_level]

    def build(self, input_shape):
        self.check_input_shape(input_shape)

    def check_input_shape(self, input_shape):
        """Raises unless `input_shape` is a list of per-modality shapes this layer fuses."""
        name, rank = type(self).__name__, self.input_rank
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(
                input_shape[0], (list, tuple)):
            raise ValueError(
                f"{name} expects a list of per-modality tensors. Received: input_shape={input_shape}")
        count, low, high = len(input_shape), self.min_modalities, self.max_modalities
        if count < low or (high is not None and count > high):
            wanted = (f"{low}" if high == low else f"{low} to {high}" if high
                      else f"at least {low}")
            raise ValueError(f"{name} fuses {wanted} modalities. Received: {count} "
                             f"(input_shape={input_shape})")
        layout = "(batch, features)" if rank == 2 else "(batch, steps, features)"
        for shape in input_shape:
            if len(shape) != rank:
                raise ValueError(f"{name} expects {layout} per modality. "
                                 f"Received: input_shape={input_shape}")
            if shape[-1] is None:
                raise ValueError(f"{name} needs a known feature width. "
                                 f"Received: input_shape={input_shape}")

    def build_projections(self, input_shape, units=None, activation=None, prefix="projection"):
        """One `Dense(units)` per modality (default `self.units`), built for its shape."""
        projections = []
        for i, shape in enumerate(input_shape):
            dense = keras.layers.Dense(units or self.units, activation=activation,
                                       dtype=self.dtype_policy, name=f"{prefix}_{i}")
            dense.build(tuple(shape))
            projections.append(dense)
        return projections

    def for_modalities(self, modalities):
        """The layer to use for inputs from `modalities` (names, in input order).

        Returns `self`, or a configured copy where an argument names a
        modality (`FiLMFusion(conditioning="audio")`); never changes `self`.
        """
        return self

    def readout(self, inputs=None, mask=None):
        """What the layer learned, as a dict of NumPy arrays (empty by default).

        Subclasses add their interpretable quantities: weights that do not
        depend on the sample always, per-sample ones (attention, gates) when
        `inputs` (and, at the early and sequence levels, `mask`) are given.
        """
        return {}

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        config = super().get_config()
        if self.has_units:
            config["units"] = self.units
        return config



@keras.saving.register_keras_serializable(package="mmkeras")
class AttentionFusion(Fusion):
    """Base class of fusions built on multi-head attention over `units`-wide tokens.

    Validates and serialises `num_heads` and `dropout`, and sets
    `key_dim = units / num_heads`, which must be whole: a width that the
    heads do not divide raises instead of being rounded.

    Args:
        units: Token width, divisible by `num_heads`.
        num_heads: Attention heads.
        dropout: Attention dropout rate in [0, 1).
        **kwargs: Standard layer keyword arguments.
    """

    def __init__(self, units=64, num_heads=2, dropout=0.0, **kwargs):
        super().__init__(units=units, **kwargs)
        owner = type(self).__name__
        self.num_heads = check_positive_int("num_heads", num_heads, owner=owner)
        self.dropout = check_rate("dropout", dropout, owner=owner)
        check_divisible("units", self.units, "num_heads", self.num_heads, owner=owner)
        self.key_dim = self.units // self.num_heads

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads, "dropout": self.dropout})
        return config


def to_numpy(value):
    """A backend tensor (or a list of them) as NumPy."""
    if isinstance(value, (list, tuple)):
        return [to_numpy(v) for v in value]
    return keras.ops.convert_to_numpy(value)
