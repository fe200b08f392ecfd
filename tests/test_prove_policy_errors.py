"""`prove --policy` reports a bad document as DESIGN.md's `FILE[:LINE:COL]: error: MESSAGE`
(as diff and simulate do); it printed `ramguard: error: FILE:LINE:COL: …`, which editors and
CI annotators do not read as a location."""

from __future__ import annotations

import pytest

RULES = "policy prod\ndeny ECS DeleteInstance\n"


@pytest.mark.parametrize(
    ("text", "first"),
    [
        (b"", "{doc}:1:1: error: invalid JSON: "),
        (b'{"Version": "1", "Statement": [', "{doc}:1:"),
        (
            b'{"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "ecs:*", '
            b'"Resource": "*"}]}',
            '{doc}: error: statement 1: Effect: expected "Allow" or "Deny", got "Maybe"',
        ),
        (b"\xff\xfe", "{doc}: error: not UTF-8 text"),
    ],
    ids=["empty", "truncated", "bad-effect", "not-utf8"],
)
def test_prove_policy_error_names_the_file_first(run_cli, tmp_path, text, first):
    rules = tmp_path / "prod.rules"
    rules.write_text(RULES)
    doc = tmp_path / "prod.json"
    doc.write_bytes(text)
    result = run_cli("prove", "--rules", rules, "--policy", doc)
    assert result.exit_code == 1
    line = result.stderr.splitlines()[0]
    assert line.startswith(first.format(doc=doc)), line
    assert " error: " in line and "Traceback" not in result.stderr


def test_prove_policy_missing_file_names_it(run_cli, tmp_path):
    rules = tmp_path / "prod.rules"
    rules.write_text(RULES)
    result = run_cli("prove", "--rules", rules, "--policy", tmp_path / "nope.json")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'nope.json'}: error: cannot read: ")
