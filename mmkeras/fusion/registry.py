"""Names of fusion strategies and how the builder finds them.

A fusion is a subclass of `mmkeras.fusion.Fusion` whose class attribute
`fusion_level` tells the builder what to feed it:

| level | the layer receives | then |
|---|---|---|
| `"early"` | each modality's shallow features as a token sequence, with masks | classification head |
| `"sequence"` | each encoder's sequence output `(batch, steps, dim)`, with masks | classification head |
| `"feature"` | each modality's embedding `(batch, dim)` | classification head |
| `"decision"` | each modality's class logits from its own head | nothing: it outputs probabilities |

To add a fusion, subclass `Fusion`, set `fusion_level`, implement `call`
(see `Fusion` for the rest) and register it:
`register_fusion("name", MyFusion, **default_kwargs)`. The builder needs no
change.
"""

import keras

from mmkeras.fusion.base_fusion import FUSION_LEVELS, Fusion

# name -> (layer class, default constructor arguments)
FUSIONS = {}


def register_fusion(name, cls, **defaults):
    """Makes `cls(**defaults)` available to `build_model(fusion=name)`.

    What `cls` must implement:

    - subclass `mmkeras.fusion.Fusion` and set the class attribute
      `fusion_level` to one of `"early"`, `"sequence"`, `"feature"`,
      `"decision"` (what the layer receives, see this module);
    - `call(inputs)`, where `inputs` is a list with one tensor per modality
      (sorted modality names); at the early and sequence levels also
      `call(inputs, mask=None)` with one `(batch, steps)` mask or `None` per
      modality;
    - `build(input_shape)` calling `super().build(input_shape)` first when it
      creates weights, and `compute_output_shape` when the output is not
      `(batch, units)`;
    - `get_config()` returning every constructor argument the base class does
      not already serialise (it does `units`), and the
      `@keras.saving.register_keras_serializable` decorator, so that models
      save and load;
    - optionally `readout(inputs=None, mask=None)`, returning what the layer
      learned as NumPy arrays (used by `fusion_readout`).

    Args:
        name: The name to use in `build_model(fusion=name)`.
        cls: The fusion class.
        **defaults: Constructor arguments `cls` gets when built by name.

    Returns:
        `cls`, so that the function also works as a decorator's body.
    """
    if not isinstance(cls, type) or not issubclass(cls, Fusion):
        raise TypeError(
            "A fusion must subclass mmkeras.fusion.Fusion. "
            f"Received: cls={cls!r}"
        )
    if cls.fusion_level not in FUSION_LEVELS:
        raise ValueError(
            f"{cls.__name__}.fusion_level must be one of {FUSION_LEVELS}. "
            f"Received: fusion_level={cls.fusion_level!r}"
        )
    FUSIONS[name] = (cls, dict(defaults))
    return cls


def get(fusion):
    """Returns a new fusion layer for a registered name, or checks an instance.

    Args:
        fusion: A name from `FUSIONS` or a `Fusion` layer instance.
    """
    if isinstance(fusion, str):
        if fusion not in FUSIONS:
            raise ValueError(
                f"Unknown fusion. Received: fusion={fusion!r}; "
                f"expected one of {sorted(FUSIONS)} or a fusion layer instance"
            )
        cls, defaults = FUSIONS[fusion]
        return cls(**defaults)
    if isinstance(fusion, Fusion):
        if fusion.fusion_level not in FUSION_LEVELS:
            raise ValueError(
                f"Layer {fusion.name!r} ({type(fusion).__name__}) needs a `fusion_level` in "
                f"{FUSION_LEVELS}. Received: fusion_level={fusion.fusion_level!r}"
            )
        return fusion
    if isinstance(fusion, keras.layers.Layer):
        raise TypeError(
            f"Layer {fusion.name!r} ({type(fusion).__name__}) is not a fusion: subclass "
            f"mmkeras.fusion.Fusion. Received: fusion={fusion!r}"
        )
    raise TypeError(
        "`fusion` must be a name or a fusion layer. "
        f"Received: fusion={fusion!r} of type {type(fusion).__name__}"
    )


def name_of(fusion):
    """The registered name of a fusion layer instance (or its class name)."""
    for name, (cls, defaults) in FUSIONS.items():
        if type(fusion) is cls:
            config = fusion.get_config()
            if all(config.get(k) == v for k, v in defaults.items()):
                return name
    return type(fusion).__name__
