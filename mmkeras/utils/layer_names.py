"""Names `build_model` gives the layers of the models it builds.

Other modules find these layers by name (`fusion_readout` the padding masks,
`evaluation.robustness` the modality dropout), so the names are a contract:
change them here only.

- `"<modality>"`: the model's input for that modality.
- `"<modality>_encoder"`: the modality's encoder (or its sequence view).
- `"<modality>_stem"`: the encoder's stem view (early fusion).
- `"<modality>_padding_mask"`: the `(batch, steps)` mask of padded tokens or
  frames that early and sequence-level fusions receive.
- `"modality_dropout"`: the `ModalityDropout` layer, when there is one, and
  `"<modality>_present"`: the per-sample `ModalityPresence` flags it receives.
- `"head"` (one head) or `"<modality>_head"` (late fusion).
"""

MODALITY_DROPOUT = "modality_dropout"
HEAD = "head"


def encoder_name(modality):
    return f"{modality}_encoder"


def stem_name(modality):
    return f"{modality}_stem"


def padding_mask_name(modality):
    return f"{modality}_padding_mask"


def presence_name(modality):
    return f"{modality}_present"


def head_name(modality):
    return f"{modality}_head"
