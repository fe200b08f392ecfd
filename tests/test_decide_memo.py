"""The warm paths (issue 15 item 3): conditional Decisions memoised on the values of the keys
their conditions test, answered inline by ``decider()``, bounded in two generations across
every leaf; and ``Policy.decide``'s checked decider, which still refuses what it documents.

Every test here compares against ``all_rules`` (no index, no memo) or a hand-written answer,
and would fail if the memo returned a Decision made for other values."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_trie import make_rule

from compiler import compile_sources
from compiler.decide import trie as trie_module
from compiler.decide.trie import DecisionTrie
from compiler.model.ir import Condition, Rule

IP, MFA, VPC = "acs:SourceIp", "acs:MFAPresent", "acs:SourceVpc"
NOT_INSIDE = (Condition("NotIpAddress", IP, ("10.0.0.0/8",)),)
NO_MFA = (Condition("Bool", MFA, ("false",)),)
VPC_A = (Condition("StringEquals", VPC, ("vpc-a", "1", "true")),)


def rule(index: int, pattern: str, *conjunctions) -> Rule:
    return make_rule(index, pattern, conditions=conjunctions or ((),))


RULES = [
    rule(0, "ecs:Run*", NOT_INSIDE),  # one key
    rule(1, "ecs:*", NO_MFA + NOT_INSIDE),  # two keys
    rule(2, "ecs:RunInstances"),  # unconditional
    rule(3, "ram:*", VPC_A, NO_MFA),  # two conjunctions (ORed), two keys
    rule(4, "oss:*", NOT_INSIDE + NO_MFA + VPC_A),  # three keys: the slow path's memo
]
ACTIONS = ("ecs:RunInstances", "ECS:stopinstance", "ram:CreateUser", "oss:PutObject", "vpc:X")


def test_same_action_other_values_is_decided_again():
    trie = DecisionTrie(RULES)
    decide = trie.decider()
    for _ in range(3):  # first sighting, then warm twice: the memo must not answer for other IPs
        assert decide("ecs:RunImage", {IP: "192.0.2.1"}).denied
        assert not decide("ecs:RunImage", {IP: "10.0.0.1"}).denied
        assert decide("ecs:RunImage", {}).denied  # absent: NotIpAddress matches
        assert decide("ecs:RunImage").denied
        assert decide("ecs:RunImage", {IP: None}).denied  # None reads as absent
        assert not decide("ecs:RunImage", {IP: "10.0.0.1", MFA: "true"}).denied


def test_a_leaf_first_seen_in_one_context_is_decided_afresh_in_the_next():
    """A conditional action's first sighting remembers no Decision by values (its memo and
    warm entry are built on the second): the second and later sightings, in the same context
    or others, each through the closure and through ``decide``, answer as the scan does."""
    contexts = [{IP: "192.0.2.1", MFA: "false", VPC: "vpc-a"}, {IP: "10.0.0.1"}, None, {}]
    for first in contexts:
        trie = DecisionTrie(RULES)
        decide = trie.decider()
        for action in ("ecs:RunImage", "ecs:StopInstance", "ram:CreateUser", "oss:PutObject"):
            assert decide(action, first) == trie.all_rules(action, first)
            for _ in range(2):
                for ctx in contexts:
                    assert decide(action, ctx) == trie.all_rules(action, ctx), (action, ctx)
                    assert trie.decide(action, ctx) == trie.all_rules(action, ctx)


def test_two_keys_and_three_keys_are_memoised_on_all_of_them():
    trie = DecisionTrie(RULES)
    decide = trie.decider()
    for _ in range(3):
        # Rule 1 needs MFA false *and* an outside IP; only the second value differs here.
        assert decide("ecs:StopInstance", {MFA: "false", IP: "192.0.2.1"}).rule_indexes == (1,)
        assert decide("ecs:StopInstance", {MFA: "true", IP: "192.0.2.1"}).rule_indexes == ()
        assert decide("ecs:StopInstance", {MFA: False, IP: "192.0.2.1"}).rule_indexes == (1,)
        assert decide("ecs:StopInstance", {MFA: "false", IP: "10.0.0.2"}).rule_indexes == ()
        assert decide("oss:GetObject", {IP: "192.0.2.1", MFA: "false", VPC: "vpc-a"}).denied
        assert not decide("oss:GetObject", {IP: "192.0.2.1", MFA: "false", VPC: "vpc-b"}).denied


def test_values_equal_across_types_are_told_apart_on_the_warm_path():
    # True == 1 == 1.0 and hash alike; StringEquals reads True as "true", 1 as "1", 1.0 as "1.0".
    trie = DecisionTrie([rule(0, "ram:*", VPC_A)])
    decide = trie.decider()
    for _ in range(3):
        assert decide("ram:X", {VPC: True}).denied
        assert decide("ram:X", {VPC: 1}).denied
        assert not decide("ram:X", {VPC: 1.0}).denied
        assert not decide("ram:X", {VPC: False}).denied
        assert not decide("ram:X", {VPC: 0}).denied
        assert decide("ram:X", {VPC: "1"}).denied
        assert not decide("ram:X", {VPC: -0.0}).denied


class _Sly(str):
    """Equal to every string and hashed like ``vpc-a``, whatever its own characters."""

    def __eq__(self, other):
        return True

    def __hash__(self):
        return hash("vpc-a")


def test_a_str_subclass_is_never_answered_from_the_memo():
    like = (Condition("StringLike", VPC, ("vpc-a",)),)  # reads the characters, not ==
    trie = DecisionTrie([rule(0, "ram:*", like)])
    decide = trie.decider()
    for _ in range(2):
        assert decide("ram:X", {VPC: "vpc-a"}).denied
        # Looked up as itself, it would find vpc-a's entry (same hash, "equal").
        sly = _Sly("vpc-zzz")
        assert decide("ram:X", {VPC: sly}).decision == "allow"
        assert decide("ram:X", {VPC: sly}) == trie.all_rules("ram:X", {VPC: sly})


class _Liar:
    """Claims to be a str through ``__class__`` (as a proxy or a mock may), hashed like and
    equal to ``vpc-a``: only ``type()`` tells it apart."""

    @property
    def __class__(self):  # type: ignore[override]
        return str

    def __eq__(self, other):
        return True

    def __hash__(self):
        return hash("vpc-a")


def test_an_object_claiming_to_be_a_str_is_never_answered_from_the_memo():
    like = (Condition("StringLike", VPC, ("vpc-a",)),)  # reads the characters, not ==
    trie = DecisionTrie([rule(0, "ram:*", like)])
    decide = trie.decider()
    liar = _Liar()
    for _ in range(2):
        assert decide("ram:X", {VPC: "vpc-a"}).denied  # the entry a lookup by liar would find
        assert trie.decide("ram:X", {VPC: "vpc-a"}).denied
        try:
            expected = trie.all_rules("ram:X", {VPC: liar})
        except Exception as exc:  # the tests cannot read it: then neither path may answer
            with pytest.raises(type(exc)):
                decide("ram:X", {VPC: liar})
        else:
            assert decide("ram:X", {VPC: liar}) == expected
    assert all(len(leaf.memo) <= 1 for leaf in trie._filled)  # only vpc-a was remembered


def test_a_rule_set_that_reads_no_context_answers_warm_from_the_action_alone():
    # No condition and no resource scope anywhere: the decider is the subscript alone, and
    # still agrees with the scan on every request, first sighting or warm, across
    # generations and after forget().
    rules = [rule(0, "ecs:Run*"), rule(1, "ram:*"), make_rule(2, "oss:PutObject")]
    trie = DecisionTrie(rules)
    assert trie._context_free
    decide = trie.decider()
    old = trie_module._MEMO_LIMIT
    trie_module._MEMO_LIMIT = 8
    try:
        for round_ in range(3):
            for i, action in enumerate((*ACTIONS, "oss:putobject", "ECS:RUNX", "x" * 5)):
                ctx = {IP: f"10.0.0.{i}"} if i % 2 else None
                expected = trie.all_rules(action, ctx)
                assert decide(action, ctx) == expected
                assert decide(action, ctx, "acs:ecs:*:*:instance/i-1") == expected
                assert trie.decide(action, ctx) == expected
            if round_ == 1:
                trie.forget()
            assert len(trie._hot) <= 8
    finally:
        trie_module._MEMO_LIMIT = old
    assert not DecisionTrie(RULES)._context_free


def _memo_sizes(trie: DecisionTrie) -> int:
    leaves = {id(leaf): leaf for leaf in (*trie._filled, *trie._filled_old)}
    return sum(len(leaf.memo) + len(leaf.old) for leaf in leaves.values())


def test_values_memo_is_bounded_across_leaves_and_keeps_hot_values(monkeypatch):
    monkeypatch.setattr(trie_module, "_MEMO_LIMIT", 16)
    trie = DecisionTrie(RULES)
    decide = trie.decider()
    decide("ecs:RunHot", {IP: "192.0.2.1"})  # a first sighting: answered, remembered next time
    hot = decide("ecs:RunHot", {IP: "192.0.2.1"})
    for i in range(300):
        action = f"ecs:Run{i % 7}"  # several leaves share the bound
        ip = f"10.{i // 256}.{i % 256}.1"
        assert not decide(action, {IP: ip}).denied
        assert decide(action, {IP: f"192.0.{i % 256}.1"}).denied
        assert _memo_sizes(trie) <= 16
        if i % 3 == 0:  # seen every few values: promoted, never dropped
            assert decide("ecs:RunHot", {IP: "192.0.2.1"}) is hot
    assert decide("ecs:RunHot", {IP: "10.0.0.1"}).decision == "allow"


contexts = st.dictionaries(
    st.sampled_from([IP, MFA, VPC, "source_ip", "acs:Other"]),
    st.one_of(
        st.none(),
        st.sampled_from(["10.0.0.1", "192.0.2.1", "vpc-a", "false", "true", "1", "FALSE"]),
        st.booleans(),
        st.sampled_from([0, 1, 1.0, -0.0, 0.0]),
    ),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(ACTIONS), contexts), min_size=1, max_size=40),
    st.sampled_from([4, 8, 1 << 16]),
)
def test_warm_paths_agree_with_the_scan(requests, limit):
    old = trie_module._MEMO_LIMIT
    trie_module._MEMO_LIMIT = limit  # small limits: generations turn mid-sequence
    try:
        trie = DecisionTrie(RULES)
        decide = trie.decider()
        for _ in range(2):
            for action, ctx in requests:
                expected = trie.all_rules(action, ctx)
                assert decide(action, ctx) == expected
                assert trie.decide(action, ctx) == expected
                assert trie.denies(action, ctx) == expected.denied
    finally:
        trie_module._MEMO_LIMIT = old


# --- Policy.decide: the checked decider --------------------------------------------------

SOURCE = """\
policy p "memo"
deny ECS RunInstances when source_ip not in [10.0.0.0/8]
deny RAM * unless mfa = true
deny OSS PutObject
"""


@pytest.fixture
def policy():
    return compile_sources([("p.rules", SOURCE)])


def test_policy_decide_reads_language_names_and_ram_keys_alike_when_warm(policy):
    for _ in range(3):
        assert policy.decide("ecs:RunInstances", {"source_ip": "192.0.2.1"}).denied
        assert not policy.decide("ecs:RunInstances", {"acs:SourceIp": "10.0.0.1"}).denied
        assert not policy.decide("ecs:RunInstances", {"source_ip": "10.0.0.1"}).denied
        assert policy.decide("ecs:RunInstances", {"acs:sourceip": "192.0.2.1"}).denied
        assert not policy.decide("ram:CreateUser", {"mfa": True}).denied
        assert policy.decide("ram:CreateUser", {"mfa": False}).denied
        assert not policy.decide("ram:CreateUser", {"acs:MFAPresent": "true"}).denied


BAD_VALUES = pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, datetime(2026, 1, 1), object(), [1], None, True],
    ids=["nan", "inf", "naive-datetime", "object", "list", "none", "bool-for-an-ip"],
)


@BAD_VALUES
def test_policy_decide_refuses_a_bad_value_its_conditions_read_first_sighting_or_warm(
    policy, value
):
    # ecs:RunInstances' rule tests acs:SourceIp: a value the trie and the RAM evaluator could
    # read differently is refused whether its answer is being worked out or remembered.
    for _ in range(2):
        with pytest.raises(ValueError):
            policy.decide("ecs:RunInstances", {"acs:SourceIp": value})
        with pytest.raises(ValueError):
            policy.decide("ecs:RunInstances", {"source_ip": value, "acs:MFAPresent": "true"})
        assert not policy.decide("ecs:RunInstances", {"acs:SourceIp": "10.0.0.1"}).denied


@BAD_VALUES
def test_policy_decide_does_not_read_values_no_condition_of_the_decision_tests(policy, value):
    # oss:PutObject is denied whatever the context; ecs:RunInstances reads only acs:SourceIp;
    # ram:* reads only acs:MFAPresent. A value nothing reads cannot be read differently.
    for _ in range(2):
        assert policy.decide("oss:PutObject", {"acs:SourceIp": value}).rule_indexes == (
            policy.decide("oss:PutObject").rule_indexes
        )
        assert policy.decide("ecs:RunInstances", {"oss:Other": value, "source_ip": "192.0.2.1"})
        assert policy.decide("ecs:RunInstances", {"oss:Other": value}).denied  # absent IP
        assert not policy.decide("ram:CreateUser", {"acs:SourceIp": value, "mfa": True}).denied
    if type(value) is not bool:  # a bool is a Bool key's value
        with pytest.raises(ValueError):
            policy.decide("ram:CreateUser", {"acs:MFAPresent": value})


@BAD_VALUES
def test_policy_decide_without_conditions_reads_no_context(value):
    # A rule set that reads no context has its own decider: the answer is the action's alone.
    policy = compile_sources([("p.rules", "deny OSS PutObject\n")])
    assert policy.trie._context_free
    for _ in range(2):
        assert policy.decide("oss:PutObject", {"acs:SourceIp": value}).denied
        assert not policy.decide("ecs:RunInstances", {"source_ip": value}).denied


def test_policy_decide_refuses_one_key_in_two_spellings_when_the_decision_reads_context(policy):
    twice = {"acs:SourceIp": "10.0.0.1", "source_ip": "10.0.0.2"}
    for _ in range(2):  # first sighting, then warm
        policy.decide("ecs:RunInstances", {"acs:SourceIp": "10.0.0.1"})
        with pytest.raises(KeyError):
            policy.decide("ecs:RunInstances", twice)
        with pytest.raises(KeyError):  # ram:* reads mfa only, but the context is spelled out
            policy.decide("ram:CreateUser", {**twice, "mfa": True})
    # A fixed answer reads no key, so neither spelling can win: decided.
    assert policy.decide("oss:PutObject", twice).denied


contexts_with_bad_values = st.dictionaries(
    st.sampled_from(["acs:SourceIp", "source_ip", "MFA", "acs:MFAPresent", "acs:Other"]),
    st.one_of(
        st.sampled_from(["10.0.0.1", "192.0.2.1", "true", "false", "TRUE", "x"]),
        st.booleans(),
        st.sampled_from([None, math.nan, 1, 2.5, object()]),
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ecs:RunInstances", "RAM:CreateUser", "oss:PutObject", "vpc:X"]),
            contexts_with_bad_values,
        ),
        min_size=1,
        max_size=20,
    )
)
def test_policy_decide_answers_or_refuses_as_the_scan_of_what_it_reads(requests):
    # The oracle is written from the rules, not the trie: the keys the rules covering the
    # action test; a request is refused iff one of those, spelled out, holds a value
    # ``context_value`` refuses, or a key comes in two spellings or is no key (`acs:Other`,
    # issue 15) while one is read; else the answer is the scan's on the converted values.
    from compiler.model.glob import glob_match
    from compiler.model.keys import context_value, normalise_context, unknown_key

    policy = compile_sources([("p.rules", SOURCE)])
    trie = policy.trie

    def outcome(decide, action, ctx):
        try:
            return decide(action, ctx)
        except KeyError:
            return KeyError
        except ValueError:
            return ValueError

    def scan(action, ctx):
        covering = [r for r in trie.rules if any(glob_match(p, action) for p in r.actions)]
        reads = {c.key for r in covering for conj in r.conditions for c in conj}
        if reads and any(unknown_key(k) is not None and k not in reads for k in ctx):
            raise KeyError("no key")
        spelled = normalise_context(ctx) if reads and ctx else dict(ctx)
        converted = {
            k: (context_value(k, v, parse_strings=False) if k in reads else v)
            for k, v in spelled.items()
        }
        return trie.all_rules(action, converted)

    for _ in range(2):
        for action, ctx in requests:
            assert outcome(policy.decide, action, ctx) == outcome(scan, action, ctx)


def test_policy_decide_converts_values_as_documented(policy):
    when = datetime(2026, 12, 1, tzinfo=UTC)
    assert policy.decide("ecs:RunInstances", {"source_ip": "192.0.2.1", "time": when}).denied
    assert policy.decide("ram:X", {"mfa": "false"}).denied
    assert not policy.decide("ram:X", {"mfa": "TRUE"}).denied  # request data, RAM's Bool reads it


def test_policy_pickles_without_its_decide_closure(policy):
    assert policy.decide("oss:PutObject").denied  # the closure exists
    clone = pickle.loads(pickle.dumps(policy))
    assert clone.decide("oss:PutObject").denied
    assert clone.decide("ecs:RunInstances", {"source_ip": "10.0.0.1"}).decision == "allow"


def test_policy_decide_normalises_contexts_the_same_way_however_often_a_key_is_seen(
    policy, monkeypatch
):
    # Key spellings are remembered (bounded) and a str value skips the converter: the result
    # must be the one the converter gives, the first time and every time after, past the bound.
    from compiler.model import keys as keys_module

    monkeypatch.setattr(keys_module, "_SPELLING", {})
    monkeypatch.setattr(keys_module, "_SPELLED_LIMIT", 4)
    for round_ in range(3):
        ctx = {"source_ip": "192.0.2.1", "MFA": False, f"resource_tag:k{round_}": "v"}
        assert keys_module.normalise_context(ctx, convert=True) == {
            "acs:SourceIp": "192.0.2.1",
            "acs:MFAPresent": "false",
            f"acs:ResourceTag/k{round_}": "v",
        }
        assert policy.decide("ram:CreateUser", ctx).denied
        assert policy.decide("ecs:RunInstances", {"Source_IP": "192.0.2.1", "mfa": True}).denied
        assert not policy.decide("ram:CreateUser", {"acs:mfapresent": True}).denied
        with pytest.raises(KeyError):
            policy.decide("ram:X", {"mfa": True, "acs:MFAPresent": "true"})
        with pytest.raises(ValueError):  # ecs:RunInstances' rule reads source_ip
            policy.decide("ecs:RunInstances", {"source_ip": True})
        assert len(keys_module._SPELLING) <= 4


@pytest.mark.parametrize("conjunctions", [2, 3])
def test_conjunctions_ored_deny_when_any_one_holds(conjunctions):
    # `unless A and B [and C]` is one conjunction per negated condition, ORed: checked here
    # against a hand-written answer, since all_rules shares the trie's compiled tests.
    keys = ["acs:MFAPresent", "acs:SecureTransport", "acs:SourceVpc"][:conjunctions]
    wanted = ["false", "false", "vpc-x"]
    conds = [
        (Condition("Bool" if i < 2 else "StringEquals", key, (wanted[i],)),)
        for i, key in enumerate(keys)
    ]
    decide = DecisionTrie([rule(0, "ecs:*", *conds)]).decider()
    for bits in range(2**conjunctions):
        ctx = {
            key: (wanted[i] if bits >> i & 1 else ("true" if i < 2 else "vpc-y"))
            for i, key in enumerate(keys)
        }
        for _ in range(2):
            assert decide("ecs:RunInstances", ctx).denied == (bits != 0), ctx
