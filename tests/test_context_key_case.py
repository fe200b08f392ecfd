"""A context key spelled in another case than the rule's (``oss:prefix`` for a rule's
``"oss:Prefix"``) is read by the trie as the RAM evaluator reads it: RAM matches condition key
names ignoring case (``compiler.ram.conditions``), and the trie read the rule's key exactly,
so ``decide`` said allow where the emitted JSON denied and ``ramguard test`` reported the
engines disagreeing. One key given in two spellings is refused everywhere, as the RAM
evaluator refuses it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.ram import RamEvaluator

# The reviewer's repro (review of issue 15's context checks).
REPRO = (
    'policy k "service keys"\n'
    'deny OSS PutObject when "oss:Prefix" like [logs/*]\n'
    'deny OSS GetObject when "oss:Prefix" not like [public/*]\n'
)
REPRO_TESTS = (
    "expect deny oss:PutObject when oss:prefix = logs/a\n"
    "expect allow oss:GetObject when oss:prefix = public/a\n"
)


@pytest.fixture
def repro(tmp_path):
    (tmp_path / "k.rules").write_text(REPRO)
    (tmp_path / "k.tests").write_text(REPRO_TESTS)
    return tmp_path


@pytest.mark.parametrize(
    ("action", "pair", "decision"),
    [
        ("oss:PutObject", "oss:prefix=logs/a", "deny"),
        ("oss:PutObject", "OSS:PREFIX=logs/a", "deny"),
        ("oss:PutObject", "oss:prefix=data/a", "allow"),
        ("oss:GetObject", "oss:prefix=public/a", "allow"),
        ("oss:GetObject", "oss:pReFiX=private/a", "deny"),
    ],
)
def test_decide_reads_a_service_key_in_any_case(run_cli, repro, action, pair, decision):
    result = run_cli("decide", "--rules", repro / "k.rules", action, "-c", pair)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == decision


def test_the_repro_tests_pass_on_both_engines(run_cli, repro):
    result = run_cli("test", repro)
    out = result.stdout + result.stderr
    assert result.exit_code == 0, out
    assert "2 passed, 0 failed" in out and "disagree" not in out


def test_explain_reads_it_too(run_cli, repro):
    args = ("oss:PutObject", "-c", "oss:prefix=logs/a", "--format", "json")
    result = run_cli("explain", "--rules", repro / "k.rules", *args)
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["decision"] == "deny" and shown["context"] == {"oss:Prefix": "logs/a"}


def test_one_key_in_two_spellings_is_refused(run_cli, repro):
    args = ("oss:PutObject", "-c", "oss:prefix=logs/a", "-c", "oss:Prefix=data/a")
    result = run_cli("decide", "--rules", repro / "k.rules", *args)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "given twice" in result.stderr
    policy = compile_sources([("k.rules", REPRO)])
    with pytest.raises(KeyError, match="given twice"):
        policy.decide("oss:PutObject", {"oss:prefix": "logs/a", "oss:Prefix": "data/a"})
    # Whichever spelling comes first, and whether or not one of them is the rule's.
    with pytest.raises(KeyError, match="given twice"):
        policy.decide("oss:GetObject", {"oss:Prefix": "public/a", "OSS:prefix": "x"})
    (repro / "k.tests").write_text(
        "expect deny oss:PutObject when oss:prefix = logs/a and oss:Prefix = logs/b\n"
    )
    tested = run_cli("test", repro)
    assert tested.exit_code == 1 and "Traceback" not in tested.stderr
    assert f"{repro / 'k.tests'}:1:56: error: context key `oss:Prefix` given twice" in tested.stderr


def test_tag_and_acs_keys_in_another_case_agree_with_the_ram_evaluator():
    rules = (
        "policy t\n"
        "deny ECS RunInstances when resource_tag:env in [prod]\n"
        "deny ECS StopInstance when source_ip in [10.0.0.0/8]\n"
    )
    policy = compile_sources([("t.rules", rules)])
    evaluator = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    for action, context in [
        ("ecs:RunInstances", {"acs:ResourceTag/ENV": "prod"}),
        ("ecs:RunInstances", {"ACS:resourcetag/Env": "prod"}),
        ("ecs:StopInstance", {"acs:sourceip": "10.1.2.3"}),
    ]:
        assert evaluator.decide(action, context) == "deny"
        for _ in range(3):  # first sighting, then the warm closure
            assert policy.decide(action, context).decision == "deny", context
    assert policy.decide("ecs:RunInstances", {"resource_tag:ENV": "prod"}).denied


def test_rule_sets_spelling_a_key_differently_each_read_it_in_one_process():
    # The "already spelled" set is shared by every rule set: a spelling one rule set reads
    # exactly must not let the other's warm path read it as absent.
    rule = 'deny OSS PutObject when "{}" in [a]\n'
    upper = compile_sources([("u.rules", "policy u\n" + rule.format("oss:Prefix"))])
    lower = compile_sources([("l.rules", "policy l\n" + rule.format("oss:prefix"))])
    both = compile_sources(
        [
            ("b.rules", 'policy b\ndeny OSS PutObject when "oss:Prefix" in [a]\n'),
            ("c.rules", 'policy c\ndeny OSS PutObject when "oss:prefix" in [b]\n'),
        ]
    )
    for _ in range(3):
        for key in ("oss:Prefix", "oss:prefix", "OSS:PREFIX"):
            assert upper.decide("oss:PutObject", {key: "a"}).denied
            assert lower.decide("oss:PutObject", {key: "a"}).denied
            assert not upper.decide("oss:PutObject", {key: "z"}).denied
            # Two rules spelling one key two ways both read the one value, as RAM does.
            assert [m.policy for m in both.decide("oss:PutObject", {key: "a"}).matched] == ["b"]
            assert [m.policy for m in both.decide("oss:PutObject", {key: "b"}).matched] == ["c"]


ORG = '[root]\nid = "r-1"\n\n[[account]]\nid = "111"\nparent = "r-1"\n'


def test_decide_chain_reads_a_service_key_in_any_case(tmp_path):
    (tmp_path / "org.toml").write_text(ORG)
    rules = (
        "policy base for control-policy attach [r-1]\n"
        'deny OSS PutObject when "oss:Prefix" like [logs/*]\n'
    )
    policy = compile_sources([("base.rules", rules)])
    org = policy.load_org(tmp_path / "org.toml")
    for _ in range(2):
        assert policy.decide_chain(org, "111", "oss:PutObject", {"oss:prefix": "logs/a"}).denied
        decided = policy.decide_chain(org, "111", "oss:PutObject", {"oss:prefix": "data/a"})
        assert not decided.denied
    with pytest.raises(KeyError, match="given twice"):
        policy.decide_chain(org, "111", "oss:PutObject", {"oss:prefix": "a", "oss:Prefix": "b"})


PROPERTY_RULES = (
    "policy p\n"
    'deny OSS PutObject when "oss:Prefix" like [logs/*]\n'
    'deny OSS GetObject when "oss:Prefix" not like [public/*] and resource_tag:env in [prod]\n'
    "deny ECS RunInstances when source_ip in [10.0.0.0/8]\n"
    "deny ECS RunInstances when request_tag:Team in [ops]\n"
    "deny ECS StopInstance when secure_transport = false\n"
)
_PROPERTY = compile_sources([("p.rules", PROPERTY_RULES)])
_EVALUATOR = RamEvaluator([(d.filename, d.as_dict()) for d in _PROPERTY.documents])
_VALUES = {
    "oss:Prefix": ["logs/a", "public/b", "data/c"],
    "acs:ResourceTag/env": ["prod", "dev", "PROD"],
    "acs:SourceIp": ["10.1.2.3", "192.0.2.1"],
    "acs:RequestTag/Team": ["ops", "dev"],
    "acs:SecureTransport": ["true", "false"],
}


@st.composite
def _variant(draw, key: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(key), max_size=len(key)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(key, flips, strict=True))


@st.composite
def _request(draw):
    action = draw(
        st.sampled_from(["oss:PutObject", "oss:GetObject", "ecs:RunInstances", "ecs:StopInstance"])
    )
    keys = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True))
    canonical = {key: draw(st.sampled_from(_VALUES[key])) for key in keys}
    variant = {draw(_variant(key)): value for key, value in canonical.items()}
    return action, canonical, variant


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(_request(), min_size=1, max_size=10))
def test_case_variants_of_the_rules_keys_decide_as_the_ram_evaluator(requests):
    for action, canonical, variant in requests:
        expected = _EVALUATOR.decide(action, canonical)
        assert _EVALUATOR.decide(action, variant) == expected
        # Twice: the first call may take the checked slow path, the second the warm one.
        assert _PROPERTY.decide(action, variant).decision == expected, variant
        assert _PROPERTY.decide(action, variant).decision == expected, variant
        assert _PROPERTY.decide(action, canonical).decision == expected


def test_an_unchecked_acs_key_in_another_case_is_read_as_the_rules(run_cli, tmp_path):
    (tmp_path / "u.rules").write_text('deny ECS RunInstances when unchecked "acs:Foo" in [x]\n')
    result = run_cli("decide", "--rules", tmp_path, "ecs:RunInstances", "-c", "acs:foo=x")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["decision"] == "deny"
    policy = compile_sources([("u.rules", "policy u\n" + (tmp_path / "u.rules").read_text())])
    for _ in range(2):
        assert policy.decide("ecs:RunInstances", {"ACS:FOO": "x"}).denied
        assert not policy.decide("ecs:RunInstances", {"acs:foo": "y"}).denied
