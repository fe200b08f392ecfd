"""A bare JSON number that cannot be read exactly is reported where it stands. The error's
line:col came from ``text.find(literal)``, which finds the same digits earlier inside a string
(a Sid, a resource ARN, a string with an escaped quote) and pointed there; it is now the number
token the decoder refused. An integer of more than 4,300 digits is the same error at its
position, where json.loads' own ValueError had none."""

from __future__ import annotations

import pytest

LONG = "1.5000000000000000000000000000001"


def _document(number: str, sid: str, resource: str) -> str:
    # One element a line, so that line:col is easy to state: the number is on line 7.
    return "\n".join(
        [
            '{"Version": "1", "Statement": [{',
            f'  "Sid": "{sid}",',
            '  "Effect": "Deny",',
            '  "Action": ["ecs:RunInstances"],',
            f'  "Resource": "{resource}",',
            '  "Condition": {"NumericGreaterThan": {"acme:N": "1"},',
            f'    "NumericLessThan": {{"acme:N": {number}}}}}',
            "}]}",
            "",
        ]
    )


NUMBER_COL = len('    "NumericLessThan": {"acme:N": ') + 1  # 35

CASES = [
    # (id, number, Sid, Resource)
    ("digits-in-sid", LONG, f"limit{LONG}", "*"),
    ("digits-in-arn", LONG, "s", f"acs:ecs:*:*:instance/{LONG}"),
    ("after-an-escaped-quote", LONG, f'say \\"{LONG}\\" here', "*"),
    ("a-shorter-number-first", LONG, "s", "*"),  # the condition above holds "1"
    ("long-integer", "9" * 5000, "9" * 5000, "*"),
]


@pytest.mark.parametrize("verb", ["prove", "import", "diff"])
@pytest.mark.parametrize(
    ("number", "sid", "resource"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_error_points_at_the_number(run_cli, tmp_path, verb, number, sid, resource):
    bad = tmp_path / "bad.json"
    bad.write_text(_document(number, sid, resource))
    good = tmp_path / "good.json"
    good.write_text(_document("1.25", sid, resource))
    rules = tmp_path / "n.rules"
    rules.write_text('deny ECS RunInstances when unchecked "acme:N" > 1\n')
    args = {
        "prove": ("prove", "--rules", rules, "--policy", bad),
        "import": ("import", bad),
        "diff": ("diff", bad, good),
    }[verb]
    result = run_cli(*args)
    assert result.exit_code == 1
    assert f"bad.json:7:{NUMBER_COL}: error: the number " in result.stderr, result.stderr
    assert "cannot be read exactly" in result.stderr
    assert "Traceback" not in result.stderr
    if len(number) > 60:
        # A long number is shortened in the message, not pasted whole.
        assert "(5000 characters)" in result.stderr
        assert len(result.stderr) < 2000
        assert "at most 4,300 digits" in result.stderr
    else:
        assert f'write it as a string, "{number}"' in result.stderr


def test_a_long_integer_written_as_a_string_is_read(run_cli, tmp_path):
    """What the error says to write is read: the digits as a string (6,144 characters at most,
    a policy document's limit)."""
    doc = tmp_path / "p.json"
    digits = "9" * 5000
    # (no Sid: RAM's statements have none, and import refuses the element)
    doc.write_text(_document(f'"{digits}"', "s", "*").replace('  "Sid": "s",\n', ""))
    result = run_cli("import", doc)
    assert result.exit_code == 0, result.stderr
    assert f"< {digits}" in result.stdout
