"""``diff`` and ``prove`` read a document's ``StringLike`` patterns as the patterns: the
evaluator keeps them parsed (``GlobPattern``), and its ``str`` — a repr — was taken as the
pattern, so a key's regions were cut at the wrong strings and two documents with different
patterns were "equivalent (proved)"."""

from __future__ import annotations

import json

import pytest


def _doc(path, operator: str, patterns: list[str]):
    path.write_text(
        json.dumps(
            {
                "Version": "1",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": ["ecs:RunInstances"],
                        "Resource": "*",
                        "Condition": {operator: {"acs:PrincipalARN": patterns}},
                    }
                ],
            }
        )
    )
    return path


@pytest.mark.parametrize("operator", ["StringLike", "StringNotLike"])
@pytest.mark.parametrize(
    ("old", "new"),
    [(["a*"], ["ab*"]), (["acs:ram::*:role/x?"], ["acs:ram::*:role/x*"]), (["*-?"], ["*-??"])],
)
def test_diff_of_documents_sees_a_changed_pattern(run_cli, tmp_path, operator, old, new):
    a = _doc(tmp_path / "old.json", operator, old)
    b = _doc(tmp_path / "new.json", operator, new)
    result = run_cli("diff", a, b, "--format", "json")
    assert result.exit_code == 3, result.stdout + result.stderr
    assert run_cli("diff", a, a, "-q").exit_code == 0


def test_prove_decides_a_long_question_mark_run_after_a_star(run_cli, tmp_path):
    rules = tmp_path / "r.rules"
    rules.write_text(
        'deny ECS RunInstances when principal like ["acs:ram::*:role/*-' + "?" * 18 + '"]\n'
    )
    result = run_cli("prove", "--rules", rules)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "equivalent (proved)" in result.stdout
