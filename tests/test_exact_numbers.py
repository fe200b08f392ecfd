"""Numeric conditions compare exactly, in the trie and the RAM evaluator alike (issue 16):
integers past 2**53 compared as floats in the trie (9007199254740992 == …993), and a rule's
decimal value was rounded through a float before it was emitted."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.model.keys import parse_number
from compiler.ram import RamEvaluator

BIG = 2**53 + 1  # 9007199254740993: no float holds it


def _engines(text: str):
    policy = compile_sources([("n.rules", text)])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    return policy, ram


@pytest.mark.parametrize(
    ("value", "denied"),
    [
        (str(BIG), True),
        (str(BIG - 1), False),  # the same float as BIG
        (BIG, True),
        (BIG - 1, False),
        (f"{BIG}.0", True),
        (f"{BIG}.000000000000000000000001", False),
        ("1" + "0" * 45, False),  # longer than 40 characters: still a number to both
    ],
)
def test_equality_past_two_to_the_53(value, denied):
    policy, ram = _engines(f'deny ECS RunInstances when unchecked "acme:N" = {BIG}\n')
    ctx = {"acme:N": value}
    assert policy.decide("ecs:RunInstances", ctx).denied is denied
    assert (ram.decide("ecs:RunInstances", ctx) == "deny") is denied


def test_a_rule_value_is_emitted_exactly():
    policy, _ = _engines(f'deny ECS RunInstances when unchecked "acme:N" > {BIG}.5\n')
    (statement,) = policy.ram_documents()[0]["Statement"]
    assert statement["Condition"] == {"NumericGreaterThan": {"acme:N": f"{BIG}.5"}}
    # What fitted a float keeps its old spelling (the generated/ files do not move).
    assert [parse_number(t) for t in ("1.50", "1e3", "2.5", "10")] == ["1.5", "1000.0", "2.5", "10"]


def test_decide_cli_parses_the_context_exactly(run_cli, tmp_path):
    path = tmp_path / "n.rules"
    path.write_text(f'deny ECS RunInstances when unchecked "acme:N" > {BIG}.5\n')
    for value, decision in ((f"{BIG}.6", "deny"), (f"{BIG}.4", "allow")):
        result = run_cli("decide", "--rules", path, "ecs:RunInstances", "-c", f"acme:N={value}")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["decision"] == decision


OPS = ["=", "!=", "<", "<=", ">", ">="]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(OPS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=3),
    st.booleans(),
)
def test_both_engines_compare_big_integers_as_python_does(op, limit, delta, as_int):
    policy, ram = _engines(f'deny ECS RunInstances when unchecked "acme:N" {op} {limit}\n')
    value = limit + delta
    want = {
        "=": value == limit,
        "!=": value != limit,
        "<": value < limit,
        "<=": value <= limit,
        ">": value > limit,
        ">=": value >= limit,
    }[op]
    ctx = {"acme:N": value if as_int else str(value)}
    assert policy.decide("ecs:RunInstances", ctx).denied is want
    assert (ram.decide("ecs:RunInstances", ctx) == "deny") is want


# The gap between two neighbours of more than 28 significant digits is a region: the
# analysis must test a value inside it, computed exactly (a midpoint at the decimal context's
# 28 digits rounds onto one of the two, so the gap was never tried).
WIDE = "12345678901234567890123456789012"
WIDE_GAP = (
    f'deny ECS RunInstances when unchecked "acme:N" > {WIDE} '
    f'and unchecked "acme:N" < {WIDE[:-1]}3\n'
)


def test_check_does_not_call_a_rule_with_a_wide_gap_dead(run_cli, tmp_path):
    path = tmp_path / "gap.rules"
    path.write_text(WIDE_GAP)
    result = run_cli("check", path)
    assert result.exit_code == 0, result.stderr
    assert "E0110" not in result.stderr
    out = tmp_path / "out"
    assert run_cli("compile", path, "--out", out).exit_code == 0
    # ... and the rule does deny a value in the gap, to both engines.
    policy, ram = _engines(WIDE_GAP)
    ctx = {"acme:N": f"{WIDE}.5"}
    assert policy.decide("ecs:RunInstances", ctx).denied
    assert ram.decide("ecs:RunInstances", ctx) == "deny"


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("1.00000000000000000000000000001", "1.00000000000000000000000000002"),
        (WIDE, WIDE[:-1] + "3"),
        ("1e-999999999", "1.0000000000000000000000000000000001e-999999999"),
    ],
)
def test_prove_finds_the_json_interval_the_rules_lack(run_cli, tmp_path, low, high):
    rules = tmp_path / "empty.rules"
    rules.write_text("deny ECS StopInstance\n")
    doc = {
        "Version": "1",
        "Statement": [
            {"Effect": "Deny", "Action": ["ecs:StopInstance"], "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["ecs:RunInstances"],
                "Resource": "*",
                "Condition": {
                    "NumericGreaterThan": {"acme:N": low},
                    "NumericLessThan": {"acme:N": high},
                },
            },
        ],
    }
    policy = tmp_path / "interval.json"
    policy.write_text(json.dumps(doc))
    result = run_cli("prove", "--rules", rules, "--policy", policy, "--format", "json")
    assert result.exit_code == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "different"
    value = data["witness"]["context"]["acme:N"]
    from decimal import Decimal

    assert Decimal(low) < Decimal(value) < Decimal(high)


# A rule's number keeps every digit: normalize() at the decimal context's 28 digits made
# `1.5000000000000000000000000000001` (32 significant digits) `1.5`, in the emitted JSON, in
# both engines' decisions and in `import` (reviewer finding 3).
LONG = "1.5000000000000000000000000000001"


def test_a_long_rule_number_is_emitted_and_decided_exactly(run_cli, tmp_path):
    text = f'deny ECS RunInstances when unchecked "acme:N" > {LONG}\n'
    policy, ram = _engines(text)
    (statement,) = policy.ram_documents()[0]["Statement"]
    assert statement["Condition"] == {"NumericGreaterThan": {"acme:N": LONG}}
    for value, denied in (
        ("1.50000000000000000000000000000005", False),
        ("1.5000000000000000000000000000002", True),
    ):
        ctx = {"acme:N": value}
        assert policy.decide("ecs:RunInstances", ctx).denied is denied
        assert (ram.decide("ecs:RunInstances", ctx) == "deny") is denied
    path = tmp_path / "n.rules"
    path.write_text(text)
    result = run_cli(
        "decide",
        "--rules",
        path,
        "ecs:RunInstances",
        "-c",
        "acme:N=1.50000000000000000000000000000005",
    )
    assert json.loads(result.stdout)["decision"] == "allow"
    # Trailing zeros still go; nothing else does.
    assert parse_number("1.50000000000000000000000000000010") == "1.5000000000000000000000000000001"


def test_import_keeps_a_long_number(run_cli, tmp_path):
    doc = tmp_path / "p.json"
    doc.write_text(
        json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": ["ecs:RunInstances"],
                        "Resource": "*",
                        "Condition": {"NumericGreaterThan": {"acme:N": LONG}},
                    }
                ],
            }
        )
    )
    result = run_cli("import", doc)
    assert result.exit_code == 0, result.stderr
    assert f"> {LONG}" in result.stdout


def _bare(path, number: str):
    path.write_text(
        '{"Version": "1", "Statement": [{"Effect": "Deny", "Action": ["ecs:RunInstances"],\n'
        f' "Resource": "*", "Condition": {{"NumericGreaterThan": {{"acme:N": {number}}}}}}}]}}\n'
    )
    return path


@pytest.mark.parametrize("verb", ["prove", "import", "diff"])
def test_a_bare_json_number_a_float_cannot_hold_is_refused(run_cli, tmp_path, verb):
    """A bare JSON number is read as a float: `1.5000000000000000000000000000001` was
    silently `1.5` to the evaluator and to `import`. Now it is an error at its position,
    with the string to write instead; a number a float holds is read as before."""
    bad = _bare(tmp_path / "bad.json", LONG)
    good = _bare(tmp_path / "good.json", "1.25")
    rules = tmp_path / "n.rules"
    rules.write_text(f'deny ECS RunInstances when unchecked "acme:N" > {LONG}\n')
    args = {
        "prove": ("prove", "--rules", rules, "--policy", bad),
        "import": ("import", bad),
        "diff": ("diff", good, bad),
    }[verb]
    result = run_cli(*args)
    assert result.exit_code == 1
    assert f"bad.json:2:66: error: the number {LONG} cannot be read exactly" in result.stderr
    assert f'write it as a string, "{LONG}"' in result.stderr
    assert "Traceback" not in result.stderr
    assert run_cli("import", good).exit_code == 0
