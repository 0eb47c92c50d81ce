"""dlmath: the recurring math of deep learning, derived, machine-checked and implemented once.

The numerical API is listed here by hand; nothing heavy (SymPy, SciPy, matplotlib) is imported
until a function that needs it runs.
"""

import importlib
from typing import TYPE_CHECKING

# Each name is its module's, imported on first use (PEP 562), so that ``import dlmath`` costs
# NumPy's import and little more; ``from dlmath import *``, ``dir(dlmath)`` and static checkers
# see every name as before.
_HOME = {
    "logsumexp": "lse",
    "smooth_max": "lse",
    "softmax": "lse",
    "log_softmax": "lse",
    "cross_entropy": "xent",
    "cross_entropy_grad": "xent",
    "softmax_hessian": "xent",
    "softmax_hvp": "xent",
    "safe_norm": "norm",
    "norm_grad": "norm",
    "softplus": "bernoulli",
    "log_sigmoid": "bernoulli",
    "binary_cross_entropy": "bernoulli",
    "poisson_nll": "poisson",
    "gumbel_max_sample": "gumbel",
    "noise": "noise",
    "fit_linear": "fit",
    "LinearFit": "fit",
    "ConditioningWarning": "fit",
    "sgd_linear": "sgd",
    "SGDResult": "sgd",
}

if TYPE_CHECKING:
    from . import noise
    from .bernoulli import binary_cross_entropy, log_sigmoid, softplus
    from .fit import ConditioningWarning, LinearFit, fit_linear
    from .gumbel import gumbel_max_sample
    from .lse import log_softmax, logsumexp, smooth_max, softmax
    from .norm import norm_grad, safe_norm
    from .poisson import poisson_nll
    from .sgd import SGDResult, sgd_linear
    from .xent import cross_entropy, cross_entropy_grad, softmax_hessian, softmax_hvp


def __getattr__(name):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'dlmath' has no attribute {name!r}")
    module = importlib.import_module(f".{home}", __name__)
    value = module if name == home else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "logsumexp",
    "smooth_max",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "cross_entropy_grad",
    "softmax_hessian",
    "softmax_hvp",
    "safe_norm",
    "norm_grad",
    "softplus",
    "log_sigmoid",
    "binary_cross_entropy",
    "poisson_nll",
    "gumbel_max_sample",
    "noise",
    "fit_linear",
    "LinearFit",
    "ConditioningWarning",
    "sgd_linear",
    "SGDResult",
]
