"""``Policy.decide_chain`` (``ramguard decide --account``) reads a context as ``Policy.decide``
does (README "Python API"): only as far as the decision along the chain reads it, a misspelt
key raises KeyError with a did-you-mean, a key in two spellings is refused, and an ``acs:``
key an ``unchecked`` rule covering the action tests is a key. Before, every key and value was
checked whatever the action: ``acs:Legacy`` was refused where a control policy's rule tests
it, and a bad value of a key no rule reads raised."""

from __future__ import annotations

import pytest

from compiler.model.org import bind_org, parse_org
from compiler.policy import compile_sources

ORG = """\
[root]
id = "r-1"

[[folder]]
id = "fd-prod"
parent = "r-1"
full_aliyun_access = false

[[account]]
id = "111"
parent = "fd-prod"
"""

# The Root's Deny tests an acs: key RAM does not define; prod's allow list tests a service
# key; the RAM guardrail a language key. ecs:DescribeInstances is covered by no condition.
ROOT = (
    "policy base for control-policy attach [r-1]\n"
    'deny ECS RebootInstance when unchecked "acs:Legacy" in [on]\n'
)
PROD = (
    "policy prod for control-policy attach [fd-prod]\n"
    "allow ECS *\n"
    'allow OSS GetObject when unchecked "oss:Prefix" in [public/]\n'
)
RAM = "policy guard\ndeny ECS RunInstances when source_ip not in [10.0.0.0/8]\n"


@pytest.fixture
def chain():
    policy = compile_sources([("base.rules", ROOT), ("prod.rules", PROD), ("guard.rules", RAM)])
    org = bind_org(parse_org("org.toml", ORG), policy.ruleset, policy.sources)

    def decide(action: str, context: dict) -> str:
        return policy.decide_chain(org, "111", action, context).decision

    return policy, decide


@pytest.mark.parametrize(
    ("action", "context", "decision"),
    [
        ("ecs:RebootInstance", {"acs:Legacy": "on"}, "deny"),
        ("ecs:RebootInstance", {"acs:Legacy": "off"}, "allow"),
        ("oss:GetObject", {"oss:Prefix": "public/"}, "allow"),
        ("oss:GetObject", {"oss:Prefix": "secret/"}, "deny"),
        ("ecs:RunInstances", {"source_ip": "8.8.8.8"}, "deny"),
        ("ecs:RunInstances", {"ACS:SourceIp": "10.1.1.1"}, "allow"),
    ],
    ids=["unchecked-acs", "unchecked-acs-other", "allow-list", "allow-list-other", "ram", "case"],
)
def test_keys_the_chain_reads_are_keys(chain, action, context, decision):
    _, decide = chain
    for _ in range(2):  # cold, then warm
        assert decide(action, context) == decision


def test_an_unchecked_acs_key_is_refused_where_no_rule_on_the_chain_reads_it(chain):
    _, decide = chain
    with pytest.raises(KeyError, match="unknown key `acs:Legacy`"):
        decide("ecs:RunInstances", {"acs:Legacy": "on", "source_ip": "10.1.1.1"})


def test_a_misspelt_key_raises_as_decide_does(chain):
    policy, decide = chain
    with pytest.raises(KeyError) as chained:
        decide("ecs:RunInstances", {"sorce_ip": "10.1.1.1"})
    with pytest.raises(KeyError) as plain:
        policy.decide("ecs:RunInstances", {"sorce_ip": "10.1.1.1"})
    assert chained.value.args[0] == plain.value.args[0]
    assert chained.value.args[0].startswith("unknown key `sorce_ip`: did you mean source_ip?")


def test_a_key_in_two_spellings_is_refused(chain):
    _, decide = chain
    with pytest.raises(KeyError, match="given twice"):
        decide("ecs:RunInstances", {"source_ip": "10.1.1.1", "acs:SourceIp": "10.1.1.1"})


def test_values_the_chain_tests_are_checked(chain):
    _, decide = chain
    with pytest.raises(ValueError, match="is not a ip"):
        decide("ecs:RunInstances", {"source_ip": None})


def test_an_action_no_condition_covers_does_not_read_the_context(chain):
    policy, decide = chain
    # As Policy.decide: nothing along the chain reads it, so no engine can read it wrongly.
    context = {"sorce_ip": "10.1.1.1", "mfa": object()}
    assert policy.decide("ecs:DescribeInstances", context).decision == "allow"
    assert decide("ecs:DescribeInstances", context) == "allow"
    assert decide("rds:DescribeDBInstances", context) == "deny"  # no Allow at fd-prod


def test_a_value_no_rule_of_the_action_tests_is_not_looked_at(chain):
    _, decide = chain
    assert decide("ecs:RebootInstance", {"acs:Legacy": "on", "mfa": object()}) == "deny"


def test_an_action_too_long_for_any_api_is_refused_as_decide_does(chain):
    policy, decide = chain
    action = "ecs:" + "X" * 5000
    with pytest.raises(ValueError) as plain:
        policy.decide(action)
    with pytest.raises(ValueError) as chained:
        decide(action, {})
    assert str(chained.value) == str(plain.value)
    assert "5,004 characters" in str(chained.value)
