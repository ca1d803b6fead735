"""Measure how zero-centring affects neural-network training."""

import importlib

__version__ = "0.1.0.dev0"

__all__ = ["Centerer", "MLPClassifier", "MLPRegressor", "SampleCenterer", "activations",
           "__version__"]

# Names are imported on first use (PEP 562), so that ``import centered_nn.cli``
# is light: the ``centered-nn`` command imports scikit-learn inside its main(),
# where Ctrl-C during the imports is caught like Ctrl-C anywhere else.
_LAZY = {
    "activations": (".activations", None),
    "MLPClassifier": ("._estimators.classifier", "MLPClassifier"),
    "MLPRegressor": ("._estimators.regressor", "MLPRegressor"),
    "Centerer": (".preprocessing", "Centerer"),
    "SampleCenterer": (".preprocessing", "SampleCenterer"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
