"""`ramguard import` reads every RAM operator family back (issue 10 item 4): Numeric*,
Date* (incl. Equals/NotEquals and the or-equal forms), and keys the language has no name for
(``unchecked "oss:Prefix"``), so that the imported rules emit the same Condition and decide
like the document."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.analysis.importer import PolicyImportError, import_policy
from compiler.ram import RamEvaluator


def _doc(condition: dict) -> dict:
    return {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "ecs:RunInstances",
                "Resource": "*",
                "Condition": condition,
            }
        ],
    }


def _round_trip(condition: dict):
    text = import_policy(_doc(condition), "p").text
    policy = compile_sources([("p.rules", text)])
    (statement,) = policy.ram_documents()[0]["Statement"]
    return text, policy, statement.get("Condition")


EXACT = [
    ({"NumericLessThan": {"oss:MaxKeys": "100"}}, 'unchecked "oss:MaxKeys" < 100'),
    ({"NumericLessThanEquals": {"oss:MaxKeys": "100"}}, "<= 100"),
    ({"NumericGreaterThan": {"ecs:Cores": "8"}}, "> 8"),
    ({"NumericGreaterThanEquals": {"ecs:Cores": "2.5"}}, ">= 2.5"),
    ({"NumericEquals": {"ecs:Cores": "4"}}, "= 4"),
    ({"NumericNotEquals": {"ecs:Cores": ["4", "8"]}}, '!= 4 and unchecked "ecs:Cores" != 8'),
    ({"DateEquals": {"acs:CurrentTime": "2026-12-01T00:00:00Z"}}, "time at 2026-12-01T00:00:00Z"),
    (
        {"DateNotEquals": {"acs:CurrentTime": ["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"]}},
        "time not at 2026-12-01T00:00:00Z and time not at 2026-12-02T00:00:00Z",
    ),
    ({"DateLessThanEquals": {"kms:RotationTime": "2026-12-01T00:00:00Z"}}, "at or before"),
    ({"DateGreaterThan": {"kms:RotationTime": "2026-12-01T00:00:00Z"}}, '"kms:RotationTime" after'),
    (
        {
            "DateLessThanEquals": {"acs:CurrentTime": "2026-12-31T00:00:00Z"},
            "DateGreaterThanEquals": {"acs:CurrentTime": "2026-01-01T00:00:00Z"},
        },
        "time at or after 2026-01-01T00:00:00Z and time at or before 2026-12-31T00:00:00Z",
    ),
    ({"StringLike": {"oss:Prefix": ["logs/*"]}}, 'unchecked "oss:Prefix" like ["logs/*"]'),
    ({"StringEqualsIgnoreCase": {"oss:Delimiter": ["/"]}}, "in ignorecase [/]"),
    ({"Bool": {"log:Encrypted": "true"}}, 'unchecked "log:Encrypted" = true'),
]


@pytest.mark.parametrize(("condition", "words"), EXACT)
def test_operators_import_to_the_same_condition(condition, words):
    text, _, emitted = _round_trip(condition)
    assert words in text
    assert emitted == condition


def test_several_bounds_keep_the_loosest():
    text, _, emitted = _round_trip({"NumericLessThan": {"oss:MaxKeys": ["10", "100"]}})
    assert 'unchecked "oss:MaxKeys" < 100' in text
    assert emitted == {"NumericLessThan": {"oss:MaxKeys": "100"}}


CONTEXTS = [
    {},
    {"ecs:Cores": "4"},
    {"ecs:Cores": "8"},
    {"ecs:Cores": "16"},
    {"ecs:Cores": "x"},
    {"acs:CurrentTime": "2026-12-01T00:00:00Z"},
    {"acs:CurrentTime": "2027-01-01T00:00:00Z"},
    {"oss:MaxKeys": "100"},
    {"oss:MaxKeys": "1000"},
]


@pytest.mark.parametrize(
    "condition",
    [
        {"NumericNotEquals": {"ecs:Cores": ["4", "8"]}},
        {"NumericLessThan": {"oss:MaxKeys": ["10", "100"]}},
        {"NumericGreaterThanEquals": {"ecs:Cores": "8"}},
        {"DateEquals": {"acs:CurrentTime": "2026-12-01T00:00:00Z"}},
        {"DateGreaterThanEquals": {"acs:CurrentTime": "2026-12-01T00:00:00Z"}},
    ],
)
def test_imported_rules_decide_like_the_document(condition):
    _, policy, _ = _round_trip(condition)
    evaluator = RamEvaluator([("d", _doc(condition))])
    for ctx in CONTEXTS:
        assert policy.decide("ecs:RunInstances", ctx).decision == evaluator.decide(
            "ecs:RunInstances", ctx
        ), ctx


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ({"IpAddress": {"oss:ClientIp": "10.0.0.0/8"}}, "typed by its operator"),
        ({"NumericEquals": {"ecs:Cores": ["4", "8"]}}, "several values"),
        (
            {"DateEquals": {"acs:CurrentTime": ["2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"]}},
            "several values",
        ),
        ({"NumericLessThan": {"acs:NoSuchKey": "1"}}, "has no rules-language form"),
        ({"NumericLessThan": {"ecs:Cores": "many"}}, "is not a number"),
        ({"StringEquals": {"nocolon": "x"}}, "PREFIX:Name"),
        ({"NumericLessThanIfExists": {"ecs:Cores": "1"}}, "operator"),
    ],
)
def test_what_the_language_cannot_say_is_refused(condition, words):
    with pytest.raises(PolicyImportError) as info:
        import_policy(_doc(condition), "p")
    (problem,) = info.value.problems
    assert words in problem.message
