"""Characters a reviewer cannot see are refused in every source file ("Trojan Source",
CVE-2021-42574): C0 controls but tab and newline, DEL, the C1 controls (U+0085 NEL), a carriage
return not followed by a line feed, U+2028/U+2029 and the bidi controls. An editor draws them
as a line break, as nothing, or reorders the text around them, so a rule could look commented
out or one line look like two. Each file is refused at its first such character with E0001 at
FILE:LINE:COL, in .rules, .tests, org.toml, ramguard.toml and catalog overlays, by compile,
check, fmt and test (files and stdin); CRLF line endings are read as before.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main as cli_main
from compiler.language.diagnostics import CompileError
from compiler.language.sources import decode_source

REPO = Path(__file__).resolve().parent.parent

HIDDEN = [
    ("\x01", "a control character"),
    ("\x08", "a control character"),
    ("\x0b", "a vertical tab"),
    ("\x0c", "a form feed"),
    ("\r", "a carriage return not followed by a line feed"),
    ("\x1b", "an escape character"),
    ("\x1f", "a control character"),
    ("\x7f", "a delete character"),
    ("\x85", "a next-line character"),
    ("\x9b", "a control character"),
    ("\u2028", "a line separator"),
    ("\u2029", "a paragraph separator"),
    ("\u202a", "a left-to-right embedding"),
    ("\u202b", "a right-to-left embedding"),
    ("\u202c", "a pop directional formatting"),
    ("\u202d", "a left-to-right override"),
    ("\u202e", "a right-to-left override"),
    ("\u2066", "a left-to-right isolate"),
    ("\u2067", "a right-to-left isolate"),
    ("\u2068", "a first strong isolate"),
    ("\u2069", "a pop directional isolate"),
    ("\u200e", "a left-to-right mark"),
    ("\u200f", "a right-to-left mark"),
    ("\u061c", "an Arabic letter mark"),
]
IDS = [f"U+{ord(c):04X}" for c, _ in HIDDEN]

# (where, text with {c} for the character, line, column of the character)
PLACES = [
    ("comment", 'policy p "x"\ndeny ECS RunInstances  # keep{c}deny * *\n', 2, 30),
    ("quoted", 'policy p "x"\ndeny ECS RunInstances when vpc in ["vpc-1{c}"]\n', 2, 42),
    ("line-start", 'policy p "x"\n{c}deny ECS RunInstances\n', 2, 1),
]


def _said(path: Path | str, line: int, col: int, char: str, name: str) -> str:
    return f"{path}:{line}:{col}: error: file contains {name} (U+{ord(char):04X})"


def _run(*args: str | Path, input: bytes | None = None):
    result = CliRunner().invoke(cli_main, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"ramguard {args} raised {result.exception!r}")
    return result


def _tree(tmp_path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
    }


# --- .rules, every character, every place, through compile ----------------------------------


@pytest.mark.parametrize(("where", "template", "line", "col"), PLACES, ids=[p[0] for p in PLACES])
@pytest.mark.parametrize(("char", "name"), HIDDEN, ids=IDS)
def test_compile_refuses_the_character_at_its_place_and_writes_nothing(
    tmp_path: Path, where: str, template: str, line: int, col: int, char: str, name: str
) -> None:
    rules = tmp_path / "p.rules"
    rules.write_bytes(template.format(c=char).encode("utf-8"))
    out = tmp_path / "out"
    result = _run("compile", rules, "--out", out)
    assert result.exit_code == 1
    assert _said(rules, line, col, char, name) in result.stderr
    assert "hide text from a reviewer" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_the_snippet_draws_the_character_as_a_question_mark_under_the_caret(tmp_path) -> None:
    rules = tmp_path / "p.rules"
    rules.write_text('policy p "x"\ndeny ECS RunInstances  # keep\u202edeny * *\n', "utf-8")
    result = _run("compile", rules, "--out", tmp_path / "out")
    lines = result.stderr.splitlines()
    at = lines.index(_said(rules, 2, 30, "\u202e", "a right-to-left override"))
    assert lines[at + 1] == "   2 | deny ECS RunInstances  # keep?deny * *"
    assert lines[at + 2] == "     |                              ^"
    assert lines[at + 3] == (
        "  help: it reorders how the text around it is shown, which can hide text from a "
        "reviewer; remove it (quoted strings have no escape for it)"
    )
    assert "\u202e" not in result.stderr


def test_a_lone_carriage_return_is_told_to_end_lines_with_lf_or_crlf(tmp_path) -> None:
    rules = tmp_path / "mac.rules"
    rules.write_bytes(b'policy p "x"\rdeny ECS RunInstances\r')
    result = _run("compile", rules, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert _said(rules, 1, 13, "\r", "a carriage return not followed by a line feed") in (
        result.stderr
    )
    assert "end lines with LF or CRLF" in result.stderr


def test_one_error_per_file_at_its_first_hidden_character(tmp_path: Path) -> None:
    (tmp_path / "a.rules").write_text("deny ECS RunInstances # \x0c \u202e\n\u2028\n", "utf-8")
    (tmp_path / "b.rules").write_text("deny ECS StopInstance\n# \u2066 x \u2069\n", "utf-8")
    (tmp_path / "c.rules").write_text("deny ECS StartInstance\n", "utf-8")
    result = _run("compile", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        _said(tmp_path / "a.rules", 1, 25, "\x0c", "a form feed"),
        _said(tmp_path / "b.rules", 2, 3, "\u2066", "a left-to-right isolate"),
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("data", "where"),
    [
        # Only "\n" ends a line: the CRLF before it counts one line, columns count characters.
        (b"deny ECS RunInstances\r\ndeny ECS StopInstance # \xc3\xa9\xe2\x82\xac\x0c\r\n", "2:27"),
        # A byte-order mark is no column (the parser never sees it).
        (b"\xef\xbb\xbf\x0cdeny ECS RunInstances\n", "1:1"),
        (b"\xef\xbb\xbfdeny ECS RunInstances\x00\n", "1:22"),
        (b"\xef\xbb\xbfdeny \xff\n", "1:6"),
        # A CR at the very end has no line feed after it.
        (b"deny ECS RunInstances\r", "1:22"),
    ],
    ids=[
        "after-crlf-and-non-ascii",
        "after-bom",
        "nul-after-bom",
        "not-utf8-after-bom",
        "cr-at-eof",
    ],
)
def test_line_and_column_are_counted_as_every_diagnostic_counts_them(
    tmp_path: Path, data: bytes, where: str
) -> None:
    rules = tmp_path / "p.rules"
    rules.write_bytes(data)
    result = _run("compile", rules, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{rules}:{where}: error: " in result.stderr


# --- check, fmt, test; files and stdin ------------------------------------------------------


@pytest.mark.parametrize(("char", "name"), HIDDEN, ids=IDS)
def test_check_refuses_a_file_and_stdin(tmp_path: Path, char: str, name: str) -> None:
    text = PLACES[0][1].format(c=char)
    rules = tmp_path / "p.rules"
    rules.write_bytes(text.encode("utf-8"))
    result = _run("check", rules)
    assert result.exit_code == 1
    assert f"{_said(rules, 2, 30, char, name)} [E0001]" in result.stderr
    piped = _run("check", "-", input=text.encode("utf-8"))
    assert piped.exit_code == 1
    assert f"{_said('-', 2, 30, char, name)} [E0001]" in piped.stderr


def test_check_stdin_reports_it_in_the_format_asked_for() -> None:
    # It was printed as text by the catch-all whatever --format said (so too a stdin that is
    # not UTF-8): now as check reports any error of a file.
    data = "deny ECS RunInstances  # \u202e x\n".encode()
    result = _run("check", "-", "--format", "json", input=data)
    assert result.exit_code == 1
    (found,) = json.loads(result.stdout)
    assert (found["code"], found["file"], found["line"], found["col"]) == ("E0001", "-", 1, 26)
    assert found["message"] == "file contains a right-to-left override (U+202E)"
    sarif = _run("check", "-", "--format", "sarif", input=data)
    assert sarif.exit_code == 1
    assert json.loads(sarif.stdout)["runs"][0]["results"][0]["ruleId"] == "E0001"


@pytest.mark.parametrize(("char", "name"), HIDDEN, ids=IDS)
def test_fmt_refuses_and_leaves_the_file_as_it_was(tmp_path: Path, char: str, name: str) -> None:
    # Messy layout, so fmt would rewrite the file if it read it.
    data = f'policy p "x"\ndeny   ECS  RunInstances  # keep{char}deny * *\n'.encode()
    rules = tmp_path / "p.rules"
    rules.write_bytes(data)
    for args in (["fmt", rules], ["fmt", "--check", rules], ["fmt", "--diff", rules]):
        result = _run(*args)
        assert result.exit_code == 1, args
        assert result.stdout == "", args
        assert _said(rules, 2, 33, char, name) in result.stderr, args
        assert rules.read_bytes() == data
    piped = _run("fmt", "-", input=data)
    assert piped.exit_code == 1
    assert piped.stdout == ""
    assert _said("-", 2, 33, char, name) in piped.stderr


def _suite(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "p.rules").write_text('policy p "x"\ndeny ECS RunInstances\n', "utf-8")
    (tmp_path / "p.tests").write_bytes(tests.encode("utf-8"))
    return tmp_path


@pytest.mark.parametrize(("char", "name"), HIDDEN, ids=IDS)
def test_ramguard_test_refuses_a_tests_file(tmp_path: Path, char: str, name: str) -> None:
    tests = f"expect deny ECS RunInstances  # ok{char}x\nexpect allow ECS StopInstance\n"
    result = _run("test", _suite(tmp_path, tests))
    assert result.exit_code == 1
    assert _said(tmp_path / "p.tests", 1, 35, char, name) in result.stderr
    assert "0 passed, 0 failed" in result.stdout  # none of its expectations ran


def test_ramguard_test_refuses_a_quoted_value_and_a_line_start_in_a_tests_file(tmp_path) -> None:
    tests = (
        'expect deny ECS RunInstances when vpc = "v\u202e"\n\u2067expect allow ECS StopInstance\n'
    )
    result = _run("test", _suite(tmp_path, tests))
    assert result.exit_code == 1
    assert _said(tmp_path / "p.tests", 1, 43, "\u202e", "a right-to-left override") in (
        result.stderr
    )


def test_ramguard_test_refuses_a_rules_file_it_tests(tmp_path: Path) -> None:
    suite = _suite(tmp_path, "expect deny ECS RunInstances\n")
    (suite / "p.rules").write_text('policy p "x"\ndeny ECS RunInstances # \x0c\n', "utf-8")
    result = _run("test", suite)
    assert result.exit_code == 1
    assert _said(suite / "p.rules", 2, 25, "\x0c", "a form feed") in result.stderr


# --- TOML: org.toml, ramguard.toml, catalog overlays ----------------------------------------


@pytest.fixture
def org(tmp_path: Path) -> Path:
    """A copy of examples/org-allowlist: rules, tests and org.toml."""
    copy = tmp_path / "org"
    shutil.copytree(REPO / "examples" / "org-allowlist", copy)
    return copy


def _plant(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode()
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode())


@pytest.mark.parametrize(("char", "name"), HIDDEN, ids=IDS)
def test_org_toml_is_refused_by_test_and_check(org: Path, char: str, name: str) -> None:
    planted = f'id = "r-example"  # {char}x'
    _plant(org / "org.toml", 'id = "r-example"', planted)
    line = (org / "org.toml").read_bytes().decode().split("\n").index(planted)
    said = _said(org / "org.toml", line + 1, 21, char, name)
    tested = _run("test", org)
    assert tested.exit_code == 1
    assert said in tested.stderr
    checked = _run("check", org)
    assert checked.exit_code == 1
    assert f"{said} [E0001]" in checked.stderr
    if char != "\r":
        # TOML has escapes: the help says how to keep the character as text.
        escape = f"\\u{ord(char):04X}"
        assert f'write it in a "double-quoted" string as the escape {escape}' in tested.stderr


def test_org_toml_refuses_a_bidi_control_inside_a_string(org: Path) -> None:
    _plant(org / "org.toml", 'id = "fd-prod"', 'id = "fd-\u202eprod"')
    result = _run("test", org)
    assert result.exit_code == 1
    assert ": error: file contains a right-to-left override (U+202E)" in result.stderr
    assert "org.toml:" in result.stderr


def test_ramguard_toml_is_refused_wherever_it_applies(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "ramguard.toml").write_text('rules = ["a.rules"]  # \u2066\n', "utf-8")
    (tmp_path / "a.rules").write_text("deny ECS RunInstances\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    result = _run("check")
    assert result.exit_code == 1
    assert _said("ramguard.toml", 1, 24, "\u2066", "a left-to-right isolate") in result.stderr
    assert "Traceback" not in result.stderr


def test_a_pyproject_with_a_ramguard_table_is_refused(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.ramguard]\nignore = ["W0201"]  # \u2028\n', "utf-8"
    )
    (tmp_path / "a.rules").write_text("deny ECS RunInstances\n", "utf-8")
    monkeypatch.chdir(tmp_path)
    result = _run("compile", "a.rules", "--out", "out")
    assert result.exit_code == 1
    assert _said("pyproject.toml", 5, 23, "\u2028", "a line separator") in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_catalog_overlay_is_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.toml"
    overlay.write_text('# local services\x0c\n[services.Foo]\ncodes = ["foo"]\n', "utf-8")
    rules = tmp_path / "a.rules"
    rules.write_text("deny ECS RunInstances\n", "utf-8")
    result = _run("compile", rules, "--catalog", overlay, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert _said(overlay, 1, 17, "\x0c", "a form feed") in result.stderr
    assert not (tmp_path / "out").exists()


# --- what is still read as before ------------------------------------------------------------


def test_crlf_files_compile_to_the_same_bytes_and_test_alike(org: Path, tmp_path: Path) -> None:
    crlf = tmp_path / "crlf"
    shutil.copytree(org, crlf)
    for path in crlf.iterdir():
        data = path.read_bytes()
        assert b"\r" not in data
        path.write_bytes(data.replace(b"\n", b"\r\n"))
    # with a byte-order mark too, on one file
    first = sorted(crlf.glob("*.rules"))[0]
    first.write_bytes(b"\xef\xbb\xbf" + first.read_bytes())
    outputs = {}
    for name, source in (("lf", org), ("crlf", crlf)):
        compiled = _run("compile", source, "--out", tmp_path / f"out-{name}")
        assert compiled.exit_code == 0, compiled.stderr
        outputs[name] = _tree(tmp_path / f"out-{name}")
    assert outputs["crlf"] == outputs["lf"] and outputs["lf"]
    lf, cr = _run("test", org), _run("test", crlf)
    assert cr.exit_code == lf.exit_code == 0, cr.stderr
    assert cr.stdout.splitlines()[-1] == lf.stdout.splitlines()[-1]
    assert "passed, 0 failed" in cr.stdout and not cr.stdout.startswith("0 passed")
    assert _run("check", crlf).exit_code == 0


def test_tabs_and_ordinary_non_ascii_text_are_still_read(tmp_path: Path) -> None:
    rules = tmp_path / "p.rules"
    rules.write_text(
        'policy p "Règles — 规则 — قواعد"\r\n'
        'deny ECS RunInstances\twhen vpc in ["vpc-é", "مرحبا", "😀"]  # « nbsp\u00a0» ok\r\n',
        "utf-8",
    )
    result = _run("compile", rules, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    doc = json.loads((tmp_path / "out" / "p.json").read_text("utf-8"))
    (condition,) = doc["Statement"][0]["Condition"].values()
    assert condition == {"acs:SourceVpc": ["vpc-é", "مرحبا", "😀"]}


def test_refusing_is_linear_in_the_file(tmp_path: Path) -> None:
    # 8 MB of CRLF lines, each "\r" looked at, the lone one at the very end.
    data = b"deny ECS RunInstances  # a comment\r\n" * 230_000 + b"\r"
    start = time.perf_counter()
    with pytest.raises(CompileError) as exc:
        decode_source("big.rules", data)
    took = time.perf_counter() - start
    (diag,) = exc.value.diagnostics
    assert (diag.span.line, diag.span.col) == (230_001, 1)
    assert took < 2.0, took
