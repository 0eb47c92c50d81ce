"""dlmath: the recurring math of deep learning, derived, machine-checked and implemented once.

The numerical API is listed here by hand; nothing heavy (SymPy, SciPy, matplotlib) is imported
until a function that needs it runs.
"""

from .lse import log_softmax, logsumexp, smooth_max, softmax

__version__ = "0.1.0"

__all__ = [
    "logsumexp",
    "smooth_max",
    "softmax",
    "log_softmax",
]
