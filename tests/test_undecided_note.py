"""N0110 (the engine could not decide whether a rule denies anything) says what stopped it.
It always blamed "a `*` followed by a long run of `?` in a `like` pattern" and "its budget",
also when the cause was an ignorecase value with non-ASCII letters (`straße`), which the
analysis does not fold (foldings differ off ASCII) and no budget would decide.

And a Kelvin sign (U+212A, which ``str.lower`` makes ASCII ``k``) cannot make prove or diff
claim a difference or an equivalence: a non-ASCII action pattern is "could not decide",
while both engines fold it (and the requests) with ``str.lower``."""

from __future__ import annotations

import json

import pytest

from compiler import compile_sources
from compiler.analysis.globsets import Undecided, Unfoldable
from compiler.analysis.shadowing import undecided_note
from compiler.ram import RamEvaluator

KELVIN = "\u212a"
ROLE = "acs:ram::*:role/*-" + "?" * 18
TWO = f'deny ECS RunInstances when principal like ["{ROLE}", "acs:ram::*:user/*"]\n'


@pytest.fixture
def small_budget(monkeypatch):
    from compiler.analysis import regions

    real = regions.classes
    monkeypatch.setattr(regions, "classes", lambda p, fold: real(p, fold=fold, budget=2_000))


@pytest.mark.parametrize("value", ["straße", f"{KELVIN}ey", "vpc-É"])
def test_a_non_ascii_ignorecase_value_is_named_as_the_cause(run_cli, tmp_path, value):
    path = tmp_path / "r.rules"
    path.write_text(f"deny ECS RunInstances when vpc in ignorecase [{value}]\n")
    result = run_cli("check", path)
    assert result.exit_code == 0, result.stderr
    assert (
        f"{path}:1:1: note: could not decide whether this rule denies anything: non-ASCII "
        f"ignorecase value `{value}` cannot be folded exactly [N0110]"
    ) in result.stderr
    assert "exactly on ASCII only" in result.stderr
    assert "budget" not in result.stderr
    assert "`?`" not in result.stderr


def test_a_budget_is_still_named_with_the_like_pattern_hint(run_cli, tmp_path, small_budget):
    path = tmp_path / "r.rules"
    path.write_text(TWO)
    result = run_cli("check", path)
    assert "ran past its budget (more than 2000 automaton states) [N0110]" in result.stderr
    assert "a `*` followed by a long run of `?` in a `like` pattern" in result.stderr
    assert "ASCII" not in result.stderr


def test_each_cause_has_its_own_words():
    fold = undecided_note(Unfoldable("non-ASCII action pattern `ecs:K*` cannot be folded"))
    steps = undecided_note(Undecided("more than 2000000 condition search steps"))
    states = undecided_note(Undecided("more than 200000 ignorecase product states"))
    assert "ASCII only" in fold[1] and "budget" not in fold[0]
    assert "(more than 2000000 condition search steps)" in steps[0]
    assert "combinations of values" in steps[1] and "`?`" not in steps[1]
    assert "`?`" in states[1]


def _doc(action: str) -> dict:
    return {"Version": "1", "Statement": [{"Effect": "Deny", "Action": action, "Resource": "*"}]}


@pytest.mark.parametrize("verb", ["prove", "diff"])
def test_a_kelvin_sign_in_an_action_glob_is_undecided_not_a_difference(run_cli, tmp_path, verb):
    kelvin, ascii_k = tmp_path / "kelvin.json", tmp_path / "k.json"
    kelvin.write_text(json.dumps(_doc(f"ecs:{KELVIN}ill*")))
    ascii_k.write_text(json.dumps(_doc("ecs:kill*")))
    rules = tmp_path / "k.rules"
    rules.write_text("deny ECS Kill*\n")
    if verb == "prove":
        result = run_cli("prove", "--rules", rules, "--policy", kelvin)
    else:
        result = run_cli("diff", ascii_k, kelvin)
    assert result.exit_code == 1
    out = result.stdout + result.stderr
    assert "could not decide" in out and "cannot be folded exactly" in out
    assert "equivalent" not in out and "differ" not in out
    # Both engines fold with str.lower, so RAM's two spellings are one to each of them: the
    # only difference the analysis could have claimed is none.
    policy = compile_sources([("k.rules", "deny ECS Kill*\n")])
    evaluator = RamEvaluator([("kelvin.json", _doc(f"ecs:{KELVIN}ill*"))])
    for action in ("ecs:KillX", f"ecs:{KELVIN}illX", "ecs:kILL"):
        assert policy.decide(action).denied
        assert evaluator.decide(action) == "deny"
