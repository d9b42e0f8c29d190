"""`ContrastiveLoss`: the symmetric InfoNCE (CLIP) loss with in-batch negatives."""

import keras
from keras import ops


def contrastive_loss(groups, logits):
    """Symmetric InfoNCE of a `(n, n)` similarity matrix, one value per pair.

    Row `i` of `logits` scores item `a_i` against every `b_j` of the batch,
    column `j` scores `b_j` against every `a_i`; the true pairs are on the
    diagonal and the rest of the batch are the negatives. Items of the same
    group (two pictures of one emoji with the same name, two clips of one
    digit) are not each other's negatives: the target spreads over them.

    `T_ij = [g_i = g_j] / Σ_k [g_i = g_k]`,
    `ℓ_i = ½ (−Σ_j T_ij log softmax_j(L_i·) − Σ_j T_ji log softmax_j(L_·i))`.

    With distinct groups this is CLIP's loss,
    `½ (CE(L, diag) + CE(Lᵀ, diag))`.

    Args:
        groups: `(n,)` group ids (pairs `i`, `j` match when equal); `arange(n)`
            for one-to-one pairs.
        logits: `(n, n)` scaled similarities.

    Returns:
        `(n,)` losses.

    Example:

    >>> logits = np.array([[10.0, 0.0], [0.0, 10.0]])
    >>> np.round(keras.ops.convert_to_numpy(contrastive_loss(np.array([0, 1]), logits)), 4).tolist()
    [0.0, 0.0]
    """
    logits = ops.convert_to_tensor(logits)
    if logits.dtype not in ("float32", "float64"):
        logits = ops.cast(logits, "float32")
    groups = ops.reshape(ops.convert_to_tensor(groups), (-1,))
    same = ops.cast(ops.equal(ops.expand_dims(groups, 1), ops.expand_dims(groups, 0)),
                    logits.dtype)
    rows = -ops.sum(same / ops.sum(same, axis=1, keepdims=True)
                    * ops.log_softmax(logits, axis=1), axis=1)
    # `same` is symmetric: column j's targets are same[:, j] / Σ_i same[i, j].
    columns = -ops.sum(same / ops.sum(same, axis=0, keepdims=True)
                       * ops.log_softmax(logits, axis=0), axis=0)
    return (rows + columns) / 2


@keras.saving.register_keras_serializable(package="mmkeras")
class ContrastiveLoss(keras.losses.Loss):
    """The symmetric InfoNCE loss as a Keras loss (see `contrastive_loss`).

    `y_true` holds each pair's group id (for one-to-one pairs, its index or
    any distinct ids) and `y_pred` the `(batch, batch)` similarity logits of
    a dual encoder. Shuffle the training pairs: the negatives are the rest
    of the batch.

    Args:
        reduction: Keras loss reduction.
        name: Loss name.

    Example:

    >>> loss = ContrastiveLoss()
    >>> float(loss(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))) > 0
    True
    """

    def __init__(self, reduction="sum_over_batch_size", name="contrastive_loss", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred)

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}
