"""The independent evaluator's Resource element: ARN globs, case, unknown resources, BOM."""

from __future__ import annotations

import json

import pytest

from compiler.ram import PolicyDocumentError, RamEvaluator, StatementRef

NAME = "p.json"


def _ev(*statements: dict) -> RamEvaluator:
    return RamEvaluator([(NAME, {"Version": "1", "Statement": list(statements)})])


def _deny(resource: object, action: object = "ecs:DeleteInstance", **extra: object) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


PROD = "acs:ecs:cn-hangzhou:123:instance/i-prod1"


def test_arn_glob_matches_case_sensitively():
    ev = _ev(_deny("acs:ecs:*:*:instance/i-prod*"))
    assert ev.decide("ecs:DeleteInstance", resource=PROD) == "deny"
    assert ev.decide("ecs:deleteinstance", resource=PROD) == "deny"  # actions fold case
    assert ev.decide("ecs:DeleteInstance", resource=PROD.replace("prod", "PROD")) == "allow"
    assert ev.decide("ecs:DeleteInstance", resource=PROD.replace("prod", "dev")) == "allow"
    assert ev.decide("ecs:DeleteInstance", resource="acs:ecs:cn-hangzhou:123:instance/i-pro") == (
        "allow"
    )


def test_question_mark_and_list_of_patterns():
    ev = _ev(_deny(["acs:oss:*:*:prod-?", "acs:oss:*:*:core"], action="oss:DeleteBucket"))
    assert ev.decide("oss:DeleteBucket", resource="acs:oss:*:1:prod-a") == "deny"
    assert ev.decide("oss:DeleteBucket", resource="acs:oss:*:1:prod-ab") == "allow"
    assert ev.decide("oss:DeleteBucket", resource="acs:oss:*:1:core") == "deny"
    # A request touching several resources is denied when any of them is.
    assert ev.decide("oss:DeleteBucket", resource=["acs:oss:*:1:x", "acs:oss:*:1:core"]) == "deny"


def test_unknown_resource_only_star_statements_match_and_the_rest_are_reported():
    ev = _ev(_deny("acs:ecs:*:*:instance/i-prod*"), _deny("*", action="ecs:Delete*"))
    result = ev.evaluate("ecs:DeleteInstance")
    assert result.matched == (StatementRef(NAME, 2, "Deny"),)
    assert result.resource_unknown == (StatementRef(NAME, 1, "Deny"),)
    only_scoped = _ev(_deny("acs:ecs:*:*:instance/i-prod*"))
    assert only_scoped.decide("ecs:DeleteInstance") == "allow"
    unknown = only_scoped.evaluate("ecs:DeleteInstance")
    assert unknown.effect == "ImplicitDeny"
    assert unknown.resource_unknown == (StatementRef(NAME, 1, "Deny"),)
    # A known resource decides the statement: it is no longer undecided.
    known = only_scoped.evaluate("ecs:DeleteInstance", resource=PROD)
    assert known.matched == (StatementRef(NAME, 1, "Deny"),)
    assert known.resource_unknown == ()


def test_not_action_with_resource_and_condition():
    ev = _ev(
        {
            "Effect": "Deny",
            "NotAction": ["sts:AssumeRole", "ram:Get*"],
            "Resource": "acs:ecs:*:*:instance/*",
            "Condition": {"StringEquals": {"acs:ResourceTag/env": "prod"}},
        }
    )
    tagged = {"acs:ResourceTag/env": "prod"}
    assert ev.decide("ecs:DeleteInstance", tagged, PROD) == "deny"
    assert ev.decide("ram:GetUser", tagged, PROD) == "allow"  # excepted
    assert ev.decide("ecs:DeleteInstance", {}, PROD) == "allow"  # absent key: positive op
    assert ev.decide("ecs:DeleteInstance", tagged, "acs:oss:*:1:b") == "allow"


def test_allow_statements_are_kept_and_deny_wins():
    ev = _ev(
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        _deny("acs:ecs:*:*:instance/i-prod*"),
    )
    assert ev.evaluate("ecs:DeleteInstance", resource=PROD).effect == "Deny"
    assert ev.evaluate("ecs:DeleteInstance", resource="acs:ecs:*:1:instance/i-d").effect == (
        "Allow"
    )


def test_long_hostile_resource_is_fast():
    # *a*a*…*b against a long ARN: no backtracking regex anywhere (it would take forever).
    ev = _ev(_deny("acs:*:*:*:" + "*a" * 200 + "b"))
    assert ev.decide("ecs:DeleteInstance", resource="acs:e:r:1:" + "a" * 20_000) == "allow"


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("arn:aws:s3:::bucket", "`arn:aws:s3:::bucket` is not `*` or an ARN"),
        ("acs:ecs:instance", "`acs:ecs:instance` is not `*` or an ARN"),
        ([], "expected at least one resource"),
        ([1], "expected a string or a list of strings, got 1"),
    ],
)
def test_bad_resources_name_the_statement(resource, message):
    with pytest.raises(PolicyDocumentError) as info:
        _ev(_deny("*"), _deny(resource))
    assert (info.value.statement, info.value.element) == (2, "Resource")
    assert message in str(info.value)
    assert str(info.value).startswith("p.json: statement 2: Resource: ")


def test_bom_in_policy_json_is_accepted(tmp_path):
    path = tmp_path / "p.json"
    doc = {"Version": "1", "Statement": [_deny("acs:ecs:*:*:instance/i-prod*")]}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    ev = RamEvaluator.from_files([path])
    assert ev.decide("ecs:DeleteInstance", resource=PROD) == "deny"
