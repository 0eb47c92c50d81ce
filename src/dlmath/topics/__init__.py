"""The reference's topics, one module each, in page order.

Importing this package builds the :class:`~dlmath.derive.model.Topic` objects (titles, prose,
step callables) without importing SymPy; the statements are built when a check or a rendering
asks for them.
"""

from __future__ import annotations

import difflib

from ..derive.model import Topic
from . import (
    gaussian_l2,
    inverse_derivative,
    laplace_l1,
    logsumexp,
    norm_gradient,
    smooth_max,
    softmax_hessian,
    x_pow_x,
)

__all__ = ["TOPICS", "get_topic", "closest_ids", "UnknownTopicError"]

TOPICS: tuple[Topic, ...] = (
    gaussian_l2.TOPIC,
    laplace_l1.TOPIC,
    softmax_hessian.TOPIC,
    smooth_max.TOPIC,
    logsumexp.TOPIC,
    x_pow_x.TOPIC,
    norm_gradient.TOPIC,
    inverse_derivative.TOPIC,
)

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
