"""`ramguard explain`: the reasons it gives, and that its decision is always decide's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_rules, compile_sources
from compiler.cli import main
from compiler.decide.explain import explain, rules_form
from compiler.model.ir import Condition

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "policies" / "leaked-accesskey-protection.rules"
SEED_FILE = "policies/leaked-accesskey-protection.rules"

CONDITIONAL = """\
policy conditional "one rule per condition kind"
deny ECS RunCommand when source_ip not in [10.0.0.0/8, 192.168.0.0/16] and mfa = false
deny RAM * unless secure_transport = true and mfa = true
deny RDS DeleteDBInstance when time after 2026-12-01T00:00:00Z
deny ECS DeleteInstance when vpc in ["a\\"b", vpc-1]
deny ECS Describe* when access_key not in [LTAI5tGood]
deny ECS StartInstance when source_ip in [203.0.113.0/24]
deny RDS CreateAccount unless time before 2026-12-01T00:00:00Z
"""
# line numbers of CONDITIONAL's rules
RUN_COMMAND, RAM_ALL, DELETE_DB, DELETE_INSTANCE, DESCRIBE, START, CREATE_ACCOUNT = range(2, 9)


@pytest.fixture(scope="module")
def seed():
    return compile_rules([SEED])


@pytest.fixture(scope="module")
def conditional():
    return compile_sources([("cond.rules", CONDITIONAL)])


def run(*args: str):
    # A fixed width so the wrapped tree is the same on every terminal and in CI.
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "200"})


# -- the seed policy ----------------------------------------------------------------------


def test_seed_denied_action_names_the_rule_and_line(seed):
    exp = explain(seed, "ecs:RunInstances")
    assert exp.decision.decision == "deny"
    assert [(m.file, m.line) for m in exp.decision.matched] == [(str(SEED), 11)]
    (rule,) = exp.rules
    assert rule.actions_matched and rule.matched_pattern == "ecs:RunInstances"
    assert rule.unconditional and rule.denies


def test_seed_allowed_action_says_no_rule_matches(seed):
    exp = explain(seed, "ecs:DescribeInstances")
    assert exp.decision.decision == "allow"
    assert exp.reason == "no rule's actions match ecs:DescribeInstances"
    assert [(r.line, r.actions_matched) for r in exp.rules] == [(11, False)]


@pytest.mark.parametrize(
    ("action", "all_rules", "lines"),
    [
        pytest.param("ecs:RunInstances", False, [11], id="ecs-only-its-service"),
        pytest.param("ram:CreateUser", False, [7, 8], id="ram-code-shared-by-ram-and-ims"),
        pytest.param("oss:PutObject", False, [], id="unknown-service-none"),
        pytest.param("ecs:RunInstances", True, [7, 8, 11, 19, 25, 28, 34, 40, 46, 53], id="all"),
    ],
)
def test_rules_considered(seed, action, all_rules, lines):
    exp = explain(seed, action, all_rules=all_rules)
    assert [r.line for r in exp.rules] == lines
    assert exp.total_rules == 10


def test_cli_text_on_seed_denied():
    result = run("explain", "--rules", str(SEED), "ecs:RunInstances")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ecs:RunInstances → DENY" in out
    assert f"{SEED}:11" in out
    assert "actions: match ecs:RunInstances" in out
    assert "conditions: none (unconditional)" in out
    assert f"decision: deny — matched by 1 rule: {SEED}:11" in out
    assert "\x1b[" not in out  # not a terminal: no colour codes


def test_cli_text_on_seed_allowed():
    result = run("explain", "--rules", str(SEED), "ecs:DescribeInstances")
    assert result.exit_code == 0, result.output
    assert "actions: no pattern matches" in result.output
    assert "decision: allow — no rule's actions match ecs:DescribeInstances" in result.output


def test_cli_json_on_seed_is_stable_and_agrees_with_decide():
    args = ("--rules", str(SEED), "ecs:RunInstances")
    first = run("explain", *args, "--format", "json")
    second = run("explain", *args, "--format", "json")
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    data = json.loads(first.output)
    decided = json.loads(run("decide", *args).output)
    assert (data["action"], data["decision"], data["matched"]) == (
        decided["action"],
        decided["decision"],
        decided["matched"],
    )
    assert list(data) == [
        "action",
        "context",
        "decision",
        "reason",
        "matched",
        "considered",
        "rules_considered",
        "rules_total",
        "rules",
    ]
    assert data["rules"][0]["matched_pattern"] == "ecs:RunInstances"


# -- conditions ---------------------------------------------------------------------------

CONDITION_CASES = [
    # (action, context, rule line, key, held, value, reason)
    ("ecs:RunCommand", {"source_ip": "10.1.2.3"}, RUN_COMMAND, "source_ip", False, "10.1.2.3",
     "source_ip 10.1.2.3 is inside 10.0.0.0/8, so NotIpAddress fails"),
    ("ecs:RunCommand", {"source_ip": "203.0.113.9"}, RUN_COMMAND, "source_ip", True,
     "203.0.113.9",
     "source_ip 203.0.113.9 is outside 10.0.0.0/8, 192.168.0.0/16, so NotIpAddress holds"),
    ("ecs:RunCommand", {}, RUN_COMMAND, "source_ip", True, None,
     "source_ip absent: NotIpAddress holds for a missing key"),
    ("ecs:RunCommand", {"source_ip": "nope"}, RUN_COMMAND, "source_ip", True, "nope",
     "source_ip nope is not an IP address, so NotIpAddress holds"),
    ("ecs:StartInstance", {"source_ip": "203.0.113.9"}, START, "source_ip", True,
     "203.0.113.9", "source_ip 203.0.113.9 is inside 203.0.113.0/24, so IpAddress holds"),
    ("ecs:StartInstance", {}, START, "source_ip", False, None,
     "source_ip absent: IpAddress needs a value, so it fails"),
    ("ecs:RunCommand", {}, RUN_COMMAND, "mfa", False, None, "mfa absent: Bool needs false"),
    ("ecs:RunCommand", {"mfa": "false"}, RUN_COMMAND, "mfa", True, "false",
     "mfa is false; Bool needs false, so Bool holds"),
    ("ecs:RunCommand", {"mfa": True}, RUN_COMMAND, "mfa", False, "true",
     "mfa is true; Bool needs false, so Bool fails"),
    ("ecs:RunCommand", {"mfa": "maybe"}, RUN_COMMAND, "mfa", False, "maybe",
     "mfa maybe is neither true nor false: Bool needs false"),
    ("ram:CreateUser", {"secure_transport": "false"}, RAM_ALL, "secure_transport", True,
     "false", "secure_transport is false; Bool needs false, so Bool holds"),
    ("rds:DeleteDBInstance", {"time": "2027-01-01T00:00:00Z"}, DELETE_DB, "time", True,
     "2027-01-01T00:00:00Z",
     "time 2027-01-01T00:00:00Z is after 2026-12-01T00:00:00Z, so DateGreaterThan holds"),
    ("rds:DeleteDBInstance", {"time": "2026-01-01T00:00:00+00:00"}, DELETE_DB, "time", False,
     "2026-01-01T00:00:00+00:00", "is before 2026-12-01T00:00:00Z, so DateGreaterThan fails"),
    # A time without an offset is read as UTC, as ActionTrail writes it.
    ("rds:DeleteDBInstance", {"time": "2027-01-01T00:00:00"}, DELETE_DB, "time", True,
     "2027-01-01T00:00:00",
     "time 2027-01-01T00:00:00 is after 2026-12-01T00:00:00Z, so DateGreaterThan holds"),
    ("rds:DeleteDBInstance", {"time": "yesterday"}, DELETE_DB, "time", False, "yesterday",
     "time yesterday is not an ISO 8601 time, so DateGreaterThan fails"),
    ("rds:DeleteDBInstance", {}, DELETE_DB, "time", False, None,
     "time absent: DateGreaterThan needs a value, so it fails"),
    ("rds:CreateAccount", {"time": "2026-12-01T00:00:00Z"}, CREATE_ACCOUNT, "time", True,
     "2026-12-01T00:00:00Z",
     "time 2026-12-01T00:00:00Z is at 2026-12-01T00:00:00Z, so DateGreaterThanEquals holds"),
    ("ecs:DeleteInstance", {"vpc": 'a"b'}, DELETE_INSTANCE, "vpc", True, 'a"b',
     'vpc "a\\"b" is one of ["a\\"b", vpc-1], so StringEquals holds'),
    ("ecs:DeleteInstance", {"vpc": "vpc-2"}, DELETE_INSTANCE, "vpc", False, "vpc-2",
     'vpc vpc-2 is none of ["a\\"b", vpc-1], so StringEquals fails'),
    ("ecs:DeleteInstance", {}, DELETE_INSTANCE, "vpc", False, None,
     "vpc absent: StringEquals needs a value, so it fails"),
    ("ecs:DescribeRegions", {}, DESCRIBE, "access_key", True, None,
     "access_key absent: StringNotEquals holds for a missing key"),
    ("ecs:DescribeRegions", {"acs:AccessId": "LTAI5tGood"}, DESCRIBE, "access_key", False,
     "LTAI5tGood", "access_key LTAI5tGood is one of [LTAI5tGood], so StringNotEquals fails"),
]  # fmt: skip


def _case_id(case) -> str:
    action, context, _, key, held, value, _ = case
    state = "absent" if value is None else "held" if held else "failed"
    return f"{key}-{state}-{action.split(':')[1]}-{'-'.join(map(str, context.values())) or '0'}"


@pytest.mark.parametrize("case", CONDITION_CASES, ids=[_case_id(c) for c in CONDITION_CASES])
def test_condition_outcome_value_and_reason(conditional, case):
    action, context, line, key, held, value, reason = case
    exp = explain(conditional, action, context)
    (rule,) = [r for r in exp.rules if r.line == line]
    assert rule.actions_matched
    conds = [c for conj in rule.conjunctions for c in conj.conditions if c.key == key]
    assert len(conds) == 1
    (cond,) = conds
    assert (cond.held, cond.value) == (held, value)
    assert reason in cond.reason
    if cond.reason.endswith(("holds", "fails")):
        assert cond.reason.endswith("holds" if held else "fails")


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (Condition("IpAddress", "acs:SourceIp", ("10.0.0.0/8",)), "source_ip in [10.0.0.0/8]"),
        (
            Condition("NotIpAddress", "acs:SourceIp", ("10.0.0.0/8", "::1/128")),
            "source_ip not in [10.0.0.0/8, ::1/128]",
        ),
        (Condition("Bool", "acs:MFAPresent", ("false",)), "mfa = false"),
        (Condition("Bool", "acs:SecureTransport", ("true",)), "secure_transport = true"),
        (Condition("DateLessThan", "acs:CurrentTime", ("2026-01-01T00:00:00Z",)),
         "time before 2026-01-01T00:00:00Z"),
        (Condition("DateGreaterThan", "acs:CurrentTime", ("2026-01-01T00:00:00Z",)),
         "time after 2026-01-01T00:00:00Z"),
        (Condition("DateGreaterThanEquals", "acs:CurrentTime", ("2026-01-01T00:00:00Z",)),
         "time at or after 2026-01-01T00:00:00Z"),
        (Condition("StringEquals", "acs:SourceVpc", ('a"b', "vpc 1", "v")),
         'vpc in ["a\\"b", "vpc 1", v]'),
        (Condition("StringNotEquals", "acs:AccessId", ("LTAI5tKey",)),
         "access_key not in [LTAI5tKey]"),
    ],
    ids=["ip-in", "ip-not-in", "mfa", "secure-transport", "before", "after", "at-or-after",
         "vpc-quoted", "access-key-not-in"],
)  # fmt: skip
def test_ram_operator_back_to_rules_language(condition, text):
    assert rules_form(condition) == text


def test_unless_with_two_conditions_shows_two_conjunctions(conditional):
    exp = explain(conditional, "ram:CreateUser", {"secure_transport": "true", "mfa": "false"})
    (rule,) = [r for r in exp.rules if r.line == RAM_ALL]
    assert [[c.rules_form for c in conj.conditions] for conj in rule.conjunctions] == [
        ["mfa = false"],
        ["secure_transport = false"],
    ]
    assert [conj.held for conj in rule.conjunctions] == [True, False]
    assert exp.decision.decision == "deny"


def test_allowed_when_actions_match_but_conditions_fail(conditional):
    exp = explain(conditional, "ecs:RunCommand", {"source_ip": "10.1.2.3", "mfa": "false"})
    assert exp.decision.decision == "allow"
    assert exp.reason == (
        "1 rule matches the action, but none of its conjunctions of conditions holds"
    )


def test_cli_text_shows_conditions_with_values(tmp_path):
    rules = tmp_path / "cond.rules"
    rules.write_text(CONDITIONAL)
    result = run("explain", "--rules", str(rules), "ecs:RunCommand", "-c", "source_ip=10.1.2.3")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "context: source_ip=10.1.2.3" in out
    assert (
        "failed  source_ip not in [10.0.0.0/8, 192.168.0.0/16]  (NotIpAddress acs:SourceIp)" in out
    )
    assert "source_ip 10.1.2.3 is inside 10.0.0.0/8, so NotIpAddress fails" in out
    assert "failed  mfa = false  (Bool acs:MFAPresent)" in out
    assert "mfa absent: Bool needs false" in out
    # Rule text with brackets and quotes is printed as written, not read as rich markup.
    assert 'deny ECS DeleteInstance when vpc in ["a\\"b", vpc-1]' in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["RunInstances"], 2, "is not an action", id="action-without-code"),
        pytest.param(["ecs:RunInstances", "-c", "mfa"], 2, "expected KEY=VALUE", id="bad-ctx"),
        pytest.param(["ecs:X", "--format", "yaml"], 2, "Invalid value", id="bad-format"),
    ],
)
def test_cli_bad_usage(args, code, message):
    result = run("explain", "--rules", str(SEED), *args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_missing_rules_file_is_a_diagnostic(tmp_path):
    result = run("explain", "--rules", str(tmp_path / "none.rules"), "ecs:RunInstances")
    assert result.exit_code == 1
    assert "none.rules: error: no such file" in result.output


# -- agreement with decide ----------------------------------------------------------------

IPS = st.sampled_from(["10.1.2.3", "192.168.9.9", "203.0.113.9", "2001:db8::1", "junk", ""])
BOOLS = st.sampled_from(["true", "false", "TRUE", "yes", True, False])
TIMES = st.sampled_from(
    ["2026-12-01T00:00:00Z", "2027-01-01T00:00:00+00:00", "2025-01-01T00:00:00Z", "later"]
)
STRINGS = st.sampled_from(['a"b', "vpc-1", "vpc-2", "LTAI5tGood", "LTAI5tOther", ""])
CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "source_ip": IPS,
        "mfa": BOOLS,
        "secure_transport": BOOLS,
        "time": TIMES,
        "vpc": STRINGS,
        "access_key": STRINGS,
    },
)
ACTIONS = st.sampled_from(
    [
        "ecs:RunCommand", "ecs:runcommand", "ecs:RunInstances", "ecs:DescribeInstances",
        "ecs:DeleteInstance", "ecs:StartInstance", "ecs:StartInstances", "ram:CreateUser",
        "ram:AddClientIdToOIDCProvider", "ims:CreateUser", "rds:DeleteDBInstance",
        "rds:CreateAccount", "pts:SaveScene", "oss:PutObject", "ecs:", "RAM:*",
    ]
)  # fmt: skip


@pytest.mark.parametrize("which", ["seed", "conditional"])
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(action=ACTIONS, context=CONTEXTS)
def test_explain_agrees_with_decide(seed, conditional, which, action, context):
    policy = seed if which == "seed" else conditional
    for all_rules in (False, True):
        exp = explain(policy, action, context, all_rules=all_rules)
        assert exp.decision == policy.decide(action, context)
        # Every rule that denies is among the rules shown, whatever the scope.
        shown = {r.index for r in exp.rules if r.denies}
        assert shown == set(exp.decision.rule_indexes)
