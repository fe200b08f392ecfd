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
