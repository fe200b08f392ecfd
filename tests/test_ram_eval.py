"""The independent RAM evaluator: glob, conditions, documents, decisions."""

from __future__ import annotations

import json
import pickle
import time
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.ram import (
    OPERATORS,
    GlobPattern,
    PolicyDocumentError,
    RamEvaluator,
    StatementRef,
    UnsupportedPolicyError,
    glob_match,
)

NAME = "generated/x.json"


def statement(action="*", effect="Deny", condition=None, *, key="Action", resource="*"):
    out = {"Effect": effect, key: action, "Resource": resource}
    if condition is not None:
        out["Condition"] = condition
    return out


def document(*statements):
    return {"Version": "1", "Statement": list(statements)}


def evaluator(*statements) -> RamEvaluator:
    return RamEvaluator([(NAME, document(*statements))])


# --- glob -------------------------------------------------------------------------------------


@cache
def _reference(pattern: str, text: str) -> bool:
    """Obviously-correct (exponential without the cache) recursive glob."""
    if not pattern:
        return not text
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return _reference(rest, text) or (bool(text) and _reference(pattern, text[1:]))
    return bool(text) and head in ("?", text[0]) and _reference(rest, text[1:])


GLOB_CASES = [
    ("*", "", True),
    ("*", "anything", True),
    ("", "", True),
    ("", "a", False),
    ("abc", "abc", True),
    ("abc", "abcd", False),
    ("a?c", "abc", True),
    ("a?c", "ac", False),
    ("???", "abc", True),
    ("???", "ab", False),
    ("a*", "a", True),
    ("*c", "abc", True),
    ("a*c", "ac", True),
    ("a*b*c", "aXbYc", True),
    ("a*b*c", "acb", False),
    ("*ab*ab*", "abab", True),
    ("*ab*ab*", "aba", False),
    ("a**b", "ab", True),
    ("*?x?*", "yxy", True),
    ("*?x?*", "xy", False),
    ("*a?b*", "aaab", True),
    ("ab*ba", "aba", False),  # prefix and suffix must not overlap
    ("x*a?c*y", "xaacabcy", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), GLOB_CASES, ids=lambda v: repr(v))
def test_glob_cases(pattern, text, expected):
    assert GlobPattern(pattern).matches(text) is expected
    assert _reference(pattern, text) is expected  # the reference agrees with the table too


def test_glob_case_sensitivity():
    assert GlobPattern("Ecs:Run*", ignore_case=True).matches("ecs:RUNINSTANCES")
    assert not GlobPattern("Ecs:Run*").matches("ecs:RunInstances")
    assert glob_match("vpc-?", "vpc-1")


def test_glob_pathological_is_fast():
    text = "a" * 10000
    patterns = ["*a*a*a*a*a*a*a*a*b", "*a?a?a?a?a?a?a?b*", "*" + "a*" * 40 + "b", "*aaaaaaaaab*"]
    compiled = [GlobPattern(p) for p in patterns]
    start = time.perf_counter()
    for pattern in compiled:
        assert not pattern.matches(text)
    assert GlobPattern("*a*a*a*a*a*a*a*a*a").matches(text)
    assert time.perf_counter() - start < 0.5  # milliseconds in practice; generous for CI noise


@settings(max_examples=500, deadline=None)
@given(st.text("ab*?", max_size=8), st.text("ab*?", max_size=10))
def test_glob_matches_reference(pattern, text):
    assert GlobPattern(pattern).matches(text) == _reference(pattern, text)


@settings(max_examples=300, deadline=None)
@given(st.text("aAbB*?", max_size=8), st.text("aAbB", max_size=10))
def test_glob_ignore_case_matches_reference(pattern, text):
    expected = _reference(pattern.lower(), text.lower())
    assert GlobPattern(pattern, ignore_case=True).matches(text) == expected


# --- actions ----------------------------------------------------------------------------------

ACTION_CASES = [
    ("ram:*ResourceGroup*", "ram:ListResourceGroups", True),
    ("ram:*ResourceGroup*", "ram:CreateResourceGroup", True),
    ("ram:*ResourceGroup*", "ram:ListUsers", False),
    ("ram:*ResourceGroup*", "ecs:CreateResourceGroup", False),
    ("ecs:Run?nstances", "ecs:RunInstances", True),
    ("ecs:Run?nstances", "ecs:RunnInstances", False),
    ("ecs:Run?nstances", "ecs:Runnstances", False),
    ("ecs:RunInstances", "ECS:runinstances", True),  # case-insensitive
    ("ECS:RUN*", "ecs:RunCommand", True),
    ("ecs:RunInstances", "ecs:RunInstance", False),
    ("ecs:*", "ecs:", True),
    ("*", "pts:StartJMeterTesting", True),
    ("rds:Delete*", "rds:DeleteDBInstance", True),
    ("rds:Delete*", "rds:CreateDBInstance", False),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTION_CASES)
def test_action_patterns(pattern, action, expected):
    assert (evaluator(statement(pattern)).decide(action) == "deny") is expected


def test_action_string_and_list_are_equivalent():
    single = evaluator(statement("ecs:RunInstances"))
    listed = evaluator(statement(["ecs:RunInstances"]))
    several = evaluator(statement(["ecs:DeleteInstance", "ecs:RunInstances"]))
    for action in ("ecs:RunInstances", "ecs:StopInstance"):
        assert single.decide(action) == listed.decide(action) == several.decide(action)
    assert several.decide("ecs:DeleteInstance") == "deny"


def test_not_action():
    ev = evaluator(statement(["ram:Get*", "ram:List*"], key="NotAction"))
    assert ev.decide("ram:CreateUser") == "deny"
    assert ev.decide("ecs:RunInstances") == "deny"
    assert ev.decide("ram:ListUsers") == "allow"
    assert ev.decide("RAM:getuser") == "allow"  # NotAction is case-insensitive too


# --- allow and deny ---------------------------------------------------------------------------


def test_deny_wins_over_allow():
    ev = evaluator(statement("ecs:*", effect="Allow"), statement("ecs:RunInstances"))
    result = ev.evaluate("ecs:RunInstances")
    assert result.effect == "Deny"
    assert result.decision == "deny"
    assert result.matched == (StatementRef(NAME, 1, "Allow"), StatementRef(NAME, 2, "Deny"))
    assert ev.decide("ecs:RunInstances") == "deny"


def test_allow_only_and_implicit_deny():
    ev = evaluator(statement("ecs:*", effect="Allow"), statement("ecs:RunInstances"))
    allowed = ev.evaluate("ecs:StopInstance")
    assert (allowed.effect, allowed.matched) == ("Allow", (StatementRef(NAME, 1, "Allow"),))
    assert ev.decide("ecs:StopInstance") == "allow"
    nothing = ev.evaluate("ram:CreateUser")
    assert (nothing.effect, nothing.matched) == ("ImplicitDeny", ())
    assert ev.decide("ram:CreateUser") == "allow"  # guardrail meaning: not denied by these rules


def test_several_documents_and_single_statement_object():
    ev = RamEvaluator(
        [
            ("a.json", {"Version": "1", "Statement": statement("ecs:RunInstances")}),
            ("b.json", document(statement("ram:*"))),
        ]
    )
    assert ev.evaluate("ram:CreateUser").matched == (StatementRef("b.json", 1, "Deny"),)
    assert ev.evaluate("ecs:runinstances").matched == (StatementRef("a.json", 1, "Deny"),)


# --- conditions: every operator ---------------------------------------------------------------

KEY = "acs:Test"
T0 = "2026-12-01T00:00:00Z"

# (operator, listed values, request value, matches)
OPERATOR_CASES = [
    ("StringEquals", "vpc-1", "vpc-1", True),
    ("StringEquals", "vpc-1", "VPC-1", False),
    ("StringEquals", ["vpc-1", "vpc-2"], "vpc-2", True),  # values ORed
    ("StringEquals", "true", True, True),  # a boolean request reads as "true"
    ("StringNotEquals", ["vpc-1", "vpc-2"], "vpc-2", False),
    ("StringNotEquals", ["vpc-1", "vpc-2"], "vpc-3", True),
    ("StringEqualsIgnoreCase", "Vpc-1", "vPC-1", True),
    ("StringEqualsIgnoreCase", "Vpc-1", "vpc-2", False),
    ("StringNotEqualsIgnoreCase", "Vpc-1", "VPC-1", False),
    ("StringNotEqualsIgnoreCase", "Vpc-1", "vpc-2", True),
    ("StringLike", "vpc-*", "vpc-abc", True),
    ("StringLike", "vpc-*", "VPC-abc", False),  # case-sensitive
    ("StringLike", "v?c-1", "vpc-1", True),
    ("StringLike", ["a*", "b*"], "bee", True),
    ("StringNotLike", "vpc-*", "vpc-1", False),
    ("StringNotLike", ["vpc-*", "sub*"], "subnet-1", False),
    ("StringNotLike", "vpc-*", "subnet-1", True),
    ("NumericEquals", 10, "10", True),
    ("NumericEquals", "10", 10.0, True),
    ("NumericEquals", "0.1", 0.1, True),  # exact decimal, not binary float
    ("NumericEquals", 10, 11, False),
    ("NumericEquals", 1, True, False),  # a boolean is not a number
    ("NumericEquals", 1, "abc", False),  # unreadable: positive does not match
    ("NumericNotEquals", [1, 2], 2, False),
    ("NumericNotEquals", [1, 2], 3, True),
    ("NumericNotEquals", [1, 2], "abc", True),  # unreadable: negated matches
    ("NumericLessThan", 10, 9, True),
    ("NumericLessThan", 10, 10, False),
    ("NumericLessThanEquals", 10, 10, True),
    ("NumericLessThanEquals", 10, 11, False),
    ("NumericGreaterThan", 10, 11, True),
    ("NumericGreaterThan", 10, 10, False),
    ("NumericGreaterThanEquals", "10", 10, True),
    ("NumericGreaterThanEquals", "10", "9.5", False),
    ("DateEquals", T0, "2026-12-01T08:00:00+08:00", True),  # compared as aware datetimes
    ("DateEquals", T0, "2026-12-01T00:00:00", True),  # no offset reads as UTC
    ("DateEquals", T0, "2026-12-01T00:00:01Z", False),
    ("DateNotEquals", T0, T0, False),
    ("DateNotEquals", T0, "2026-12-02T00:00:00Z", True),
    ("DateNotEquals", T0, "abc", True),
    ("DateLessThan", T0, "2026-11-30T23:59:59Z", True),
    ("DateLessThan", T0, T0, False),
    ("DateLessThan", T0, "abc", False),
    ("DateLessThanEquals", T0, T0, True),
    ("DateLessThanEquals", T0, "2026-12-01T00:00:01Z", False),
    ("DateGreaterThan", T0, "2026-12-01T00:00:01Z", True),
    ("DateGreaterThan", T0, T0, False),
    ("DateGreaterThanEquals", T0, T0, True),
    ("DateGreaterThanEquals", T0, "2026-01-01T00:00:00Z", False),
    ("Bool", "true", True, True),
    ("Bool", "true", "TRUE", True),
    ("Bool", "true", "false", False),
    ("Bool", False, "False", True),
    ("Bool", "true", "yes", False),  # unreadable
    ("IpAddress", ["10.0.0.0/8", "192.168.1.1"], "10.1.2.3", True),
    ("IpAddress", ["10.0.0.0/8", "192.168.1.1"], "192.168.1.1", True),
    ("IpAddress", ["10.0.0.0/8", "192.168.1.1"], "192.168.1.2", False),
    ("IpAddress", "10.0.0.0/8", "Internal", False),  # ActionTrail's non-IP source
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "2001:db8::/32", "10.0.0.1", False),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ("NotIpAddress", "10.0.0.0/8", "11.0.0.1", True),
    ("NotIpAddress", "10.0.0.0/8", "Internal", True),
    ("NotIpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::5", False),
]


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    OPERATOR_CASES,
    ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in OPERATOR_CASES],
)
def test_operator(operator, values, request_value, expected):
    ev = evaluator(statement("ecs:*", condition={operator: {KEY: values}}))
    assert (ev.decide("ecs:RunInstances", {KEY: request_value}) == "deny") is expected


def test_every_operator_is_covered():
    documented = {
        *(f"String{s}" for s in ("Equals", "NotEquals", "EqualsIgnoreCase")),
        *(f"String{s}" for s in ("NotEqualsIgnoreCase", "Like", "NotLike")),
        *(f"{kind}{cmp}" for kind in ("Numeric", "Date") for cmp in _COMPARISONS),
        "Bool",
        "IpAddress",
        "NotIpAddress",
    }
    assert set(OPERATORS) == documented
    assert {case[0] for case in OPERATOR_CASES} == documented


_COMPARISONS = (
    "Equals",
    "NotEquals",
    "LessThan",
    "LessThanEquals",
    "GreaterThan",
    "GreaterThanEquals",
)
_SAMPLE = {"String": "x", "Numeric": 1, "Date": T0, "Bool": "true", "IpAdd": "10.0.0.0/8"}
NEGATED = {
    "StringNotEquals",
    "StringNotEqualsIgnoreCase",
    "StringNotLike",
    "NumericNotEquals",
    "DateNotEquals",
    "NotIpAddress",
}


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_absent_key(operator):
    sample = next(
        v for prefix, v in _SAMPLE.items() if operator.removeprefix("Not").startswith(prefix)
    )
    ev = evaluator(statement("ecs:*", condition={operator: {KEY: sample}}))
    expected = "deny" if operator in NEGATED else "allow"
    assert ev.decide("ecs:RunInstances", {"acs:Other": "x"}) == expected
    assert ev.decide("ecs:RunInstances") == expected
    assert OPERATORS[operator].negated is (operator in NEGATED)


# --- conditions: the common keys, AND, key case -------------------------------------------------

COMMON_KEY_CASES = [
    ({"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}, {"acs:SourceIp": "203.0.113.9"}, True),
    ({"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}, {"acs:SourceIp": "10.0.0.9"}, False),
    (
        {"DateGreaterThan": {"acs:CurrentTime": T0}},
        {"acs:CurrentTime": "2027-01-01T00:00:00Z"},
        True,
    ),
    (
        {"DateGreaterThan": {"acs:CurrentTime": T0}},
        {"acs:CurrentTime": "2026-01-01T00:00:00Z"},
        False,
    ),
    ({"Bool": {"acs:MFAPresent": "false"}}, {"acs:MFAPresent": False}, True),
    ({"Bool": {"acs:MFAPresent": "false"}}, {"acs:MFAPresent": "true"}, False),
    ({"Bool": {"acs:MFAPresent": "false"}}, {}, False),  # absent: Bool is positive
    ({"Bool": {"acs:SecureTransport": False}}, {"acs:SecureTransport": "false"}, True),
    ({"Bool": {"acs:SecureTransport": False}}, {"acs:SecureTransport": True}, False),
    ({"StringNotEquals": {"acs:SourceVpc": ["vpc-a", "vpc-b"]}}, {"acs:SourceVpc": "vpc-c"}, True),
    ({"StringNotEquals": {"acs:SourceVpc": ["vpc-a", "vpc-b"]}}, {"acs:SourceVpc": "vpc-b"}, False),
    ({"StringNotEquals": {"acs:SourceVpc": ["vpc-a", "vpc-b"]}}, {}, True),  # absent: negated
    (
        {"StringEquals": {"acs:AccessId": ["LTAI5tKey1", "LTAI5tKey2"]}},
        {"acs:AccessId": "LTAI5tKey2"},
        True,
    ),
    (
        {"StringEquals": {"acs:AccessId": ["LTAI5tKey1", "LTAI5tKey2"]}},
        {"acs:AccessId": "LTAI5tKey3"},
        False,
    ),
    ({"StringEquals": {"acs:AccessId": ["LTAI5tKey1"]}}, {}, False),
]


@pytest.mark.parametrize(("condition", "context", "denied"), COMMON_KEY_CASES)
def test_common_keys(condition, context, denied):
    ev = evaluator(statement("ecs:RunCommand", condition=condition))
    assert (ev.decide("ecs:RunCommand", context) == "deny") is denied
    assert ev.decide("ecs:StopInstance", context) == "allow"


def test_keys_under_one_operator_are_anded():
    condition = {"StringEquals": {"acs:SourceVpc": "vpc-a", "acs:AccessId": "LTAI5tKey1"}}
    ev = evaluator(statement("ecs:*", condition=condition))
    both = {"acs:SourceVpc": "vpc-a", "acs:AccessId": "LTAI5tKey1"}
    assert ev.decide("ecs:RunInstances", both) == "deny"
    assert ev.decide("ecs:RunInstances", {**both, "acs:AccessId": "other"}) == "allow"
    assert ev.decide("ecs:RunInstances", {"acs:SourceVpc": "vpc-a"}) == "allow"


def test_operators_are_anded():
    # The DESIGN example: RunCommand from outside the office without MFA.
    condition = {
        "NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
        "Bool": {"acs:MFAPresent": "false"},
    }
    ev = evaluator(statement("ecs:RunCommand", condition=condition))
    outside = {"acs:SourceIp": "203.0.113.9"}
    assert ev.decide("ecs:RunCommand", {**outside, "acs:MFAPresent": "false"}) == "deny"
    assert ev.decide("ecs:RunCommand", {**outside, "acs:MFAPresent": "true"}) == "allow"
    assert ev.decide("ecs:RunCommand", {"acs:SourceIp": "10.1.1.1", "acs:MFAPresent": False}) == (
        "allow"
    )


def test_condition_key_names_are_case_insensitive():
    ev = evaluator(statement("ecs:*", condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))
    assert ev.decide("ecs:RunInstances", {"ACS:SOURCEIP": "10.0.0.1"}) == "deny"
    assert ev.decide("ecs:RunInstances", {"acs:sourceip": "11.0.0.1"}) == "allow"
    with pytest.raises(ValueError, match="given twice"):
        ev.decide("ecs:RunInstances", {"acs:SourceIp": "10.0.0.1", "acs:sourceip": "10.0.0.1"})


def test_evaluate_agrees_with_decide_and_reports_condition_matches():
    ev = evaluator(
        statement("ecs:*", condition={"Bool": {"acs:SecureTransport": "false"}}),
        statement("ecs:RunInstances"),
        statement("ecs:Run*", effect="Allow"),
    )
    context = {"acs:SecureTransport": "true"}
    result = ev.evaluate("ecs:RunInstances", context)
    assert result.matched == (StatementRef(NAME, 2, "Deny"), StatementRef(NAME, 3, "Allow"))
    assert result.decision == ev.decide("ecs:RunInstances", context) == "deny"


# --- documents --------------------------------------------------------------------------------


def _with(**changes):
    out = statement("ecs:RunInstances")
    for key, value in changes.items():
        if value is None:
            del out[key]
        else:
            out[key] = value
    return document(statement("ram:*"), out)


MALFORMED = [
    ("not-an-object", [], "generated/x.json: expected a JSON object, got []"),
    ("no-version", {"Statement": []}, "generated/x.json: Version: missing"),
    ("version-2", {"Version": "2", "Statement": []}, 'Version: expected "1", got "2"'),
    ("version-int", {"Version": 1, "Statement": []}, 'Version: expected "1", got 1'),
    ("no-statement", {"Version": "1"}, "generated/x.json: Statement: missing"),
    (
        "statement-str",
        {"Version": "1", "Statement": "x"},
        'Statement: expected a list of statements or one statement, got "x"',
    ),
    (
        "top-unknown",
        {"Version": "1", "Statement": [], "Id": "x"},
        "generated/x.json: Id: unknown element `Id`",
    ),
    (
        "statement-not-object",
        document(statement("ram:*"), 7),
        "statement 2: expected a statement object, got 7",
    ),
    (
        "action-int",
        _with(Action=3),
        "generated/x.json: statement 2: Action: expected a string or a list of strings, got 3",
    ),
    (
        "action-list-int",
        _with(Action=["ecs:A", 4]),
        "statement 2: Action: expected a string or a list of strings, got 4",
    ),
    ("action-empty-list", _with(Action=[]), "statement 2: Action: expected at least one action"),
    (
        "action-no-code",
        _with(Action="RunInstances"),
        "statement 2: Action: `RunInstances` is not `<ram-code>:<action-name>` or `*`",
    ),
    (
        "no-action",
        _with(Action=None),
        "statement 2: Action: missing (a statement needs Action or NotAction)",
    ),
    (
        "both-actions",
        _with(NotAction="ecs:Stop*"),
        "statement 2: Action: a statement takes Action or NotAction, not both",
    ),
    (
        "effect-lowercase",
        _with(Effect="deny"),
        'statement 2: Effect: expected "Allow" or "Deny", got "deny"',
    ),
    ("no-effect", _with(Effect=None), "statement 2: Effect: missing"),
    ("no-resource", _with(Resource=None), "statement 2: Resource: missing"),
    (
        "resource-int",
        _with(Resource=5),
        "statement 2: Resource: expected a string or a list of strings, got 5",
    ),
    (
        "principal",
        _with(Principal="*"),
        "statement 2: Principal: unsupported element `Principal`: only valid in resource-based",
    ),
    (
        "not-resource",
        _with(NotResource="*"),
        "statement 2: NotResource: unsupported element `NotResource`",
    ),
    (
        "miscased-element",
        _with(action="ecs:*"),
        "statement 2: action: unknown element `action`: element names are case-sensitive,"
        " did you mean `Action`?",
    ),
    (
        "condition-list",
        _with(Condition=[]),
        "statement 2: Condition: expected an object of operators, got []",
    ),
    (
        "operator-unknown",
        _with(Condition={"StringEqualsIfExists": {"k": "v"}}),
        "statement 2: Condition: unknown operator `StringEqualsIfExists`",
    ),
    (
        "operator-miscased",
        _with(Condition={"stringEquals": {"k": "v"}}),
        "statement 2: Condition: unknown operator `stringEquals`: operators are case-sensitive,"
        " did you mean `StringEquals`?",
    ),
    (
        "operator-not-object",
        _with(Condition={"Bool": "true"}),
        'statement 2: Condition.Bool: expected an object of condition keys, got "true"',
    ),
    (
        "operator-empty",
        _with(Condition={"Bool": {}}),
        "statement 2: Condition.Bool: expected at least one condition key",
    ),
    (
        "values-empty",
        _with(Condition={"StringEquals": {"acs:SourceVpc": []}}),
        "statement 2: Condition.StringEquals[acs:SourceVpc]: expected at least one value",
    ),
    (
        "value-null",
        _with(Condition={"StringEquals": {"acs:SourceVpc": None}}),
        "statement 2: Condition.StringEquals[acs:SourceVpc]: expected a string, number,"
        " boolean or a list of them, got null",
    ),
    (
        "value-bad-ip",
        _with(Condition={"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "abc"]}}),
        'statement 2: Condition.IpAddress[acs:SourceIp]: "abc" is not an IP address or CIDR block',
    ),
    (
        "value-bad-date",
        _with(Condition={"DateLessThan": {"acs:CurrentTime": "tomorrow"}}),
        'statement 2: Condition.DateLessThan[acs:CurrentTime]: "tomorrow" is not an ISO 8601 time',
    ),
    (
        "value-bad-number",
        _with(Condition={"NumericEquals": {"k": "1e"}}),
        'statement 2: Condition.NumericEquals[k]: "1e" is not a number',
    ),
    (
        "value-bool-number",
        _with(Condition={"NumericEquals": {"k": True}}),
        "statement 2: Condition.NumericEquals[k]: expected a number, got true",
    ),
    (
        "value-bad-bool",
        _with(Condition={"Bool": {"acs:MFAPresent": "yes"}}),
        'statement 2: Condition.Bool[acs:MFAPresent]: expected true or false, got "yes"',
    ),
]


@pytest.mark.parametrize(
    ("data", "fragment"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_documents(data, fragment):
    with pytest.raises(PolicyDocumentError) as info:
        RamEvaluator([(NAME, data)])
    assert fragment in str(info.value)
    assert not isinstance(info.value, UnsupportedPolicyError)
    assert info.value.document == NAME


def test_error_attributes():
    with pytest.raises(PolicyDocumentError) as info:
        RamEvaluator([(NAME, _with(Action=3))])
    error = info.value
    assert (error.document, error.statement, error.element) == (NAME, 2, "Action")
    assert error.message == "expected a string or a list of strings, got 3"
    assert isinstance(error, ValueError)


# --- files ------------------------------------------------------------------------------------


def test_from_files(tmp_path: Path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(document(statement("ecs:RunInstances"))), encoding="utf-8")
    ev = RamEvaluator.from_files([path])
    assert ev.evaluate("ecs:RunInstances").matched == (StatementRef(str(path), 1, "Deny"),)


def test_from_files_invalid_json(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "Version": "1",\n  "Statement": [,]\n}\n', encoding="utf-8")
    with pytest.raises(PolicyDocumentError) as info:
        RamEvaluator.from_files([path])
    assert (info.value.line, info.value.column) == (3, 17)
    assert str(info.value) == f"{path}:3:17: invalid JSON: Expecting value"


def test_from_files_duplicate_key_and_missing_file(tmp_path: Path):
    path = tmp_path / "dup.json"
    path.write_text('{"Version": "1", "Version": "1", "Statement": []}', encoding="utf-8")
    with pytest.raises(PolicyDocumentError, match="duplicate key `Version`"):
        RamEvaluator.from_files([path])
    with pytest.raises(PolicyDocumentError, match="cannot read"):
        RamEvaluator.from_files([tmp_path / "missing.json"])


def test_evaluator_and_errors_pickle(tmp_path: Path):
    # The replay may run in worker processes: both the evaluator and its errors must travel.
    ev = evaluator(statement("ecs:*", condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}}))
    clone = pickle.loads(pickle.dumps(ev))
    assert clone.decide("ecs:RunInstances", {"acs:SourceIp": "10.0.0.1"}) == "deny"
    path = tmp_path / "bad.json"
    path.write_text("{", encoding="utf-8")
    for data in (None, _with(Resource="arn:aws:s3:::b")):
        with pytest.raises(PolicyDocumentError) as info:
            RamEvaluator.from_files([path]) if data is None else RamEvaluator([(NAME, data)])
        copy = pickle.loads(pickle.dumps(info.value))
        assert (type(copy), str(copy)) == (type(info.value), str(info.value))
        assert (copy.line, copy.column, copy.statement) == (
            info.value.line,
            info.value.column,
            info.value.statement,
        )
