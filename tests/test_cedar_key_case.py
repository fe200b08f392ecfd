"""Cedar reads a request's context keys as the trie and the RAM evaluator do: a RAM key or a
rules-language name in any case is read under its one spelling, and a context the trie
refuses — a key that is none, one key in two spellings — Cedar's request builder refuses too
(it dropped such keys and decided the request). The property runs every key the Cedar
target translates, spelled at random, through all three engines."""

from __future__ import annotations

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.emit.cedar import cedar_context, cedar_policies, cedar_request
from compiler.model.keys import LANGUAGE_KEYS
from compiler.ram import RamEvaluator

RULES = (
    "policy c\n"
    "deny ECS RunInstances when source_ip in [10.0.0.0/8]\n"
    "deny ECS StopInstance when secure_transport = false and mfa = false\n"
    "deny RAM CreateUser when vpc not in [vpc-a]\n"
    "deny * * when access_key in [LTAI5tLeaked]\n"
    "deny RDS DeleteDBInstance when time after 2026-12-01T00:00:00Z\n"
    "deny OSS PutObject when principal like [acs:ram::*:role/admin*]\n"
    "deny ECS DeleteInstance when resource_group in [rg-1]\n"
)
_POLICY = compile_sources([("c.rules", RULES)])
_EVALUATOR = RamEvaluator([(d.filename, d.as_dict()) for d in _POLICY.documents])
_CEDAR = cedarpy.PolicySet.from_str("\n".join(c.text for c in cedar_policies(_POLICY.policies)))
_ENTITIES = cedarpy.Entities.from_json_str("[]")
ACTIONS = [
    "ecs:RunInstances",
    "ecs:StopInstance",
    "ram:CreateUser",
    "rds:DeleteDBInstance",
    "oss:PutObject",
    "ecs:DeleteInstance",
]
# RAM key → values on both sides of its rule (and one that does not parse for its kind).
VALUES = {
    "acs:SourceIp": ["10.1.2.3", "192.0.2.1", "not-an-ip"],
    "acs:SecureTransport": ["true", "false", "FALSE"],
    "acs:MFAPresent": ["true", "false"],
    "acs:SourceVpc": ["vpc-a", "vpc-b"],
    "acs:AccessId": ["LTAI5tLeaked", "LTAI5tFine"],
    "acs:CurrentTime": ["2026-12-01T00:00:00Z", "2026-12-01T00:00:01Z", "yesterday"],
    "acs:PrincipalARN": ["acs:ram::1:role/admin-x", "acs:ram::1:role/dev"],
    "acs:ResourceGroupId": ["rg-1", "rg-2"],
}
_NAME = {ram: name for name, (ram, _) in LANGUAGE_KEYS.items()}


def _cedar_decides(requests) -> list[str]:
    answers = cedarpy.is_authorized_batch(
        [cedar_request(a, c) for a, c in requests], _CEDAR, _ENTITIES
    )
    assert all(not r.diagnostics.errors for r in answers)
    return ["deny" if r.decision == cedarpy.Decision.Deny else "allow" for r in answers]


@st.composite
def _spelling(draw, key: str) -> str:
    """``key`` or its language name, each character's case flipped at random."""
    word = draw(st.sampled_from([key, _NAME[key]]))
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def _request(draw):
    action = draw(st.sampled_from(ACTIONS))
    keys = draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True))
    canonical = {key: draw(st.sampled_from(VALUES[key])) for key in keys}
    variant = {draw(_spelling(key)): value for key, value in canonical.items()}
    return action, canonical, variant


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests=st.lists(_request(), min_size=1, max_size=12))
def test_cedar_trie_and_ram_evaluator_agree_on_any_spelling_of_the_keys(requests):
    expected = [_EVALUATOR.decide(action, canonical) for action, canonical, _ in requests]
    cedar = _cedar_decides([(action, variant) for action, _, variant in requests])
    assert cedar == expected
    for (action, _, variant), want in zip(requests, expected, strict=True):
        assert _POLICY.decide(action, variant).decision == want, variant
        assert _POLICY.decide(action, variant).decision == want, variant  # the warm path


def test_the_seed_cases_are_each_decided_both_ways():
    # The property means something only if spellings reach both decisions.
    requests = [
        ("ecs:RunInstances", {"ACS:sourceip": "10.1.2.3"}),
        ("ecs:RunInstances", {"Source_IP": "192.0.2.1"}),
        ("ram:CreateUser", {"acs:SOURCEVPC": "vpc-a"}),
        ("ram:CreateUser", {"VPC": "vpc-b"}),
        ("rds:DeleteDBInstance", {"acs:currenttime": "2026-12-01T00:00:01Z"}),
        ("ecs:StopInstance", {"Acs:SecureTransport": "false", "MFA": "false"}),
    ]
    assert _cedar_decides(requests) == ["deny", "allow", "allow", "deny", "deny", "deny"]


REFUSED = [
    # One service key in two spellings: RAM refuses it (which value applies?), so does the
    # trie, whether or not a rule reads it; Cedar decided the request without it.
    {"oss:prefix": "a", "oss:Prefix": "b", "acs:SourceIp": "10.1.2.3"},
    {"acs:SourceIp": "10.1.2.3", "source_IP": "192.0.2.1"},
    # No context key: a typo the trie refuses, where Cedar read the request as without it.
    {"sorce_ip": "10.1.2.3"},
    {"acs:SourceIpp": "10.1.2.3"},
]


@pytest.mark.parametrize("context", REFUSED, ids=lambda c: ",".join(c))
def test_a_context_the_trie_refuses_cedar_refuses(context):
    with pytest.raises(KeyError) as trie:
        _POLICY.decide("ecs:RunInstances", context)
    with pytest.raises(KeyError) as cedar:
        cedar_request("ecs:RunInstances", context)
    assert cedar.value.args[0] == trie.value.args[0]
    with pytest.raises(KeyError):
        cedar_context(context)
