import keras
from keras import ops

from mmkeras.utils.validation import check_choice, check_rate


@keras.saving.register_keras_serializable(package="mmkeras")
class ModalityDropout(keras.layers.Layer):
    """Drops whole modalities per sample in training, so models survive a missing one.

    For each sample and modality, with probability `rate`, the embedding
    `h_m` is replaced by zeros (`missing="zeros"`) or by a learned vector
    `e_m` (`missing="learned"`). A sample never loses all its modalities
    (if every one is drawn, none is dropped). At inference nothing is
    dropped, unless `set_missing([...])` marks modalities as missing: then
    they are replaced the same way for every sample, which is how a
    robustness test simulates an absent sensor. Called with
    `present=[p_1, ..., p_M]` (per-sample 0/1 flags, as `ModalityPresence`
    computes from the raw inputs; `build_model` passes them), a modality
    missing from the data for a sample is replaced the same way, in
    training and at inference.

    `h'_m = (1 − d_m) h_m + d_m e_m`, `d_m = max(r_m, f_m, 1 − p_m) ∈ {0, 1}`
    (`r_m` the random draw in training, `f_m` the `set_missing` flag).

    Args:
        rate: Probability of dropping each modality of each sample.
        missing: `"zeros"` or `"learned"`.
        modalities: Names of the modalities, in input order (for `set_missing`).
        seed: Seed of the random draws.
        **kwargs: Standard layer keyword arguments.

    Example:

    >>> drop = ModalityDropout(0.5, modalities=["image", "audio"])
    >>> h = [np.ones((2, 3)), np.ones((2, 3))]
    >>> drop.set_missing(["audio"])
    >>> keras.ops.convert_to_numpy(drop(h)[1])  # audio replaced by zeros
    array([[0., 0., 0.],
           [0., 0., 0.]]...)
    """

    def __init__(self, rate=0.25, missing="zeros", modalities=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rate = check_rate("rate", rate, owner=owner)
        self.missing = check_choice("missing", missing, ("zeros", "learned"), owner=owner)
        self.modalities = list(modalities) if modalities is not None else None
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Modalities marked missing before the layer is built (set_missing).
        self.initially_missing = []

    def build(self, input_shape):
        count = len(input_shape)
        if self.modalities is not None and len(self.modalities) != count:
            raise ValueError(
                f"`modalities` names {len(self.modalities)} modalities but the layer "
                f"receives {count}. Received: modalities={self.modalities}"
            )
        self.missing_vectors = None
        if self.missing == "learned":
            self.missing_vectors = [
                self.add_weight(name=f"missing_{i}", shape=(shape[-1],), initializer="zeros")
                for i, shape in enumerate(input_shape)
            ]
        flags = self._flags(self.initially_missing, count)
        self.forced = self.add_weight(name="forced_missing", shape=(count,),
                                      initializer=keras.initializers.Constant(flags),
                                      trainable=False)

    def set_missing(self, modalities=()):
        """Marks modalities (names or indices) as missing at inference; `()` resets.

        Before the layer is built, indices are checked when it is built.
        """
        if not self.built:
            count = len(self.modalities) if self.modalities is not None else None
            if count is not None:
                self._flags(modalities, count)
            self.initially_missing = list(modalities)
            return
        self.forced.assign(self._flags(modalities, self.forced.shape[0]))

    def _flags(self, modalities, count):
        """One 0/1 flag per modality, 1 for those in `modalities` (names or indices)."""
        flags = [0.0] * count
        for m in modalities:
            if isinstance(m, str):
                if not self.modalities or m not in self.modalities:
                    raise ValueError(
                        f"Unknown modality. Received: {m!r}; known: {self.modalities}")
                m = self.modalities.index(m)
            if not isinstance(m, int) or not 0 <= m < len(flags):
                raise ValueError(f"Unknown modality index. Received: {m!r}; valid: 0..{len(flags) - 1}")
            flags[m] = 1.0
        return flags

    def call(self, inputs, present=None, training=None):
        batch = ops.shape(inputs[0])[0]
        count = len(inputs)
        drop = ops.zeros((batch, count))
        if training and self.rate > 0:
            draws = keras.random.uniform((batch, count), seed=self.seed_generator)
            drop = ops.cast(draws < self.rate, "float32")
            all_dropped = ops.all(drop > 0, axis=1, keepdims=True)
            drop = ops.where(all_dropped, ops.zeros_like(drop), drop)
        drop = ops.maximum(drop, ops.expand_dims(ops.cast(self.forced, "float32"), 0))
        if present is not None:
            # Missing in the data (e.g. a blank caption): replaced like a dropped one.
            absent = ops.stack([1.0 - ops.cast(p, "float32") for p in present], axis=1)
            drop = ops.maximum(drop, absent)
        outputs = []
        for i, x in enumerate(inputs):
            d = ops.cast(drop[:, i:i + 1], x.dtype)
            replacement = (ops.zeros_like(x) if self.missing_vectors is None else
                           ops.cast(self.missing_vectors[i], x.dtype) * ops.ones_like(x))
            outputs.append((1 - d) * x + d * replacement)
        return outputs

    def compute_output_shape(self, input_shape):
        return [tuple(s) for s in input_shape]

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "missing": self.missing,
                       "modalities": self.modalities, "seed": self.seed})
        return config
