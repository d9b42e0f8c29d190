"""Names of fusion strategies and how the builder finds them.

A fusion is a Keras layer with a class attribute `fusion_level` that tells
the builder what to feed it:

| level | the layer receives | then |
|---|---|---|
| `"early"` | each modality's shallow features as a token sequence, with masks | classification head |
| `"sequence"` | each encoder's sequence output `(batch, steps, dim)`, with masks | classification head |
| `"feature"` | each modality's embedding `(batch, dim)` | classification head |
| `"decision"` | each modality's class logits from its own head | nothing: it outputs probabilities |

To add a fusion, subclass `keras.layers.Layer`, set `fusion_level`, and
register it: `register_fusion("name", MyFusion, **default_kwargs)`. The
builder needs no change.
"""

import keras

FUSION_LEVELS = ("early", "sequence", "feature", "decision")

# name -> (layer class, default constructor arguments)
FUSIONS = {}


def register_fusion(name, cls, **defaults):
    """Makes `cls(**defaults)` available to `build_model(fusion=name)`."""
    level = getattr(cls, "fusion_level", None)
    if level not in FUSION_LEVELS:
        raise ValueError(
            f"{cls.__name__}.fusion_level must be one of {FUSION_LEVELS}. "
            f"Received: fusion_level={level!r}"
        )
    FUSIONS[name] = (cls, dict(defaults))
    return cls


def get(fusion):
    """Returns a new fusion layer for a registered name, or checks an instance.

    Args:
        fusion: A name from `FUSIONS` or a layer instance with a
            `fusion_level` attribute.
    """
    if isinstance(fusion, str):
        if fusion not in FUSIONS:
            raise ValueError(
                f"Unknown fusion. Received: fusion={fusion!r}; "
                f"expected one of {sorted(FUSIONS)} or a fusion layer instance"
            )
        cls, defaults = FUSIONS[fusion]
        return cls(**defaults)
    if isinstance(fusion, keras.layers.Layer):
        if getattr(fusion, "fusion_level", None) not in FUSION_LEVELS:
            raise ValueError(
                f"Layer {fusion.name!r} ({type(fusion).__name__}) is not a fusion: it "
                f"needs a `fusion_level` attribute in {FUSION_LEVELS}."
            )
        return fusion
    raise TypeError(
        "`fusion` must be a name or a fusion layer. "
        f"Received: fusion={fusion!r} of type {type(fusion).__name__}"
    )


def name_of(fusion):
    """The registered name of a fusion layer instance (or its class name)."""
    for name, (cls, defaults) in FUSIONS.items():
        if type(fusion) is cls and all(
            getattr(fusion, k, None) == v for k, v in defaults.items()
        ):
            return name
    return type(fusion).__name__
