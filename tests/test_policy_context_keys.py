"""``Policy.decide`` refuses a context key that is no key, as ``ramguard decide -c`` does: a
misspelt key read as absent silently flipped a `not in` condition to deny (issue 15 item 3).
Keys the catalog or RAM allows keep working, in any spelling the CLI takes."""

from __future__ import annotations

import pytest

from compiler import compile_sources

RULES = (
    "deny ECS RunInstances when source_ip not in [10.0.0.0/8]\n"
    "deny ECS StartInstance when resource_tag:env in [prod]\n"
    'deny ECS StopInstance when unchecked "ecs:tag/team" in [red]\n'
    'deny ECS RebootInstance when unchecked "acs:Legacy" in [on]\n'
    "deny OSS PutObject\n"
)


@pytest.fixture
def policy():
    return compile_sources([("p.rules", RULES)])


def test_a_misspelt_key_raises_what_the_cli_prints(policy, run_cli, tmp_path):
    (tmp_path / "p.rules").write_text(RULES)
    cli = run_cli("decide", "--rules", tmp_path, "ecs:RunInstances", "-c", "sorce_ip=10.1.1.1")
    assert cli.exit_code == 2
    with pytest.raises(KeyError) as info:
        policy.decide("ecs:RunInstances", {"sorce_ip": "10.1.1.1"})
    message = info.value.args[0]
    assert message.startswith("unknown key `sorce_ip`: did you mean source_ip?")
    assert message in " ".join(cli.stderr.split())  # click wraps the line


def test_a_warm_action_still_refuses_the_typo(policy):
    # The first call warms the action's memo and the spelled keys; the typo must not then
    # pass the warm closure's one set test.
    for _ in range(3):
        assert policy.decide("ecs:RunInstances", {"source_ip": "10.1.1.1"}).decision == "allow"
        assert policy.decide("ecs:RunInstances", {"source_ip": "8.8.8.8"}).decision == "deny"
        with pytest.raises(KeyError, match="did you mean source_ip"):
            policy.decide("ecs:RunInstances", {"sorce_ip": "10.1.1.1"})


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("acs:Source_Ip", "did you mean acs:SourceIp?"),
        ("ACS:SourceIpAddress", "did you mean acs:SourceIp?"),
        ("acs:Nothing", "the acs: keys are acs:SourceIp, "),
        ("sourceaddress", "keys are source_ip, mfa"),
    ],
    ids=["acs-typo", "acs-longer", "acs-unknown", "no-prefix"],
)
def test_unknown_keys_are_refused_by_both(policy, run_cli, tmp_path, key, hint):
    with pytest.raises(KeyError, match=hint.replace("?", r"\?")):
        policy.decide("ecs:RunInstances", {key: "10.1.1.1"})
    (tmp_path / "p.rules").write_text(RULES)
    cli = run_cli("decide", "--rules", tmp_path, "ecs:RunInstances", "-c", f"{key}=10.1.1.1")
    assert cli.exit_code == 2 and hint in " ".join(cli.stderr.split())


def test_a_non_string_key_is_refused(policy):
    with pytest.raises(KeyError, match="context key 7 is not a string"):
        policy.decide("ecs:RunInstances", {7: "10.1.1.1"})


@pytest.mark.parametrize(
    ("action", "context", "decision"),
    [
        ("ecs:RunInstances", {"acs:SourceIp": "8.8.8.8"}, "deny"),
        ("ecs:RunInstances", {"ACS:sourceip": "10.1.1.1"}, "allow"),
        ("ecs:RunInstances", {"source_ip": "10.1.1.1", "oss:Prefix": "a/"}, "allow"),
        ("ecs:StartInstance", {"resource_tag:env": "prod"}, "deny"),
        ("ecs:StartInstance", {"acs:ResourceTag/env": "prod"}, "deny"),
        ("ecs:StartInstance", {"acs:ResourceTag/env": "dev"}, "allow"),
        ("ecs:StopInstance", {"ecs:tag/team": "red"}, "deny"),
        ("ecs:StopInstance", {"ecs:tag/team": "blue"}, "allow"),
        # A rule may read an acs: key RAM does not list (`unchecked`): it is accepted there.
        ("ecs:RebootInstance", {"acs:Legacy": "on"}, "deny"),
        ("ecs:RebootInstance", {"acs:Legacy": "off"}, "allow"),
    ],
    ids=[
        "ram-key",
        "ram-key-any-case",
        "service-key",
        "tag-name",
        "tag-ram-key",
        "tag-other-value",
        "service-tag-key",
        "service-tag-other",
        "unchecked-acs",
        "unchecked-acs-other",
    ],
)
def test_keys_ram_or_the_catalog_allows_keep_working(policy, action, context, decision):
    for _ in range(2):  # cold, then warm
        assert policy.decide(action, context).decision == decision


def test_an_unchecked_acs_key_is_only_accepted_where_a_rule_reads_it(policy):
    assert policy.decide("ecs:RebootInstance", {"acs:Legacy": "on"}).decision == "deny"
    # Accepting it once must not let it through for an action that does not read it.
    with pytest.raises(KeyError, match="unknown key `acs:Legacy`"):
        policy.decide("ecs:RunInstances", {"acs:Legacy": "on", "source_ip": "10.1.1.1"})
