"""A reader's own derivations: the topics a Python file defines."""

from __future__ import annotations

import pytest

from dlmath.derive import LoadError, load_file
from dlmath.derive.loader import is_topic_file

GOOD = """
from dlmath.derive import Topic, Eq, log
t = Topic("mine", "My derivation")
x = t.scalar("x")
t.assume(x > 0)
t.step("logs", Eq(log(x**2), 2*log(x)), label="A log of a square", simplify=("expand_log",))
same = t
other = Topic("mine-too", "Another")
"""


def test_every_topic_a_file_defines_is_loaded_once_in_order(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(GOOD)
    topics = load_file(path)
    assert [t.id for t in topics] == ["mine", "mine-too"]
    assert topics[0].source_file == str(path)
    assert topics[0].check().passed


def test_bad_files_are_load_errors_that_say_why(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load_file(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(LoadError, match="defines no"):
        load_file(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('nope')\n")
    with pytest.raises(LoadError, match="ValueError: nope"):
        load_file(broken)


def test_an_argument_is_a_file_when_it_looks_like_one(tmp_path):
    assert is_topic_file("examples/softplus.py")
    assert not is_topic_file("logsumexp")
