"""The request ``prove`` and ``diff`` print is one a user can run, and it reproduces the
difference. The engine's witness is the shortest string of a class of actions, and for rules
`deny * * when access_key in [...]` against `"Action": "ecs:*"` that was ``""`` (outside
`ecs:*`): prove printed `ramguard decide --rules r.rules '' -c ...`, which decide refuses
(exit 2). Now the action is a catalog action in the difference where there is one, else one
of the shape `x:Y` in no catalog; and since RAM only evaluates `<ram-code>:<action-name>`,
strings without that shape are no request: `*` against `*:*` differ on none."""

from __future__ import annotations

import json
import shlex

import pytest

from compiler.catalog import default_catalog
from compiler.ram import RamEvaluator

KEY = "LTAI5tExampleKey1"


def _write(tmp_path, rules: str, statement: dict):
    path = tmp_path / "r.rules"
    path.write_text(rules)
    doc = {"Version": "1", "Statement": [{"Effect": "Deny", "Resource": "*", **statement}]}
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps(doc))
    return path, policy, RamEvaluator([("p.json", doc)])


def _run_repro(run_ramguard, command: str, tmp_path) -> dict:
    argv = shlex.split(command)
    assert argv[:2] == ["ramguard", "decide"], command
    result = run_ramguard(*argv[1:], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _context(argv: list[str]) -> dict[str, str]:
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "-c"]
    return dict(p.split("=", 1) for p in pairs)


CASES = [
    # (id, rules, statement, the action must be a catalog action)
    (
        "reviewer",
        f"deny * * when access_key in [{KEY}]\n",
        {"Action": "ecs:*", "Condition": {"StringEquals": {"acs:AccessId": KEY}}},
        True,
    ),
    ("everything-but-ecs", "deny * *\n", {"Action": "ecs:*"}, True),
    ("outside-the-catalog", "deny * *\n", {"NotAction": ["x:*"]}, False),
]


@pytest.mark.parametrize(
    ("rules", "statement", "catalogued"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_printed_repro_reproduces(run_ramguard, tmp_path, rules, statement, catalogued):
    path, policy, evaluator = _write(tmp_path, rules, statement)
    result = run_ramguard("prove", "--rules", path.name, "--policy", policy.name, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    command = result.stdout.splitlines()[1].strip()
    argv = shlex.split(command)
    action = argv[argv.index("r.rules") + 1]
    code, sep, name = action.partition(":")
    assert code and sep and name, action
    assert (action in default_catalog().actions()) is catalogued
    if not catalogued:
        assert action == "x:Y"
    # The rules side, through the command as printed; the JSON side, through the evaluator.
    decided = _run_repro(run_ramguard, command, tmp_path)
    assert decided["decision"] == "deny"
    assert evaluator.decide(action, _context(argv)) == "allow"
    # The JSON report says the same.
    data = json.loads(
        run_ramguard(
            "prove", "--rules", path.name, "--policy", policy.name, "--format", "json", cwd=tmp_path
        ).stdout
    )
    assert data["repro"] == command
    assert data["witness"]["action"] == action


def test_diff_prints_a_runnable_repro(run_ramguard, tmp_path):
    path, policy, evaluator = _write(tmp_path, "deny * *\n", {"NotAction": ["x:*"]})
    result = run_ramguard("diff", path.name, policy.name, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "1. x:Y: deny → allow" in result.stdout
    (line,) = [ln for ln in result.stdout.splitlines() if "$ ramguard decide" in ln]
    command = line.split("$ ", 1)[1].split("   #")[0]
    assert shlex.split(command)[-1] == "x:Y"
    assert _run_repro(run_ramguard, command, tmp_path)["decision"] == "deny"
    assert evaluator.decide("x:Y", {}) == "allow"


@pytest.mark.parametrize("verb", ["prove", "diff"])
def test_strings_no_request_can_name_are_no_difference(run_cli, tmp_path, verb):
    """`*` and `*:*` deny the same requests: they differ only on strings without a colon
    (``""``, ``ecs``), which no RAM request names and decide refuses."""
    path, policy, _ = _write(tmp_path, "deny * *\n", {"Action": "*:*"})
    other = tmp_path / "star.json"
    other.write_text(
        json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        )
    )
    if verb == "prove":
        result = run_cli("prove", "--rules", path, "--policy", policy)
        assert result.exit_code == 0, result.stdout + result.stderr
        assert result.stdout.startswith("equivalent (proved)")
    else:
        result = run_cli("diff", other, policy)
        assert result.exit_code == 0, result.stdout + result.stderr
        assert "no request" in result.stdout and "changes decision" in result.stdout
    # A difference on requests is still one (`ecs:*` leaves iot:Pub allowed).
    ecs, _, _ = _write(tmp_path, "deny * *\n", {"Action": ["ecs:*"]})
    assert run_cli("prove", "--rules", ecs, "--policy", policy).exit_code == 1
