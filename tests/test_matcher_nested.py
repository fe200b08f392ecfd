"""Nested prefix globs (issue 15 item 2): a first sighting reads a level per distinct prefix
length along the action, not one ``startswith`` per prefix glob sharing its first characters,
and the answers stay the reference's however the prefixes are split into levels."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.decide import matcher as matcher_module
from compiler.decide.trie import DecisionTrie
from tests.test_trie import make_rule, ref_match

# Operation names that share long runs of characters, as a service's Describe* operations do.
_WORDS = [f"{a}{b}{c}" for a in "abcdefgh" for b in "abcdefgh" for c in "abcdefgh"]


def _nested_globs(operations: int) -> list[str]:
    """Every prefix of ``operations`` operation names from three characters on: `des*` ⊇
    `desc*` ⊇ … ⊇ `describeabcinstance*`, the shape that made a first sighting pay one
    ``startswith`` per glob."""
    globs: dict[str, None] = {}
    for word in _WORDS[:operations]:
        op = f"describe{word}instance"
        for k in range(3, len(op) + 1):
            globs[f"ecs:{op[:k]}*"] = None
    return list(globs)


def _matcher_lines(trie: DecisionTrie, action: str) -> int:
    """Lines of compiler/decide/matcher.py run to decide ``action``: the matcher's work,
    whatever its internals are called."""
    lines = 0

    def local(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == matcher_module.__file__ else None

    sys.settrace(tracer)
    try:
        trie.decide(action)
    finally:
        sys.settrace(None)
    return lines


def test_first_sighting_work_does_not_grow_with_nested_prefix_globs():
    few, many = _nested_globs(1), _nested_globs(300)
    assert len(many) > 2_000
    action = "ecs:DescribeAAAInstance"  # ends every glob of the first operation name
    work = {}
    for name, globs in (("few", few), ("many", many)):
        trie = DecisionTrie([make_rule(i, g) for i, g in enumerate(globs)])
        trie.decide("ecs:Warm")  # the code's index is built on its first action: not counted
        expected = tuple(i for i, g in enumerate(globs) if ref_match(g, action))
        assert trie.decide(action).rule_indexes == expected
        trie.forget()
        work[name] = _matcher_lines(trie, action)
    # Before: one `startswith` per glob starting `des`, over 2,000 lines more for `many`.
    assert work["many"] <= work["few"] + 20


def test_a_chain_as_deep_as_the_longest_operation_glob():
    # `a*` ⊇ `aa*` ⊇ … 256 deep (MAX_NAME): a level per glob, built without recursion.
    globs = [f"ecs:{'a' * k}*" for k in range(1, 257)]
    trie = DecisionTrie([make_rule(i, g) for i, g in enumerate(globs)])
    assert trie.decide("ecs:" + "a" * 300).rule_indexes == tuple(range(256))
    assert trie.decide("ecs:" + "a" * 100 + "b").rule_indexes == tuple(range(100))
    assert trie.decide("ecs:b").decision == "allow"


prefix_globs = st.text("abAB", max_size=6).map(lambda body: f"ec:{body}*")
other_patterns = st.sampled_from(["ec:*", "ec:a?*", "ec:*b", "ec:ab", "*", "e*:a*", "ec:ab*b"])


@pytest.mark.parametrize("bucket", [1, 2, matcher_module.BUCKET])
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(prefix_globs | other_patterns, min_size=1, max_size=4), max_size=25),
    st.lists(st.text("abAB", max_size=8).map(lambda op: f"ec:{op}"), min_size=1, max_size=8),
)
def test_nested_levels_agree_with_the_reference(bucket, rule_patterns, actions):
    # ``bucket`` 1 nests every group of two prefixes or more: every level shape is taken.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher_module, "BUCKET", bucket)
        trie = DecisionTrie([make_rule(i, *ps) for i, ps in enumerate(rule_patterns)])
        for _ in range(2):  # first sightings, then again after the memo is dropped
            for action in actions:
                expected = tuple(
                    i for i, ps in enumerate(rule_patterns) if any(ref_match(p, action) for p in ps)
                )
                assert trie.decide(action).rule_indexes == expected
                assert trie.match_indexes(action) == list(expected)
                assert trie.all_rules(action).rule_indexes == expected
            trie.forget()
