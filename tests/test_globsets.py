"""The glob-set automaton (issue 11): its classes and ``run`` against a brute-force matcher."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.analysis.globsets import Dfa, classes, classes_of
from compiler.model.glob import glob_match

PATTERNS = st.lists(st.text(alphabet="ab*?", min_size=1, max_size=5), min_size=1, max_size=5)
STRINGS = ["".join(p) for n in range(6) for p in itertools.product("abc", repeat=n)]


def _brute(patterns: list[str], text: str) -> frozenset[int]:
    return frozenset(i for i, p in enumerate(patterns) if glob_match(p, text, ignore_case=False))


@settings(max_examples=150, deadline=None)
@given(PATTERNS)
def test_run_and_classes_agree_with_brute_force(patterns):
    dfa = Dfa(patterns, fold=False, budget=10_000)
    found = dict(classes_of(dfa))
    seen = set()
    for text in STRINGS:
        acc = dfa.run(text)
        assert acc == _brute(patterns, text), (patterns, text)
        seen.add(acc)
        # A class's witness is no longer than any string of that class.
        assert len(found[acc]) <= len(text)
    for acc, witness in found.items():
        assert _brute(patterns, witness) == acc
    # Strings up to length 5 reach every class whose shortest string is that short.
    assert {a for a, w in found.items() if len(w) <= 5} <= seen


@settings(max_examples=50, deadline=None)
@given(PATTERNS)
def test_folding_is_ascii_only_and_case_blind(patterns):
    upper = [p.upper() for p in patterns]
    assert dict(classes(patterns, fold=True)) == dict(classes(upper, fold=True))
    dfa = Dfa(patterns, fold=True, budget=10_000)
    assert dfa.run("AB") == dfa.run("ab")
