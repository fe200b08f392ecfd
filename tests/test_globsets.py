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


# Long literal tails (crossed in one move by ``classes_of``), `~` (the stand-in for "any
# other character", which must then be another one), and the same pattern written several
# times and in both cases (they share their automaton states yet keep their own ids).
TAILS = st.lists(
    st.text(alphabet="ab~*?", min_size=1, max_size=7) | st.sampled_from(["ab~ab", "AB~ab", "b"]),
    min_size=1,
    max_size=6,
)
LONG_STRINGS = [
    "".join(p) for n in range(8) for p in itertools.product("ab~", repeat=n) if n < 7 or "~" in p
]


def _breadth_first(dfa: Dfa) -> list[tuple[frozenset[int], str]]:
    """The walk ``classes_of`` shortens, one state per character: a FIFO over every edge
    (sorted labels), each accepting set kept with the first string reaching it."""
    from collections import deque

    seen, queue, found = {dfa.start}, deque([(dfa.start, "")]), {}
    while queue:
        sid, text = queue.popleft()
        found.setdefault(dfa.accepting(sid), text)
        for ch, nxt in dfa.edges(sid):
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, text + ch))
    return sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1]))


@settings(max_examples=200, deadline=None)
@given(TAILS)
def test_classes_are_shortest_then_least_with_literal_tails_and_repeats(patterns):
    found = classes(patterns, fold=True)
    # The same classes and witnesses as the plain breadth-first walk of the automaton.
    assert found == _breadth_first(Dfa(patterns, fold=True, budget=10_000))
    folded = [p.lower() for p in patterns]
    shortest: dict[frozenset[int], str] = {}
    for text in sorted(LONG_STRINGS, key=lambda t: (len(t), t)):
        shortest.setdefault(_brute(folded, text), text)
    # Every class some string of up to 7 characters falls in is found, with a witness as
    # short as its shortest such string (`~` stands for every character no pattern names).
    got = dict(found)
    for acc, text in shortest.items():
        assert len(got[acc]) == len(text), (patterns, acc)
    for acc, witness in found:
        assert _brute(folded, witness) == acc
    # Equal patterns are in exactly the same classes.
    for i, p in enumerate(folded):
        for j, q in enumerate(folded):
            if p == q:
                assert all((i in acc) == (j in acc) for acc, _ in found)


@settings(max_examples=200, deadline=None)
@given(TAILS)
def test_run_crosses_literal_tails_and_stops_dead(patterns):
    """``run`` crosses a literal tail in one comparison and stops at the dead state; on a
    fresh automaton and on one ``classes_of`` has walked it answers as the brute force does
    (strings ending inside a tail, leaving it, running past it), and after the walk it adds
    no state: the states counted against the budget are the search's."""
    folded = [p.lower() for p in patterns]
    texts = [*LONG_STRINGS, *("ab~ab" + t for t in ("", "a", "~", "b~")), "AB~AB", "ab~a"]
    fresh = Dfa(patterns, fold=True, budget=10_000)
    for text in texts:
        assert fresh.run(text) == _brute(folded, text.lower()), (patterns, text)
    walked = Dfa(patterns, fold=True, budget=10_000)
    classes_of(walked)
    states = len(walked)
    for text in texts:
        assert walked.run(text) == _brute(folded, text.lower()), (patterns, text)
    assert len(walked) == states
