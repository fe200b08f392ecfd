"""``check`` and ``compile`` on rules the dead-rule question (E0110) is hard for: a `*`
followed by a long `?` run in a ``like`` pattern made the subset construction run past its
budget and both verbs crash with a traceback (reviewer finding 4). One such pattern is now
decided without an automaton; what still cannot be decided is a note (N0110) at the rule,
and the rule is compiled."""

from __future__ import annotations

import json

import pytest

from compiler.analysis.globsets import Literal, classes
from compiler.analysis.regions import _one_glob_reps
from compiler.model.glob import glob_match

ROLE = "acs:ram::*:role/*-" + "?" * 18
ONE = f'deny ECS RunInstances when principal like ["{ROLE}"]\n'
# Two patterns on the key: the automaton is still needed, and still past its budget.
TWO = f'deny ECS RunInstances when principal like ["{ROLE}", "acs:ram::*:user/*"]\n'


@pytest.fixture
def small_budget(monkeypatch):
    """The regions' automaton past a budget of 2,000 states rather than 200,000: the same
    path (``Undecided``) in milliseconds instead of seconds."""
    from compiler.analysis import regions

    real = regions.classes
    monkeypatch.setattr(regions, "classes", lambda p, fold: real(p, fold=fold, budget=2_000))


@pytest.mark.parametrize("text", [ONE, TWO], ids=["one-pattern", "two-patterns"])
def test_check_and_compile_do_not_crash(run_cli, tmp_path, text, small_budget):
    path = tmp_path / "r.rules"
    path.write_text(text)
    result = run_cli("check", path)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "E0110" not in result.stderr
    out = tmp_path / "out"
    result = run_cli("compile", path, "--out", out)
    assert result.exit_code == 0, result.stderr
    (doc,) = out.glob("*.json")
    (statement,) = json.loads(doc.read_text())["Statement"]
    assert ROLE in statement["Condition"]["StringLike"]["acs:PrincipalARN"]


def test_one_pattern_is_decided_without_a_note(run_cli, tmp_path):
    path = tmp_path / "r.rules"
    path.write_text(ONE)
    result = run_cli("check", path)
    assert "N0110" not in result.stderr


def test_what_cannot_be_decided_is_a_note_at_the_rule(run_cli, tmp_path, small_budget):
    path = tmp_path / "r.rules"
    path.write_text(TWO)
    for verb in (("check", path), ("compile", path, "--out", tmp_path / "out")):
        result = run_cli(*verb)
        assert f"{path}:1:1: note: could not decide whether this rule denies anything" in (
            result.stderr
        ), verb
        assert "[N0110]" in result.stderr
    # A note does not fail `check --strict` (it is no warning about the rule) ...
    assert run_cli("check", "--strict", path).exit_code == 0
    # ... and can be silenced like one.
    path.write_text(TWO.rstrip("\n") + "  # ramguard: ignore[N0110]\n")
    assert "N0110" not in run_cli("check", path).stderr


PATTERNS = ["", "*", "?", "*?", "*??", "?*", "a", "a*", "*a", "a?b", "??", "*-??", "x*y", "*x*"]
VALUES = ["", "a", "x", "xx", "ab", "aab", "x-yy", "y", "xy", "A", "B", "axb", "xxx", "b", "Ax"]


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("n", [0, 1, 3, 8, len(VALUES)])
def test_one_pattern_regions_are_the_automatons(pattern, n):
    """Every way a string can fall with respect to the pattern and the literals, as the
    subset construction finds them, has a representative, and nothing more."""
    listed = VALUES[:n] if n != 3 else ["B", "A", "x"]
    items: list[str | Literal] = [pattern, *(Literal(v) for v in listed)]

    def cell(text: str) -> frozenset[int]:
        return frozenset(
            i
            for i, p in enumerate(items)
            if (
                p.text == text if isinstance(p, Literal) else glob_match(p, text, ignore_case=False)
            )
        )

    want = {ids for ids, _ in classes(items, fold=False)}
    assert {cell(t) for t in _one_glob_reps(pattern, listed)} == want
