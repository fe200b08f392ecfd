"""The decision trie: linear-time globs, agreement with the plain scan and a reference matcher,
and the memo."""

from __future__ import annotations

import sys
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.decide import matcher as matcher_module
from compiler.decide import trie as trie_module
from compiler.decide.trie import DecisionTrie
from compiler.language.diagnostics import Span
from compiler.model.glob import glob_match
from compiler.model.ir import Condition, Rule


@cache
def _ref(pattern: str, text: str) -> bool:
    """The definition of a glob, read straight off: `*` any run (also empty), `?` one char."""
    if not pattern:
        return not text
    if pattern[0] == "*":
        return _ref(pattern[1:], text) or (bool(text) and _ref(pattern, text[1:]))
    return bool(text) and pattern[0] in ("?", text[0]) and _ref(pattern[1:], text[1:])


def ref_match(pattern: str, action: str) -> bool:
    return _ref(pattern.lower(), action.lower())


def make_rule(index: int, *patterns: str, conditions=((),)) -> Rule:
    return Rule(
        index=index,
        policy="p",
        file="p.rules",
        line=index + 1,
        text=f"rule {index}",
        service="*",
        operations=(),
        version=None,
        actions=tuple(patterns),
        conditions=conditions,
        span=Span("p.rules", index + 1, 1),
    )


# --- linear time ------------------------------------------------------------------------------

PATHOLOGICAL = "ecs:*a*a*a*a*a*a*a*a*b"


def _work(length: int) -> int:
    """Lines of compiler/decide/ (trie and matcher) run to decide one action: the trie's
    work, whatever its internals are called."""
    trie = DecisionTrie([make_rule(0, PATHOLOGICAL)])
    action = "ecs:" + "a" * length
    targets = {trie_module.__file__, matcher_module.__file__}
    lines = 0

    def local(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in targets else None

    sys.settrace(tracer)
    try:
        decision = trie.decide(action)
    finally:
        sys.settrace(None)
    assert decision.decision == "allow"
    return lines


def test_pathological_glob_decides_in_linear_work():
    trie = DecisionTrie([make_rule(0, PATHOLOGICAL)])
    action = "ecs:" + "a" * 10_000
    assert trie.decide(action).decision == "allow"
    assert trie.decide(action + "b").decision == "deny"
    # Doubling the input doubles the work: no backtracking, whatever the pattern.
    small, large = _work(2_000), _work(4_000)
    assert 1.8 < large / small < 2.2


def test_pathological_glob_oracle_finishes():
    assert not glob_match(PATHOLOGICAL, "ecs:" + "a" * 10_000)
    assert glob_match(PATHOLOGICAL, "ecs:" + "a" * 10_000 + "b")


# --- agreement --------------------------------------------------------------------------------

patterns = st.text("abAB*?", min_size=0, max_size=7)
rule_sets = st.lists(st.lists(patterns, min_size=1, max_size=3), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(rule_sets, st.lists(st.text("abAB", max_size=9), min_size=1, max_size=8))
def test_trie_agrees_with_the_scan_and_the_reference(rule_patterns, actions):
    rules = [make_rule(i, *ps) for i, ps in enumerate(rule_patterns)]
    trie = DecisionTrie(rules)
    for action in actions:
        got = trie.decide(action)
        expected = tuple(
            i for i, ps in enumerate(rule_patterns) if any(ref_match(p, action) for p in ps)
        )
        assert got.rule_indexes == expected
        assert got.decision == ("deny" if expected else "allow")
        assert got == trie.all_rules(action)
        assert trie.denies(action) == got.denied
        assert trie.decide(action) == got  # from the memo now


@settings(max_examples=200, deadline=None)
@given(rule_sets, st.lists(st.text("ab*?", max_size=9), min_size=1, max_size=8))
def test_trie_takes_glob_characters_in_actions_literally(rule_patterns, actions):
    # An action is a plain string: a `*` in it is one character, not a wildcard.
    rules = [make_rule(i, *ps) for i, ps in enumerate(rule_patterns)]
    trie = DecisionTrie(rules)
    for action in actions:
        expected = tuple(
            i for i, ps in enumerate(rule_patterns) if any(ref_match(p, action) for p in ps)
        )
        assert trie.decide(action).rule_indexes == expected


# A `*` that happens to stand in the action text must still let the pattern's `*` backtrack.
LITERAL_STAR = [("*b", "*ab"), ("a*b", "a*xb"), ("ecs:*Instances", "ecs:*RunInstances")]


@pytest.mark.parametrize(("pattern", "action"), LITERAL_STAR, ids=[a for _, a in LITERAL_STAR])
def test_oracle_handles_a_star_in_the_action(pattern, action):
    assert ref_match(pattern, action)
    trie = DecisionTrie([make_rule(0, pattern)])
    assert trie.decide(action).denied
    assert trie.all_rules(action).denied


@settings(max_examples=200, deadline=None)
@given(
    st.lists(patterns, min_size=1, max_size=4),
    st.lists(st.text("abAB", max_size=9), min_size=1, max_size=6),
    st.sampled_from([None, "10.0.0.1", "192.0.2.1"]),
)
def test_conditional_rules_agree_with_the_scan(pats, actions, ip):
    cond = ((Condition("NotIpAddress", "acs:SourceIp", ("10.0.0.0/8",)),),)
    rules = [make_rule(i, p, conditions=cond if i % 2 else ((),)) for i, p in enumerate(pats)]
    trie = DecisionTrie(rules)
    ctx = {"acs:SourceIp": ip} if ip else None
    outside = ip != "10.0.0.1"
    for action in actions:
        expected = tuple(
            i for i, p in enumerate(pats) if ref_match(p, action) and (i % 2 == 0 or outside)
        )
        got = trie.decide(action, ctx)
        assert got.rule_indexes == expected
        assert got == trie.all_rules(action, ctx)


def test_decision_reports_matches_in_rule_order():
    trie = DecisionTrie([make_rule(0, "ecs:Run*"), make_rule(1, "*"), make_rule(2, "ram:*")])
    got = trie.decide("ecs:RunInstances")
    assert [m.line for m in got.matched] == [1, 2]
    assert got.to_dict()["matched"][0] == {
        "policy": "p",
        "file": "p.rules",
        "line": 1,
        "rule": "rule 0",
    }


# --- memo -------------------------------------------------------------------------------------


def test_memo_returns_the_same_decision_for_unconditional_actions():
    cond = ((Condition("Bool", "acs:MFAPresent", ("false",)),),)
    trie = DecisionTrie([make_rule(0, "ecs:Run*"), make_rule(1, "ram:*", conditions=cond)])
    first = trie.decide("ecs:RunInstances")
    assert trie.decide("ecs:RunInstances") is first
    allowed = trie.decide("oss:PutObject")
    assert trie.decide("oss:PutObject") is allowed
    # A conditional action is decided per context, not taken from the memo.
    assert trie.decide("ram:CreateUser", {"acs:MFAPresent": "false"}).denied
    assert not trie.decide("ram:CreateUser", {"acs:MFAPresent": "true"}).denied


def _largest_table(trie: DecisionTrie) -> int:
    return max(len(v) for v in vars(trie).values() if isinstance(v, dict))


def test_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(trie_module, "_MEMO_LIMIT", 100)
    trie = DecisionTrie([make_rule(0, "ecs:Run*")])
    for i in range(1_000):
        assert trie.decide(f"ecs:Run{i}").denied
        assert trie.decide(f"oss:Put{i}").decision == "allow"
        assert _largest_table(trie) <= 100  # every per-action table, whatever its name
    assert trie.decide("ecs:Stop").decision == "allow"  # still right after starting over


# --- the matcher's shapes (issue 15): exact, per-code prefix, per-code DFA, wild --------------

coded_patterns = st.text("ab:*?", min_size=0, max_size=7)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(coded_patterns, min_size=1, max_size=3), min_size=1, max_size=6),
    st.lists(st.text("abAB:*?", max_size=9), min_size=1, max_size=8),
)
def test_every_pattern_shape_agrees_with_the_reference(rule_patterns, actions):
    # Colons put patterns in every bucket: `a:b` exact, `a:b*` a prefix of code `a`, `a:*b` the
    # code's DFA, `*:b` / `a*` wild; actions with no colon, two colons or a glob character.
    rules = [make_rule(i, *ps) for i, ps in enumerate(rule_patterns)]
    trie = DecisionTrie(rules)
    for _ in range(2):  # first sightings, then again after the memo is dropped
        for action in actions:
            expected = tuple(
                i for i, ps in enumerate(rule_patterns) if any(ref_match(p, action) for p in ps)
            )
            assert trie.decide(action).rule_indexes == expected
            assert trie.all_rules(action).rule_indexes == expected
        trie.forget()


def test_memo_evicts_by_generation_and_keeps_hot_actions(monkeypatch):
    monkeypatch.setattr(trie_module, "_MEMO_LIMIT", 8)
    trie = DecisionTrie([make_rule(0, "ecs:Run*")])
    hot = trie.decide("ecs:RunHot")
    for i in range(100):
        trie.decide(f"oss:Junk{i}")
        # Seen again every few junk actions: never dropped, so always the same object.
        if i % 3 == 0:
            assert trie.decide("ecs:RunHot") is hot
        assert len(trie._memo) <= 4 and len(trie._old_memo) <= 4


def test_condition_memo_does_not_confuse_equal_values_of_other_types():
    # True == 1 and hash alike: the memo on values must still tell them apart.
    cond = ((Condition("Bool", "acs:MFAPresent", ("true",)),),)
    trie = DecisionTrie([make_rule(0, "ecs:Run*", conditions=cond)])
    for _ in range(2):
        assert trie.decide("ecs:RunInstances", {"acs:MFAPresent": True}).denied
        assert not trie.decide("ecs:RunInstances", {"acs:MFAPresent": 1}).denied
        assert trie.decide("ecs:RunInstances", {"acs:MFAPresent": "true"}).denied
        assert not trie.decide("ecs:RunInstances", {}).denied


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["10.0.0.1", "192.0.2.1", "x", None]), min_size=1, max_size=12),
    st.lists(st.sampled_from([True, False, "true", "FALSE", 1, None]), min_size=1, max_size=12),
)
def test_condition_memo_agrees_with_the_scan_on_repeated_values(ips, flags):
    ip_cond = (Condition("NotIpAddress", "acs:SourceIp", ("10.0.0.0/8",)),)
    mfa_cond = (Condition("Bool", "acs:MFAPresent", ("false",)),)
    rules = [
        make_rule(0, "ecs:Run*", conditions=(ip_cond,)),
        make_rule(1, "ecs:*", conditions=(mfa_cond, ip_cond)),
        make_rule(2, "ecs:RunInstances"),
    ]
    trie = DecisionTrie(rules)
    for ip, flag in zip(ips * 2, flags * 2, strict=False):
        ctx = {k: v for k, v in (("acs:SourceIp", ip), ("acs:MFAPresent", flag)) if v is not None}
        for action in ("ecs:RunInstances", "ecs:StopInstance"):
            assert trie.decide(action, ctx) == trie.all_rules(action, ctx)
