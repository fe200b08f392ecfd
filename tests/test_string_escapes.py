"""Quoted strings take four escapes (\\\\, \\", \\n, \\t); any other backslash is E0105 at its
column (issue 16). Before, `"\\q"` and `"\\u00e9"` compiled silently to `q` and `u00e9`."""

from __future__ import annotations

import pytest

from compiler import compile_sources
from compiler.language.diagnostics import CompileError
from compiler.language.parser import unquote
from compiler.testing.parser import parse_tests


@pytest.mark.parametrize(
    ("written", "value"),
    [
        (r'"vpc-a"', "vpc-a"),
        (r'"a\"b"', 'a"b'),
        (r'"a\\b"', "a\\b"),
        ('"vpc-é"', "vpc-é"),
    ],
)
def test_the_four_escapes(written, value):
    policy = compile_sources([("e.rules", f"deny ECS RunInstances when vpc in [{written}]\n")])
    (rule,) = policy.rules
    assert rule.conditions[0][0].values == (value,)


BAD = [
    ("value-q", 'deny ECS RunInstances when vpc in ["vpc-\\q"]\n', 1, 41, "\\q"),
    ("value-unicode", 'deny ECS RunInstances when vpc in ["vpc-\\u00e9"]\n', 1, 41, "\\u"),
    ("description", 'policy p "a \\x41"\ndeny ECS RunInstances\n', 1, 13, "\\x"),
    ("quoted-key", 'deny ECS RunInstances when "acs:Source\\Vpc" in [v]\n', 1, 39, "\\V"),
    ("unchecked-key", 'deny ECS RunInstances when unchecked "a\\b:c" in [v]\n', 1, 40, "\\b"),
]


@pytest.mark.parametrize(("text", "line", "col", "escape"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])  # fmt: skip
def test_an_unknown_escape_is_an_error_at_its_column(text, line, col, escape):
    with pytest.raises(CompileError) as caught:
        compile_sources([("e.rules", text)])
    (diag,) = caught.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.col, diag.span.end_col) == (
        "E0105",
        line,
        col,
        col + 2,
    )
    assert diag.message == f"unknown escape `{escape}` in a quoted string"


def test_newline_and_tab_escapes_decode():
    # (a value holding them is refused later as unprintable; the escapes themselves are valid)
    assert unquote(r'"a\tb\nc"') == "a\tb\nc"


def test_the_error_renders_with_its_caret():
    with pytest.raises(CompileError) as caught:
        compile_sources([("e.rules", 'deny ECS RunInstances when vpc in ["vpc-\\u00e9"]\n')])
    assert caught.value.diagnostics[0].render() == (
        "e.rules:1:41: error: unknown escape `\\u` in a quoted string\n"
        '   1 | deny ECS RunInstances when vpc in ["vpc-\\u00e9"]\n'
        "     |                                         ^~\n"
        '  help: the escapes are \\\\, \\", \\n and \\t; write any other character as itself'
    )


def test_tests_files_refuse_unknown_escapes_too():
    with pytest.raises(CompileError) as caught:
        parse_tests("a.tests", 'expect deny ecs:RunInstances when vpc = "vpc-\\qa"\n')
    (diag,) = caught.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.col) == ("E0105", 1, 46)
    assert "^~" in diag.render()
