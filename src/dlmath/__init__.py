"""dlmath: the recurring math of deep learning, derived, machine-checked and implemented once.

The numerical API is listed here by hand; nothing heavy (SymPy, SciPy, matplotlib) is imported
until a function that needs it runs.
"""

from . import noise
from .bernoulli import binary_cross_entropy, log_sigmoid, softplus
from .fit import ConditioningWarning, LinearFit, fit_linear
from .gumbel import gumbel_max_sample
from .lse import log_softmax, logsumexp, smooth_max, softmax
from .norm import norm_grad, safe_norm
from .poisson import poisson_nll
from .sgd import SGDResult, sgd_linear
from .xent import cross_entropy, cross_entropy_grad, softmax_hessian, softmax_hvp

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
