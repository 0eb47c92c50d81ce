"""Shared test fixtures: the array namespaces every public function must accept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dlmath", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("dlmath")


def _backends():
    out = [pytest.param("numpy", id="numpy")]
    for name in ("array_api_strict", "torch", "jax"):
        try:
            __import__(name)
            out.append(pytest.param(name, id=name))
        except ImportError:  # pragma: no cover - depends on the environment
            out.append(pytest.param(name, id=name, marks=pytest.mark.skip(reason=f"{name} is not installed")))
    return out


BACKENDS = _backends()


class Backend:
    """Converts NumPy test data to one namespace's arrays and back."""

    def __init__(self, name):
        self.name = name
        if name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)

    def asarray(self, a):
        a = np.asarray(a)
        if self.name == "numpy":
            return a
        if self.name == "torch":
            import torch

            return torch.asarray(a)
        if self.name == "jax":
            import jax.numpy as jnp

            return jnp.asarray(a)
        import array_api_strict as xp

        return xp.asarray(a)

    def to_numpy(self, a):
        if self.name == "torch":
            return a.detach().numpy()
        if self.name == "array_api_strict":
            return np.from_dlpack(a)
        return np.asarray(a)

    def is_native(self, a):
        """True when ``a`` is an array of this backend (not silently converted to NumPy)."""
        mod = type(a).__module__.split(".")[0]
        expected = {"jax": ("jax", "jaxlib")}.get(self.name, (self.name,))
        return mod in expected


@pytest.fixture(params=BACKENDS)
def backend(request):
    return Backend(request.param)
