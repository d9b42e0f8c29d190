"""Module paths of mmkeras 0.1 that moved in 0.2, kept importable for one release.

`import mmkeras.export` (or `from mmkeras.builder import build_model`, or the
attribute `mmkeras.export`) still works: it gives the module's new home with
a `DeprecationWarning` naming it. A finder on `sys.meta_path` answers for the
old names only, so the package root holds no stand-in files.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

MOVED = {
    "mmkeras.builder": "mmkeras.models.builder",
    "mmkeras.compression": "mmkeras.deploy",
    "mmkeras.compression.distillation": "mmkeras.deploy.distillation",
    "mmkeras.compression.pruning": "mmkeras.deploy.pruning",
    "mmkeras.conv_lstm_classifier": "mmkeras.models.conv_lstm_classifier",
    "mmkeras.experiments.standard_encoders": "mmkeras.encoders.standard",
    "mmkeras.export": "mmkeras.deploy",
    "mmkeras.head": "mmkeras.models.head",
    "mmkeras.input_check": "mmkeras.utils.input_check",
    "mmkeras.layer_names": "mmkeras.utils.layer_names",
    "mmkeras.predictor": "mmkeras.models.predictor",
    "mmkeras.tf_logging": "mmkeras.utils.tf_logging",
    "mmkeras.timing": "mmkeras.utils.timing",
    "mmkeras.validation": "mmkeras.utils.validation",
}


def warn(old):
    warnings.warn(f"`{old}` moved to `{MOVED[old]}` in mmkeras 0.2; the old path will be "
                  "removed in 0.3.", DeprecationWarning, stacklevel=3)


def load(old):
    """The module that replaced `old`, with a deprecation warning."""
    warn(old)
    return importlib.import_module(MOVED[old])


class _Alias(importlib.abc.Loader):
    """Makes the old module a stand-in whose attributes are the new module's."""

    def __init__(self, old):
        self.old = old

    def create_module(self, spec):
        new = load(self.old)
        stand_in = types.ModuleType(self.old, new.__doc__)
        stand_in.__getattr__ = lambda name: getattr(new, name)
        stand_in.__dir__ = lambda: dir(new)
        stand_in.__all__ = list(getattr(new, "__all__", ()))
        if any(name.startswith(self.old + ".") for name in MOVED):
            stand_in.__path__ = []  # a package: its old submodules are found here too
        return stand_in

    def exec_module(self, module):
        pass


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the old module names of `MOVED` and loads their new modules."""

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        return importlib.util.spec_from_loader(name, _Alias(name))


def install():
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
