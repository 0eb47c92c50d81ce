"""Every figure key renders to a deterministic SVG with alt text."""

from __future__ import annotations

import pytest

from dlmath.render.figures import FIGURES, get_figure


@pytest.mark.parametrize("key", sorted(FIGURES))
def test_figure_is_deterministic_svg_with_alt_text(key):
    spec = get_figure(key)
    first, second = spec.render(), spec.render()
    assert first == second
    assert first.lstrip().startswith("<?xml") and "<svg" in first
    assert "<dc:date>" not in first
    assert len(spec.alt) > 80 and spec.caption


def test_unknown_figure_names_the_known_ones():
    with pytest.raises(ValueError, match="known figures: sgd-jitter"):
        get_figure("nope")


def test_worker_process_draws_the_same_bytes():
    from dlmath.render.figures import start_rendering

    drawn = start_rendering(["x-pow-x", "lse-overflow"]).result()
    assert drawn == {key: get_figure(key).render() for key in ("x-pow-x", "lse-overflow")}


def test_worker_failure_is_reported_with_its_error():
    from dlmath.render.figures import start_rendering

    with pytest.raises(ValueError, match="unknown figure key 'nope'"):
        start_rendering(["nope"]).result()
