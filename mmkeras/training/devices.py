"""What hardware Keras will use, and settings that depend on it."""

import keras


def _tf():
    try:
        import tensorflow as tf
    except ImportError:  # other backends: no TensorFlow installed
        return None
    return tf


def device_summary():
    """A dict describing the backend and its devices (CPU cores, GPUs)."""
    import os
    import platform

    backend = keras.backend.backend()
    summary = {"backend": backend, "keras": keras.__version__, "python": platform.python_version(),
               "cpu": _cpu_name(), "cpu_cores": os.cpu_count(), "gpus": []}
    if backend == "tensorflow":
        tf = _tf()
        summary["tensorflow"] = tf.__version__
        summary["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        summary["jax"] = jax.__version__
        summary["gpus"] = [str(d) for d in jax.devices() if d.platform == "gpu"]
    elif backend == "torch":
        import torch

        summary["torch"] = torch.__version__
        summary["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return summary


def _cpu_name():
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_device_summary(summary=None):
    summary = summary or device_summary()
    gpus = summary["gpus"]
    device = f"{len(gpus)} GPU(s): {', '.join(gpus)}" if gpus else "CPU only"
    versions = ", ".join(f"{k} {summary[k]}" for k in ("keras", "tensorflow", "jax", "torch")
                         if k in summary)
    return (f"backend {summary['backend']} ({versions}), Python {summary['python']}, "
            f"{summary.get('cpu', 'CPU')} with {summary['cpu_cores']} cores, {device}")


def has_gpu():
    return bool(device_summary()["gpus"])


def set_mixed_precision(policy="auto"):
    """Sets Keras' global dtype policy and returns its name.

    `"auto"`: `"mixed_float16"` when a GPU is present (faster there, and the
    builder keeps logits in float32), `"float32"` on CPU, where float16 math
    is emulated and slower. Any Keras policy name is accepted as well.
    """
    if policy == "auto":
        policy = "mixed_float16" if has_gpu() else "float32"
    allowed = ("float32", "mixed_float16", "mixed_bfloat16", "float16", "bfloat16")
    if policy not in allowed:
        raise ValueError(f"Unknown precision policy. Received: {policy!r}; expected 'auto' or one of {allowed}")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def distribution_strategy(kind="auto", devices=None):
    """A `tf.distribute` strategy for `with strategy.scope(): build and compile`.

    Args:
        kind: `"auto"` (MirroredStrategy with several GPUs, else the default
            one-device strategy), `"mirrored"`, `"multi_worker"` (from
            `TF_CONFIG`; see `mmkeras.training.multi_worker`), or `"default"`.
        devices: Devices for `"mirrored"` (e.g. two logical CPUs in tests).
    """
    tf = _tf()
    if tf is None or keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "tf.distribute strategies need the TensorFlow backend. Received: "
            f"backend={keras.backend.backend()!r}"
        )
    kinds = ("auto", "mirrored", "multi_worker", "default")
    if kind not in kinds:
        raise ValueError(f"Unknown strategy. Received: kind={kind!r}; expected one of {kinds}")
    if kind == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        kind = "mirrored" if len(gpus) > 1 else "default"
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
