"""Coverage (issue 13 item 4) that does not ignore conditions: per rule and per pattern,
*denied* vs *action matched but condition never held* vs *never matched*, and per-policy
coverage as the share of rules that denied at least one call — against a hand count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main

RULES = (
    "policy cov\n"
    "deny ECS RunInstances, StopInstance when source_ip not in [10.0.0.0/8]\n"  # 2: one denies
    "deny ECS DeleteInstance when mfa = false\n"  # 3: called, always with MFA
    "deny RDS DeleteDBInstance\n"  # 4: never called
    "deny RAM Create*, Delete*\n"  # 5: Create* denies, Delete* never called
)


def _event(i: int, name: str, ip: str, service: str = "Ecs", mfa: str | None = None) -> dict:
    ident = {"type": "ram-user", "accountId": "111", "accessKeyId": "LTAI5tA", "userName": "al"}
    if mfa is not None:
        ident["sessionContext"] = {"attributes": {"mfaAuthenticated": mfa}}
    return {
        "eventId": f"e{i}",
        "eventName": name,
        "eventSource": f"{service.lower()}.aliyuncs.com",
        "serviceName": service,
        "eventTime": f"2026-03-02T10:00:{i:02d}Z",
        "acsRegion": "cn-hangzhou",
        "sourceIpAddress": ip,
        "userIdentity": ident,
    }


EVENTS = [
    _event(1, "RunInstances", "203.0.113.9"),  # denied by line 2 (RunInstances)
    _event(2, "RunInstances", "10.1.1.1"),  # matched, condition does not hold
    _event(3, "StopInstance", "10.2.2.2"),  # matched line 2's StopInstance, never held
    _event(4, "DeleteInstance", "203.0.113.9", mfa="true"),  # line 3: never held
    _event(5, "DeleteInstance", "203.0.113.9", mfa="true"),
    _event(6, "CreateUser", "10.0.0.1", service="Ram"),  # line 5, Create*
    _event(7, "DescribeInstances", "10.0.0.1"),  # nothing matches
]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[dict, str]:
    root: Path = tmp_path_factory.mktemp("cov")
    (root / "cov.rules").write_text(RULES)
    trace = root / "t.jsonl"
    trace.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    out = root / "r.json"
    args = ["simulate", "--rules", str(root / "cov.rules"), "--trace", str(trace)]
    result = CliRunner().invoke(main, [*args, "--report", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())["coverage"], result.output


def test_each_rule_and_pattern_has_its_status_as_counted_by_hand(report):
    coverage, _ = report
    rules = {r["line"]: r for r in coverage["rules"]}
    assert {n: (r["status"], r["events"], r["denied"]) for n, r in rules.items()} == {
        2: ("denied", 3, 1),
        3: ("condition_never_held", 2, 0),
        4: ("never_matched", 0, 0),
        5: ("denied", 1, 1),
    }
    patterns = {
        (n, p["pattern"]): (p["status"], p["events"], p["denied"])
        for n, r in rules.items()
        for p in r["patterns"]
    }
    assert patterns == {
        (2, "ecs:RunInstances"): ("denied", 2, 1),
        (2, "ecs:StopInstance"): ("condition_never_held", 1, 0),
        (3, "ecs:DeleteInstance"): ("condition_never_held", 2, 0),
        (4, "rds:DeleteDBInstance"): ("never_matched", 0, 0),
        (5, "ram:Create*"): ("denied", 1, 1),
        (5, "ram:Delete*"): ("never_matched", 0, 0),
    }
    assert [r["line"] for r in coverage["rules_condition_never_held"]] == [3]
    assert [r["line"] for r in coverage["rules_never_matched"]] == [4]
    assert [(r["line"], r["pattern"]) for r in coverage["patterns_condition_never_held"]] == [
        (2, "ecs:StopInstance"),
        (3, "ecs:DeleteInstance"),
    ]
    assert [(r["line"], r["pattern"]) for r in coverage["patterns_never_matched"]] == [
        (4, "rds:DeleteDBInstance"),
        (5, "ram:Delete*"),
    ]


def test_policy_coverage_counts_rules_that_denied(report):
    coverage, _ = report
    (policy,) = coverage["policies"]
    assert policy == {
        "policy": "cov",
        "rules": 4,
        "rules_denied": 2,
        "rules_condition_never_held": 1,
        "rules_resource_never_matched": 0,
        "rules_never_matched": 1,
        "patterns": 6,
        "patterns_denied": 2,
        "patterns_condition_never_held": 2,
        "patterns_resource_never_matched": 0,
        "patterns_never_matched": 2,
        "patterns_excepted": 0,
        "percent": 50.0,
        "patterns_percent": 33.3,
    }


def test_the_text_summary_says_which(report):
    _, text = report
    assert "Coverage: rules that denied a call" in text
    assert "50.0%" in text
    assert "Rules whose action matched but whose condition never held (1; first 1)" in text
    assert "Rules no call matched (1; first 1)" in text
