"""Reproducible runs."""

import keras


def seed_everything(seed, deterministic=False):
    """Seeds Python, NumPy and the backend (`keras.utils.set_random_seed`).

    With `deterministic=True` (TensorFlow backend) TensorFlow also picks
    deterministic kernels, so the same seed gives the same numbers on the
    same machine, at some cost in speed. On CPU most kernels already are.
    """
    keras.utils.set_random_seed(int(seed))
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
