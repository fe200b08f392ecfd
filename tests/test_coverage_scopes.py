"""Coverage tells a rule whose resource scope no call reached from one whose condition never
held (issue 13 item 4), and gives allow rules (control-policy allow lists, with an org.toml)
the per rule / per pattern statuses deny rules have — against a hand count on small traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ACCOUNT = "1234567890123456"
PROD = "acs:ecs:*:*:instance/i-prod*"

DENY_RULES = (
    "policy scoped\n"
    f"deny ECS DeleteInstance on [{PROD}]\n"  # 2: called on i-dev1 only
    f"deny ECS StopInstance on [{PROD}] when mfa = false\n"  # 3: on i-prod1, with MFA
    f"deny ECS StartInstance on [{PROD}]\n"  # 4: on i-prod2: denied
    "deny ECS RebootInstance on [acs:ecs:*:*:instance/*]\n"  # 5: resource never known
    "deny ECS ModifyInstanceAttribute when mfa = false\n"  # 6: every resource, with MFA
    f"deny ECS DescribeInstanceAttribute, DeleteInstances on [{PROD}]\n"  # 7: one pattern called
)


def _event(
    i: int,
    name: str,
    instance: str | None = None,
    mfa: str | None = None,
    service: str = "Ecs",
    account: str = ACCOUNT,
) -> dict:
    ident: dict = {"type": "ram-user", "accountId": account, "userName": "alice"}
    if mfa is not None:
        ident["sessionContext"] = {"attributes": {"mfaAuthenticated": mfa}}
    out = {
        "eventId": f"e{i}",
        "eventName": name,
        "eventSource": f"{service.lower()}.cn-hangzhou.aliyuncs.com",
        "serviceName": service,
        "eventTime": f"2026-03-02T10:00:{i:02d}Z",
        "acsRegion": "cn-hangzhou",
        "sourceIpAddress": "10.0.0.1",
        "userIdentity": ident,
    }
    if instance is not None:
        out["requestParameters"] = {"InstanceId": instance}
    return out


DENY_EVENTS = [
    _event(1, "DeleteInstance", "i-dev1"),
    _event(2, "DeleteInstance", "i-dev2"),
    _event(3, "StopInstance", "i-prod1", mfa="true"),
    _event(4, "StartInstance", "i-prod2"),
    _event(5, "RebootInstance"),  # no InstanceId: the ARN cannot be built
    _event(6, "ModifyInstanceAttribute", "i-dev1", mfa="true"),
    _event(7, "DescribeInstanceAttribute", "i-dev3"),
]


def _simulate(run_cli, root: Path, rules: dict[str, str], events: list[dict], *extra) -> dict:
    for name, text in rules.items():
        (root / name).write_text(text, encoding="utf-8")
    trace = root / "t.jsonl"
    trace.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = root / "r.json"
    result = run_cli("simulate", "--rules", root, "--trace", trace, "--report", out, *extra)
    assert result.exit_code == 0, result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    report["_text"] = result.stdout
    return report


@pytest.fixture(scope="module")
def deny_report(run_cli, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("scoped")
    return _simulate(run_cli, root, {"scoped.rules": DENY_RULES}, DENY_EVENTS)


def test_resource_never_matched_is_not_condition_never_held(deny_report):
    coverage = deny_report["coverage"]
    rules = {r["line"]: r for r in coverage["rules"]}
    got = {
        n: (r["status"], r["events"], r["denied"], r["resource_matched"]) for n, r in rules.items()
    }
    assert got == {
        2: ("resource_never_matched", 2, 0, 0),
        3: ("condition_never_held", 1, 0, 1),
        4: ("denied", 1, 1, 1),
        5: ("resource_never_matched", 1, 0, 0),
        6: ("condition_never_held", 1, 0, None),  # on every resource: no scope to reach
        7: ("resource_never_matched", 1, 0, 0),
    }
    assert [r["line"] for r in coverage["rules_resource_never_matched"]] == [2, 5, 7]
    assert [r["line"] for r in coverage["rules_condition_never_held"]] == [3, 6]
    patterns = {
        (r["line"], p["pattern"]): p["status"] for r in rules.values() for p in r["patterns"]
    }
    assert patterns[(7, "ecs:DescribeInstanceAttribute")] == "resource_never_matched"
    assert patterns[(7, "ecs:DeleteInstances")] == "never_matched"
    assert [(r["line"], r["pattern"]) for r in coverage["patterns_resource_never_matched"]] == [
        (2, "ecs:DeleteInstance"),
        (5, "ecs:RebootInstance"),
        (7, "ecs:DescribeInstanceAttribute"),
    ]
    (policy,) = coverage["policies"]
    assert (policy["rules_resource_never_matched"], policy["rules_condition_never_held"]) == (3, 2)
    assert policy["patterns_resource_never_matched"] == 3
    assert "resource_never_matched" in coverage["statuses"]


def test_the_text_summary_lists_rules_whose_scope_no_call_reached(deny_report):
    text = deny_report["_text"]
    assert "Rules whose action matched but no call's resource was in their scope (3" in text
    assert "Rules whose action matched but whose condition never held (2" in text


OTHER = "2222222222222222"  # below fd-b, which keeps FullAliyunAccess: no allow list asked
ORG = f"""\
[root]
id = "r-1"

[[folder]]
id = "fd-a"
parent = "r-1"
full_aliyun_access = false

[[account]]
id = "{ACCOUNT}"
parent = "fd-a"

[[folder]]
id = "fd-b"
parent = "r-1"

[[account]]
id = "{OTHER}"
parent = "fd-b"
"""
ALLOW_RULES = (
    'policy allow-a "the allow list of fd-a" for control-policy attach [fd-a]\n'
    "allow ECS DescribeInstances, DescribeDisks\n"  # 2: DescribeInstances allowed twice
    f"allow ECS StartInstance on [{PROD}]\n"  # 3: called on i-dev1 only
    "allow ECS StopInstance when mfa = true\n"  # 4: called without MFA
    "allow RDS *\n"  # 5: never called
    f"allow ECS DeleteInstance on [{PROD}] when mfa = true\n"  # 6: on i-prod1, no MFA
)
ALLOW_EVENTS = [
    _event(1, "DescribeInstances"),
    _event(2, "DescribeInstances"),
    _event(3, "StartInstance", "i-dev1"),
    _event(4, "StopInstance", "i-dev1", mfa="false"),
    _event(5, "DeleteInstance", "i-prod1", mfa="false"),
    # fd-b keeps FullAliyunAccess: these never ask allow-a, so they are not its calls.
    _event(6, "DescribeDBInstances", service="Rds", account=OTHER),
    _event(7, "StartInstance", "i-prod1", account=OTHER),
    _event(8, "DescribeInstances", account=OTHER),
    _event(9, "RebootInstance", account=OTHER),
]
DENY_A = (
    'policy deny-a "a Deny at fd-a" for control-policy attach [fd-a]\ndeny ECS RebootInstance\n'
)
GUARD = 'policy guard "a RAM guardrail: every call"\ndeny ECS RebootInstance when mfa = true\n'


@pytest.fixture(scope="module")
def allow_report(run_cli, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("allow")
    rules = {"allow-a.rules": ALLOW_RULES, "deny-a.rules": DENY_A, "guard.rules": GUARD}
    rules["org.toml"] = ORG
    return _simulate(run_cli, root, rules, ALLOW_EVENTS)


def test_allow_rules_have_per_rule_and_per_pattern_coverage(allow_report):
    coverage = allow_report["coverage"]
    rules = {r["line"]: r for r in coverage["allow_rules"]}
    got = {
        n: (r["status"], r["events"], r["allowed"], r["resource_matched"]) for n, r in rules.items()
    }
    assert got == {
        2: ("allowed", 2, 2, None),
        3: ("resource_never_matched", 1, 0, 0),
        4: ("condition_never_held", 1, 0, None),
        5: ("never_matched", 0, 0, None),  # RDS was called, but only below fd-b
        6: ("condition_never_held", 1, 0, 1),
    }
    patterns = {
        (n, p["pattern"]): (p["status"], p["allowed"])
        for n, r in rules.items()
        for p in r["patterns"]
    }
    assert patterns[(2, "ecs:DescribeInstances")] == ("allowed", 2)
    assert patterns[(2, "ecs:DescribeDisks")] == ("never_matched", 0)
    (policy,) = coverage["allow_policies"]
    assert policy == {
        "policy": "allow-a",
        "rules": 5,
        "rules_allowed": 1,
        "rules_condition_never_held": 2,
        "rules_resource_never_matched": 1,
        "rules_never_matched": 1,
        "patterns": 6,
        "patterns_allowed": 1,
        "patterns_condition_never_held": 2,
        "patterns_resource_never_matched": 1,
        "patterns_never_matched": 2,
        "patterns_excepted": 0,
        "percent": 20.0,
        "patterns_percent": 16.7,
    }
    assert [r["line"] for r in coverage["allow_rules_never_matched"]] == [5]
    assert [(r["line"], r["pattern"]) for r in coverage["allow_patterns_never_matched"]] == [
        (2, "ecs:DescribeDisks"),
        (5, "rds:*"),
    ]
    # The org section's own per-rule count agrees.
    org_rules = {r["line"]: r["allowed"] for r in allow_report["org"]["allow_rules"]}
    assert org_rules == {n: r["allowed"] for n, r in rules.items()}


def test_the_text_summary_shows_allow_coverage(allow_report):
    text = allow_report["_text"]
    assert "Coverage: allow rules that let a call pass" in text
    assert "20.0%" in text


def test_with_an_org_a_control_policy_deny_meets_only_the_calls_that_asked_its_node(
    allow_report,
):
    # RebootInstance was called once, below fd-b: fd-a's Deny never met it, the RAM
    # guardrail (attached to principals, decided for every call) did.
    rules = {(Path(r["file"]).name, r["line"]): r for r in allow_report["coverage"]["rules"]}
    assert (rules[("deny-a.rules", 2)]["status"], rules[("deny-a.rules", 2)]["events"]) == (
        "never_matched",
        0,
    )
    assert (rules[("guard.rules", 2)]["status"], rules[("guard.rules", 2)]["events"]) == (
        "condition_never_held",
        1,
    )
