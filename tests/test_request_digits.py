"""A request's number is ASCII decimal text in every engine, and the reviewer's `ignorecase`
repro gets one answer from both (reviewer finding 1). The RAM evaluator read numbers with
`\\d`, so `١٢` (Arabic-Indic digits) was 12 to it and no number to the trie: `ramguard test`
said the engines disagree while `prove` said "equivalent (proved)", its samples being ASCII."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.ram import RamEvaluator

RULES = (
    'deny ECS RunInstances when unchecked "acme:Name" in ignorecase [strasse]\n'
    'deny ECS StopInstance when unchecked "acme:N" = 12\n'
    'deny ECS StartInstance when unchecked "acme:N" not in [12]\n'
)


def _engines(text: str):
    policy = compile_sources([("p.rules", text)])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    return policy, ram


@pytest.mark.parametrize(
    ("action", "key", "value", "expected"),
    [
        ("ecs:StopInstance", "acme:N", "12", "deny"),
        ("ecs:StopInstance", "acme:N", "12.0", "deny"),
        ("ecs:StopInstance", "acme:N", "\u0661\u0662", "allow"),  # Arabic-Indic ١٢
        ("ecs:StopInstance", "acme:N", "\uff11\uff12", "allow"),  # fullwidth １２
        ("ecs:StopInstance", "acme:N", "1\u0662", "allow"),
        ("ecs:StopInstance", "acme:N", "\u0967\u0968", "allow"),  # Devanagari १२
        ("ecs:StartInstance", "acme:N", "\u0661\u0662", "deny"),  # no number: not in holds
        ("ecs:StartInstance", "acme:N", "12", "allow"),
        ("ecs:RunInstances", "acme:Name", "STRASSE", "deny"),
        ("ecs:RunInstances", "acme:Name", "straße", "allow"),
    ],
)
def test_both_engines_read_the_value_alike(action, key, value, expected):
    policy, ram = _engines(RULES)
    assert policy.decide(action, {key: value}).decision == expected
    assert ram.decide(action, {key: value}) == expected


def test_ramguard_test_passes_where_the_engines_disagreed(run_cli, tmp_path):
    (tmp_path / "p.rules").write_text(RULES)
    (tmp_path / "p.tests").write_text(
        'expect allow ECS RunInstances when acme:Name = "straße"\n'
        'expect deny ECS RunInstances when acme:Name = "STRASSE"\n'
        'expect allow ECS StopInstance when acme:N = "١٢"\n'
        'expect deny ECS StartInstance when acme:N = "١٢"\n'
    )
    result = run_cli("test", tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "disagree" not in result.stdout + result.stderr


def test_diff_does_not_call_non_ascii_ignorecase_values_equivalent(run_cli, tmp_path):
    # `STRASSE` is denied by the second only (lower case keeps `ß`): "equivalent (proved)"
    # before; the analysis cannot tabulate spellings off ASCII, and says so.
    rule = 'deny ECS RunInstances when unchecked "acme:Name" in ignorecase '
    (tmp_path / "old.rules").write_text(rule + '["straße"]\n')
    (tmp_path / "new.rules").write_text(rule + '["strasse"]\n')
    result = run_cli("diff", tmp_path / "old.rules", tmp_path / "new.rules")
    assert "equivalent" not in result.stdout
    assert result.exit_code != 0
    old, _ = _engines(rule + '["straße"]\n')
    new, _ = _engines(rule + '["strasse"]\n')
    ctx = {"acme:Name": "STRASSE"}
    assert (
        old.decide("ecs:RunInstances", ctx).decision,
        new.decide("ecs:RunInstances", ctx).decision,
    ) == ("allow", "deny")


_DIGITS = "0123456789\u0660\u0661\u0662\u06f1\u0967\uff11\uff12.+-eE"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.integers(-50, 50),
    requests=st.lists(st.text(_DIGITS, min_size=1, max_size=5), min_size=1, max_size=20),
)
def test_numeric_engines_agree_on_any_digit_text(limit, requests):
    policy, ram = _engines(
        f'deny ECS StopInstance when unchecked "acme:N" >= {limit}\n'
        f'deny ECS StartInstance when unchecked "acme:N" != {limit}\n'
    )
    for value in requests:
        for action in ("ecs:StopInstance", "ecs:StartInstance"):
            ctx = {"acme:N": value}
            assert policy.decide(action, ctx).decision == ram.decide(action, ctx), (action, ctx)
