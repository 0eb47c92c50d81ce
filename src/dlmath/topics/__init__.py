"""The reference's topics, one module each, in page order: this list is the only registry.

Each module builds one :class:`~dlmath.derive.Topic` named ``TOPIC``. A new topic is a new
module plus one line here; the tests run over whatever is registered.
"""

from __future__ import annotations

import difflib
import importlib

from ..derive import Topic

__all__ = ["MODULES", "TOPICS", "get_topic", "closest_ids", "UnknownTopicError"]

MODULES = (
    "gaussian_l2",
    "laplace_l1",
    "softmax_hessian",
    "smooth_max",
    "logsumexp",
    "x_pow_x",
    "norm_gradient",
    "inverse_derivative",
    "bernoulli_bce",
    "label_smoothing",
    "lse_convex",
    "fisher_information",
    "poisson_nll",
    "gumbel_max",
)

TOPICS: tuple[Topic, ...] = tuple(importlib.import_module(f"{__name__}.{m}").TOPIC for m in MODULES)

_BY_ID = {t.id: t for t in TOPICS}


class UnknownTopicError(KeyError):
    """No topic has this id; ``suggestions`` holds the closest ids."""

    def __init__(self, topic_id: str):
        self.topic_id = topic_id
        self.suggestions = closest_ids(topic_id)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown topic {topic_id!r}{hint} (known: {', '.join(_BY_ID)})")

    def __str__(self) -> str:
        return self.args[0]


def closest_ids(topic_id: str, n: int = 3) -> list[str]:
    """The known ids closest to ``topic_id`` (difflib ratio), best first."""
    return difflib.get_close_matches(topic_id, list(_BY_ID), n=n, cutoff=0.4)


def get_topic(topic_id: str) -> Topic:
    """The topic with this id; raises :class:`UnknownTopicError` (a ``KeyError``) naming the closest ids."""
    try:
        return _BY_ID[topic_id]
    except KeyError:
        raise UnknownTopicError(topic_id) from None
