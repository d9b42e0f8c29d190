"""Knowledge distillation (Hinton et al., 2015), after keras-io's example
"Knowledge Distillation" (examples/vision/knowledge_distillation.py), for
mmkeras models, whose outputs are probabilities, and for multimodal teachers
with students that see fewer modalities.
"""

import keras
from keras import ops

from mmkeras.utils.validation import check_positive_float, check_rate

_EPSILON = 1e-7


def _log_probabilities(probabilities):
    # log p differs from the logits by a per-sample constant, which softmax(·/T) cancels.
    return ops.log(ops.clip(probabilities, _EPSILON, 1.0))


def softened(probabilities, temperature):
    """softmax(log p / T): the probabilities at temperature T (T=1 gives p back)."""
    return ops.softmax(_log_probabilities(probabilities) / temperature, axis=-1)


def distillation_loss(y_true, student_probabilities, teacher_probabilities, alpha=0.1,
                      temperature=3.0):
    """The distiller's loss, averaged over the batch:

    `α · CE(y, p_s) + (1 - α) · T² · KL(softmax(z_t / T) ‖ softmax(z_s / T))`,

    with integer labels `y`, student and teacher probabilities `p_s`, `p_t`
    and their logits `z = log p` (up to a constant). T² keeps the soft
    term's gradients on the scale of the hard one's as T grows.

    Args:
        y_true: Integer labels, shape `(batch,)`.
        student_probabilities: The student's probabilities, `(batch, classes)`.
        teacher_probabilities: The teacher's probabilities, `(batch, classes)`.
        alpha: Weight of the label loss, in [0, 1].
        temperature: Softening temperature T > 0.

    Example:

    >>> import numpy as np
    >>> p = np.array([[0.7, 0.2, 0.1]], "float32")
    >>> float(distillation_loss(np.array([0]), p, p, alpha=1.0))  # -log 0.7
    0.356674...
    """
    hard = ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, student_probabilities))
    soft_teacher = softened(teacher_probabilities, temperature)
    soft_student = softened(student_probabilities, temperature)
    kl = ops.sum(soft_teacher * (_log_probabilities(soft_teacher)
                                 - _log_probabilities(soft_student)), axis=-1)
    return alpha * hard + (1.0 - alpha) * temperature ** 2 * ops.mean(kl)


def _input_names(model):
    return [t.name for t in model.inputs]


@keras.saving.register_keras_serializable(package="mmkeras")
class Distiller(keras.Model):
    """Trains `student` on labels and on a frozen `teacher`'s softened outputs.

    The loss is `distillation_loss`. Each model gets the inputs it names, so
    a unimodal student (`{"image": ...}` only) learns from a multimodal
    teacher fed the whole dict. Predicting with the distiller predicts with
    the student; keep and save `distiller.student` afterwards.

    Args:
        student: The model to train (outputs probabilities).
        teacher: A trained model (outputs probabilities over the same classes).
            It is frozen in place (`teacher.trainable = False`, kept after
            training): set it back before training or pruning the teacher itself.
        alpha: Weight of the label loss, in [0, 1] (keras-io uses 0.1).
        temperature: Softening temperature T > 0 (keras-io uses 3 to 10).

    Example:

    ```python
    distiller = Distiller(student, teacher, alpha=0.1, temperature=3)
    distiller.compile(optimizer="adam", metrics=["accuracy"])
    distiller.fit(dataset.train.x, dataset.train.y, epochs=10)
    distiller.student.save("student.keras")
    ```
    """

    def __init__(self, student, teacher, alpha=0.1, temperature=3.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_rate("alpha", alpha, owner="Distiller", allow_one=True)
        self.temperature = check_positive_float("temperature", temperature, owner="Distiller")
        classes = (student.outputs[0].shape[-1], teacher.outputs[0].shape[-1])
        if classes[0] != classes[1] or classes[0] < 2:
            raise ValueError("student and teacher must output the same number (>= 2) of class "
                             f"probabilities. Received: student {classes[0]}, teacher {classes[1]}")
        missing = sorted(set(_input_names(student)) - set(_input_names(teacher)))
        if missing:
            raise ValueError(f"The student's inputs {missing} are not among the teacher's "
                             f"{sorted(_input_names(teacher))}")
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False

    @staticmethod
    def _select(model, x):
        if isinstance(x, dict):
            return {k: x[k] for k in _input_names(model)}
        return x

    def call(self, x, training=False):
        return self.student(self._select(self.student, x), training=training)

    def compile(self, optimizer="adam", metrics=None, **kwargs):
        """Compiles with the distillation loss (no `loss` argument)."""
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        teacher_probabilities = self.teacher(self._select(self.teacher, x), training=False)
        if y_pred is None:
            y_pred = self(x, training=training)
        return distillation_loss(y, y_pred, ops.stop_gradient(teacher_probabilities),
                                 self.alpha, self.temperature)

    def get_config(self):
        return {"student": keras.saving.serialize_keras_object(self.student),
                "teacher": keras.saving.serialize_keras_object(self.teacher),
                "alpha": self.alpha, "temperature": self.temperature,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("student", "teacher"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
