import keras
from keras import ops

from mmkeras.fusion.base_fusion import Fusion, to_numpy
from mmkeras.utils.validation import check_bool, check_choice

COMBINERS = ("mean", "weighted", "stacker")


@keras.saving.register_keras_serializable(package="mmkeras")
class LateFusion(Fusion):
    """Decision-level fusion: combines each modality's own prediction.

    Every modality has its own classification head giving logits `l_m`;
    `σ` is softmax (multi-class) or sigmoid (binary):

    - `"mean"`: `p = (1/M) Σ_m σ(l_m)` (the documents' averaging fusion);
    - `"weighted"`: `p = Σ_m α_m σ(l_m)`, `α = softmax(w)` with `w` learned;
    - `"stacker"`: `p = σ(W [l_1; …; l_M] + b)`, a learned meta-classifier.

    The output is float32 probabilities, also under mixed precision.

    Args:
        combine: One of `"mean"`, `"weighted"`, `"stacker"`.
        binary: `True` when each head outputs one sigmoid logit, `False` for
            softmax over several; `None` (default) decides from the logits'
            width (one logit: sigmoid).
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> logits = [np.zeros((2, 3)), np.log([[1.0, 1.0, 2.0]] * 2)]
    >>> keras.ops.convert_to_numpy(LateFusion("mean")(logits))[0]
    array([0.2916..., 0.2916..., 0.4166...]...)
    """

    fusion_level = "decision"
    has_units = False

    def __init__(self, combine="mean", binary=None, **kwargs):
        super().__init__(**kwargs)
        self.combine = check_choice("combine", combine, COMBINERS, owner=type(self).__name__)
        self.binary = None if binary is None else check_bool("binary", binary,
                                                             owner=type(self).__name__)

    def build(self, input_shape):
        super().build(input_shape)
        num_modalities = len(input_shape)
        num_outputs = input_shape[0][-1]
        if any(tuple(shape[1:]) != (num_outputs,) for shape in input_shape):
            raise ValueError(
                "LateFusion combines per-modality logits of one width (the classes). "
                f"Received: input_shape={input_shape}"
            )
        if self.binary is not None and self.binary != (num_outputs == 1):
            raise ValueError(
                f"LateFusion(binary={self.binary}) needs "
                f"{'one logit' if self.binary else 'one logit per class'} per modality. "
                f"Received: input_shape={input_shape}"
            )
        if self.combine == "weighted":
            self.modality_logits = self.add_weight(
                name="modality_logits", shape=(num_modalities,), initializer="zeros"
            )
        if self.combine == "stacker":
            self.stacker = keras.layers.Dense(num_outputs, dtype="float32", name="stacker")
            self.stacker.build((None, num_modalities * num_outputs))

    def _activate(self, logits):
        if logits.shape[-1] == 1:
            return ops.sigmoid(logits)
        return ops.softmax(logits, axis=-1)

    def call(self, inputs):
        logits = [ops.cast(x, "float32") for x in inputs]
        if self.combine == "stacker":
            return self._activate(self.stacker(ops.concatenate(logits, axis=-1)))
        probabilities = ops.stack([self._activate(x) for x in logits], axis=1)
        if self.combine == "mean":
            return ops.mean(probabilities, axis=1)
        weights = ops.reshape(self.modality_weights(), (1, -1, 1))
        return ops.sum(probabilities * weights, axis=1)

    def modality_weights(self):
        """The learned α of `"weighted"` (one per modality, summing to 1)."""
        if self.combine != "weighted":
            raise ValueError(
                "Only combine='weighted' learns modality weights. "
                f"Received: combine={self.combine!r}"
            )
        return ops.softmax(ops.cast(self.modality_logits, "float32"))

    def readout(self, inputs=None, mask=None):
        """`{"modality_weights": α}` for `combine="weighted"`, else nothing."""
        if self.combine != "weighted":
            return {}
        return {"modality_weights": to_numpy(self.modality_weights())}

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs[0].shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"combine": self.combine, "binary": self.binary})
        return config
