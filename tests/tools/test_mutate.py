"""`make mutate`: every mutant of a module run against its tests, several at once, each in a tree of its own."""

from __future__ import annotations

import pytest

from tools import mutate

MODULE = "calc.py"
SOURCE = "def double(x):\n    return x * 2\n\n\ndef is_big(x):\n    return x > 10\n"
TESTS = "from calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n"


@pytest.fixture
def trees(tmp_path, monkeypatch):
    """Two copies of a toy repository whose test pins double() and says nothing of is_big()."""
    made = []
    for n in range(2):
        tree = tmp_path / str(n)
        tree.mkdir()
        (tree / MODULE).write_text(SOURCE)
        (tree / "test_calc.py").write_text(TESTS)
        # The markers the hermetic tier's `-m` names, as pyproject.toml declares them here.
        (tree / "pytest.ini").write_text("[pytest]\nmarkers =\n    engine\n    cluster\n    pods\n    browser\n")
        made.append(tree)
    monkeypatch.setitem(mutate.MODULES, MODULE, ("test_calc.py",))
    monkeypatch.setattr(mutate, "SESSIONS", tmp_path / "sessions")
    return made


def test_the_untested_function_survives_the_tested_one_is_killed_and_listed_equivalents_are_not_run(trees):
    listed = [mutate.Equivalent(MODULE, "core/ReplaceComparisonOperator_Gt_GtE", "return x > 10", "as a test says"),
              # One of the line's two number mutants: the other still runs.
              mutate.Equivalent(MODULE, "core/NumberReplacer", "return x > 10", "as a test says", to="return x > 11")]
    outcome = mutate.mutate_module(MODULE, trees, listed)
    # x * 2: `/` and the numbers 1 and 3 each break double(3) == 6. x > 10: 9 passes it; `>=` and 11
    # are listed as equivalent.
    assert (outcome.total, outcome.killed, outcome.equivalent) == (6, 3, 2)
    assert [line.split(": ", 2)[2] for line in outcome.survivors] == ["return x > 10  ->  return x > 9"]
    for tree in trees:  # each mutant undone where it was written
        assert (tree / MODULE).read_text() == SOURCE
