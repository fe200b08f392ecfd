"""``ramguard fmt``: exact layouts, comments kept in place, idempotence, and the CLI."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.language.ast import Comment, Name, Value
from compiler.language.diagnostics import CompileError, Span
from compiler.language.format import WIDTH, format_source
from compiler.language.parser import parse_text
from compiler.language.sources import hidden_character

SEED = Path(__file__).resolve().parent.parent / "policies" / "leaked-accesskey-protection.rules"

LONG_OPS = ", ".join(f"Operation{i:02d}" for i in range(12))
# LONG_OPS as a block: as many to a line as fit in 100 columns.
WRAPPED_OPS = (
    "  Operation00, Operation01, Operation02, Operation03, Operation04, Operation05, "
    "Operation06,\n"
    "  Operation07, Operation08, Operation09, Operation10, Operation11,\n"
)

# (id, input, exact output)
GOLDEN = [
    ("empty file stays empty", "", ""),
    ("only blank lines", "\n\n  \n", ""),
    ("canonical positional rule unchanged", "deny ECS RunInstances\n", "deny ECS RunInstances\n"),
    (
        "spacing normalised",
        "deny   ECS\tRunInstances ,CreateInstance\n",
        "deny ECS RunInstances, CreateInstance\n",
    ),
    (
        "header first with description",
        'policy  p-1   "Deny things"\ndeny ECS X\n',
        'policy p-1 "Deny things"\ndeny ECS X\n',
    ),
    ("header without description", "policy p\n", "policy p\n"),
    (
        "header description re-quoted",
        'policy p "say \\"hi\\" \\\\ \\n"\n',
        'policy p "say \\"hi\\" \\\\ \\n"\n',
    ),
    ("keyword form kept", "deny service = RAM   op = *\n", "deny service=RAM op=*\n"),
    (
        "keyword form with version= becomes @",
        "deny service=PTS version=2019-08-10 op=StartX\n",
        "deny service=PTS@2019-08-10 op=StartX\n",
    ),
    (
        "keyword form one-line brackets dropped",
        "deny service=ECS op=[A , B]\n",
        "deny service=ECS op=A, B\n",
    ),
    (
        "positional version",
        "deny PTS @ 2019-08-10 StartJMeterTesting\n",
        "deny PTS@2019-08-10 StartJMeterTesting\n",
    ),
    (
        "globs kept as written",
        "deny rds Delete*, Describe?ackup\n",
        "deny rds Delete*, Describe?ackup\n",
    ),
    ("star service and operation", "deny * *\n", "deny * *\n"),
    (
        "one-line op brackets dropped",
        "deny SMS [SendSms,SendBatchSms]\n",
        "deny SMS SendSms, SendBatchSms\n",
    ),
    (
        "in list",
        "deny * * when source_ip in [10.0.0.0/8,192.168.0.0/16]\n",
        "deny * * when source_ip in [10.0.0.0/8, 192.168.0.0/16]\n",
    ),
    (
        "not in list",
        "deny * * when vpc  not   in [ vpc-1 ]\n",
        "deny * * when vpc not in [vpc-1]\n",
    ),
    (
        "in with a bare value stays bare",
        "deny * * when vpc in vpc-1\n",
        "deny * * when vpc in vpc-1\n",
    ),
    ("equals", "deny * * when mfa=false\n", "deny * * when mfa = false\n"),
    (
        "before",
        "deny * * when time before 2026-01-01T00:00:00Z\n",
        "deny * * when time before 2026-01-01T00:00:00Z\n",
    ),
    (
        "after",
        "deny * * when time   after 2026-01-01T00:00:00Z\n",
        "deny * * when time after 2026-01-01T00:00:00Z\n",
    ),
    (
        "quoted values re-quoted",
        'deny * * when access_key in ["a b", "q\\"x", "\\\\z", "t\\tz", "z"]\n',
        'deny * * when access_key in ["a b", "q\\"x", "\\\\z", "t\\tz", "z"]\n',
    ),
    (
        "when and unless",
        "deny RAM * when mfa = false and source_ip in [1.2.3.4/32] unless "
        "secure_transport = true\n",
        "deny RAM * when mfa = false and source_ip in [1.2.3.4/32] unless "
        "secure_transport = true\n",
    ),
    ("unless only", "deny RAM *   unless mfa = true\n", "deny RAM * unless mfa = true\n"),
    (
        "long rule wraps operations",
        f"deny ECS {LONG_OPS}\n",
        "deny ECS [\n" + WRAPPED_OPS + "]\n",
    ),
    (
        "long rule with condition wraps operations",
        f"deny ECS {LONG_OPS} when mfa = false\n",
        "deny ECS [\n" + WRAPPED_OPS + "] when mfa = false\n",
    ),
    (
        "long value list wraps when operations cannot",
        "deny * * when access_key in ["
        + ", ".join(f"LTAI5tExampleKey{i}" for i in range(6))
        + "]\n",
        "deny * * when access_key in [\n"
        "  LTAI5tExampleKey0, LTAI5tExampleKey1, LTAI5tExampleKey2, LTAI5tExampleKey3, "
        "LTAI5tExampleKey4,\n"
        "  LTAI5tExampleKey5,\n"
        "]\n",
    ),
    (
        "multi-line list keeps its line groups",
        "deny ECS [\n    RunInstances,CreateInstance,\n  DeleteInstance ]\n",
        "deny ECS [\n  RunInstances, CreateInstance,\n  DeleteInstance,\n]\n",
    ),
    (
        "bracket opened on the rule line but closed later stays a block",
        "deny ECS [A, B\n]\n",
        "deny ECS [\n  A, B,\n]\n",
    ),
    (
        "multi-line value list stays a block",
        "deny * * when vpc in [a,\n b] and mfa = false\n",
        "deny * * when vpc in [\n  a,\n  b,\n] and mfa = false\n",
    ),
    (
        "long group inside a block is refilled",
        f"deny ECS [\n  {LONG_OPS}\n]\n",
        "deny ECS [\n" + WRAPPED_OPS + "]\n",
    ),
    (
        "comments inside a bracketed list stay after the same item",
        "deny ECS [   # the dangerous ones\n"
        "  # creating\n"
        "  RunInstances, CreateInstance,   # both\n"
        "      # deleting\n"
        "  DeleteInstance\n"
        "  # that is all\n"
        "]\n",
        "deny ECS [  # the dangerous ones\n"
        "  # creating\n"
        "  RunInstances, CreateInstance,  # both\n"
        "  # deleting\n"
        "  DeleteInstance,\n"
        "  # that is all\n"
        "]\n",
    ),
    (
        "comment inside a value list",
        "deny * * when vpc in [a,   # main\n  b]\n",
        "deny * * when vpc in [\n  a,  # main\n  b,\n]\n",
    ),
    (
        "trailing comments",
        "policy p   # name\ndeny ECS X# why\n",
        "policy p  # name\ndeny ECS X  # why\n",
    ),
    (
        "trailing comment of a wrapped rule goes to its last line",
        f"deny ECS {LONG_OPS} when mfa = false   # long\n",
        "deny ECS [\n" + WRAPPED_OPS + "] when mfa = false  # long\n",
    ),
    (
        "trailing comment after a closing bracket",
        "deny ECS [\n  A,\n]   # done\n",
        "deny ECS [\n  A,\n]  # done\n",
    ),
    (
        "full-line comments stay before their rule, at column 0",
        "   # about A\ndeny A X\n\t# about B\n  # more\ndeny B Y\n",
        "# about A\ndeny A X\n# about B\n# more\ndeny B Y\n",
    ),
    (
        "comments at the end of the file stay at the end",
        "deny A X\n\n\n# end one\n# end two\n\n\n",
        "deny A X\n\n# end one\n# end two\n",
    ),
    ("comment-only file", "# just a note   \n", "# just a note\n"),
    (
        "blank lines: none at start, at most one kept",
        "\n\n\npolicy p\n\n\n\ndeny A X\ndeny B Y\n\n# c\n\n\n\ndeny C Z\n",
        "policy p\n\ndeny A X\ndeny B Y\n\n# c\n\ndeny C Z\n",
    ),
    (
        "no blank lines inside a block",
        "deny ECS [\n  A,\n\n  B,\n]\n",
        "deny ECS [\n  A,\n  B,\n]\n",
    ),
    ("CRLF input", "policy p\r\n# c\r\ndeny A X  # t\r\n", "policy p\n# c\ndeny A X  # t\n"),
    ("no final newline", "deny A X", "deny A X\n"),
    ("no final newline after a comment", "deny A X\n# end", "deny A X\n# end\n"),
]


@pytest.mark.parametrize(("text", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden(text: str, expected: str) -> None:
    assert format_source("t.rules", text) == expected
    assert format_source("t.rules", expected) == expected


def test_output_lines_fit_the_width() -> None:
    for _, _text, expected in GOLDEN:
        for line in expected.splitlines():
            assert len(line.split("  #")[0]) <= WIDTH, line


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("deny ECS [A,\n  B\n", "t.rules:1:10"),
        ("deny ECS\n", "t.rules:1:9"),
        ("deny ECS X when mfa\n", "t.rules:1:20"),
        ("deny A X\npolicy late\n", "t.rules:2:1"),
    ],
    ids=["unclosed bracket", "no operation", "condition without operator", "late header"],
)
def test_parse_errors_raise_compile_error(text: str, where: str) -> None:
    with pytest.raises(CompileError) as info:
        format_source("t.rules", text)
    assert str(info.value.diagnostics[0].span) == where


def test_seed_policy_keeps_its_code_and_comments() -> None:
    text = SEED.read_text(encoding="utf-8")
    once = format_source(str(SEED), text)
    assert format_source(str(SEED), once) == once
    assert _shape(parse_text("a", once)) == _shape(parse_text("a", text))
    assert _events(once) == _events(text)


# --- properties over generated files ----------------------------------------------------------


def _strip_spans(node: object) -> object:
    if isinstance(node, tuple):
        return tuple(_strip_spans(n) for n in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (
            type(node).__name__,
            tuple(
                (f.name, _strip_spans(getattr(node, f.name)))
                for f in dataclasses.fields(node)
                if not isinstance(getattr(node, f.name), Span)
            ),
        )
    return node


def _shape(sf) -> object:
    """The AST without positions (and without the text it was read from)."""
    return _strip_spans((sf.header, sf.rules))


def _events(text: str) -> list[tuple]:
    """Comments and the code tokens around them, in file order: a comment that moves past a
    token, or turns from an own-line comment into a trailing one, changes this list."""
    sf = parse_text("t.rules", text.replace("\r\n", "\n"))
    lines = text.replace("\r\n", "\n").split("\n")
    found: list[tuple[tuple[int, int], tuple]] = []

    def add(thing: object) -> None:
        if isinstance(thing, Comment):
            own = lines[thing.span.line - 1][: thing.span.col - 1].strip() == ""
            found.append(((thing.span.line, thing.span.col), ("#", thing.text.rstrip(), own)))
        elif isinstance(thing, Name | Value):
            found.append(((thing.span.line, thing.span.col), ("t", thing.text)))
        elif isinstance(thing, tuple):
            for t in thing:
                add(t)
        elif dataclasses.is_dataclass(thing):
            for f in dataclasses.fields(thing):
                add(getattr(thing, f.name))

    add((sf.header, sf.rules, sf.comments))
    return [event for _, event in sorted(found)]


_NAMES = [
    "ECS",
    "ram",
    "Run*",
    "*",
    "Delete?nstance",
    "a_b-c",
    "X1",
    "DescribeDownloadBackupSetStorageInfo",
    "CreateAutoProvisioningGroup",
]
_KEYWORDS = {
    "and",
    "in",
    "not",
    "when",
    "unless",
    "deny",
    "policy",
    "service",
    "op",
    "version",
    "before",
    "after",
}
_sp = st.sampled_from([" ", "  ", "\t"])
_opt_sp = st.sampled_from(["", " ", "  "])
# Files holding a bidi control (category Cf, not blacklisted) are refused when read (E0001),
# so the comments of a valid file never hold one.
_comment = (
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\n\r"
        ),
        max_size=12,
    )
    .filter(lambda s: hidden_character(s) < 0)
    .map(lambda s: "#" + s.rstrip())
)
_bare = st.text(alphabet="abcxyz0123456789./:-", min_size=1, max_size=8).filter(
    lambda s: s not in _KEYWORDS
)


@st.composite
def _quoted(draw) -> str:
    raw = draw(st.text(alphabet='ab #[]"\\\n\t,é', max_size=6))
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_value = st.one_of(_bare, _quoted())


@st.composite
def _bracketed(draw, items: list[str]) -> str:
    """``[items]`` on one line or several, with comments after ``[`` and between items."""
    if not draw(st.booleans()):
        sep = draw(st.sampled_from([",", ", ", " , "]))
        return "[" + draw(_opt_sp) + sep.join(items) + draw(st.sampled_from(["", ","])) + "]"
    out = "[" + draw(st.sampled_from(["", "  " + draw(_comment)])) + "\n"
    for i, item in enumerate(items):
        last = i == len(items) - 1
        out += draw(_opt_sp) + item + ("" if last else ",")
        out += draw(st.sampled_from(["", " "]))
        if draw(st.booleans()):
            out += draw(_comment) + "\n"
        elif draw(st.booleans()) or last:
            out += "\n"
        if draw(st.integers(0, 3)) == 0:
            out += draw(_opt_sp) + draw(_comment) + "\n"
    return out + "]"


@st.composite
def _condition(draw) -> str:
    kind = draw(st.sampled_from(["in", "not in", "=", "before", "after"]))
    key = draw(st.sampled_from(["source_ip", "mfa", "vpc", "access_key", "time"]))
    if kind in ("in", "not in") and draw(st.booleans()):
        values = draw(st.lists(_value, min_size=1, max_size=8))
        shown = draw(_bracketed(values))
    else:
        shown = draw(_value)
    return f"{key}{draw(_sp)}{kind.replace(' ', draw(_sp))}{draw(_sp)}{shown}"


@st.composite
def _rule(draw) -> str:
    service = draw(st.sampled_from(_NAMES))
    version = draw(st.sampled_from(["", "2019-08-10", "v1.2"]))
    ops = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=10))
    shown_ops = ", ".join(ops) if draw(st.booleans()) else draw(_bracketed(ops))
    if draw(st.booleans()):
        spelled = f" version={version}" if version and draw(st.booleans()) else ""
        at = f"@{version}" if version and not spelled else ""
        text = f"deny service={service}{at}{spelled} op={shown_ops}"
    else:
        at = f"@{version}" if version else ""
        text = f"deny{draw(_sp)}{service}{at}{draw(_sp)}{shown_ops}"
    for word in ("when", "unless"):
        if draw(st.booleans()):
            conds = draw(st.lists(_condition(), min_size=1, max_size=3))
            text += f" {word} " + " and ".join(conds)
    if draw(st.booleans()):
        text += draw(_opt_sp) + draw(_comment)
    return text


@st.composite
def _rules_file(draw) -> str:
    parts: list[str] = []

    def between() -> None:
        for _ in range(draw(st.integers(0, 2))):
            parts.append(draw(st.sampled_from(["", "  ", draw(_opt_sp) + draw(_comment)])))

    between()
    if draw(st.booleans()):
        desc = draw(st.sampled_from(["", ' "Deny things"', ' "a \\"b\\""']))
        parts.append(f"policy p{desc}" + draw(st.sampled_from(["", "  # header"])))
    for rule in draw(st.lists(_rule(), max_size=5)):
        between()
        parts.append(rule)
    between()
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(parts) + draw(st.sampled_from(["", newline]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_rules_file())
def test_formatting_is_idempotent_and_keeps_code_and_comments(text: str) -> None:
    before = parse_text("t.rules", text.replace("\r\n", "\n"))
    once = format_source("t.rules", text)
    after = parse_text("t.rules", once)
    assert format_source("t.rules", once) == once
    assert _shape(after) == _shape(before)
    assert sorted(c.text for c in after.comments) == sorted(c.text for c in before.comments)
    assert _events(once) == _events(text)
    assert once == "" or (once.endswith("\n") and not once.endswith("\n\n"))
    assert not once.startswith("\n") and "\n\n\n" not in once


# --- the CLI ----------------------------------------------------------------------------------

MESSY = "deny   ECS  RunInstances ,CreateInstance   # why\n"
TIDY = "deny ECS RunInstances, CreateInstance  # why\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "messy.rules").write_text(MESSY, encoding="utf-8")
    (tmp_path / "tidy.rules").write_text(TIDY, encoding="utf-8")
    (tmp_path / "notes.txt").write_text(MESSY, encoding="utf-8")  # not a rules file
    return tmp_path


def _stamp(path: Path) -> tuple[int, int]:
    st_ = path.stat()
    return st_.st_ino, st_.st_mtime_ns


def test_cli_in_place_rewrites_only_files_that_change(run_cli, tree: Path) -> None:
    tidy_before = _stamp(tree / "tidy.rules")
    result = run_cli("fmt", tree)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"reformatted {tree / 'messy.rules'}\n"
    assert "1 reformatted, 1 already formatted" in result.stderr
    assert (tree / "messy.rules").read_text(encoding="utf-8") == TIDY
    assert _stamp(tree / "tidy.rules") == tidy_before
    assert (tree / "notes.txt").read_text(encoding="utf-8") == MESSY
    assert sorted(p.name for p in tree.iterdir()) == ["messy.rules", "notes.txt", "tidy.rules"]
    again = run_cli("fmt", tree)
    assert again.exit_code == 0 and again.stdout == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"\xef\xbb\xbfdeny A  X\n", b"\xef\xbb\xbfdeny A X\n"),
        (b"deny A  X\r\n# c \r\ndeny B X\r\n", b"deny A X\r\n# c\r\ndeny B X\r\n"),
        (b"\xef\xbb\xbfdeny A  X\r\n", b"\xef\xbb\xbfdeny A X\r\n"),
    ],
    ids=["bom", "crlf", "bom-crlf"],
)
def test_cli_keeps_the_files_bom_and_line_endings(run_cli, tmp_path: Path, raw, expected):
    # Issue 16 item 8: fmt rewrote CRLF to LF and dropped the BOM.
    path = tmp_path / "a.rules"
    path.write_bytes(raw)
    assert run_cli("fmt", "--check", path).exit_code == 1
    assert run_cli("fmt", path).exit_code == 0
    assert path.read_bytes() == expected
    # ... and a file that differs from the canonical layout only by them is formatted.
    assert run_cli("fmt", "--check", path).exit_code == 0


def test_cli_check_lists_files_and_writes_nothing(run_cli, tree: Path) -> None:
    stamps = {p: _stamp(p) for p in tree.iterdir()}
    result = run_cli("fmt", "--check", tree)
    assert result.exit_code == 1
    assert result.stdout == f"{tree / 'messy.rules'}\n"
    assert "1 would be reformatted, 1 already formatted" in result.stderr
    assert {p: _stamp(p) for p in tree.iterdir()} == stamps
    assert (tree / "messy.rules").read_text(encoding="utf-8") == MESSY


def test_cli_check_passes_on_formatted_files(run_cli, tree: Path) -> None:
    result = run_cli("fmt", "--check", tree / "tidy.rules")
    assert result.exit_code == 0
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("flags", "code"), [(["--diff"], 1), (["--diff", "--check"], 1)], ids=["diff", "diff and check"]
)
def test_cli_diff_prints_a_unified_diff_and_writes_nothing(run_cli, tree, flags, code) -> None:
    messy = tree / "messy.rules"
    result = run_cli("fmt", *flags, tree)
    assert result.exit_code == code
    assert result.stdout == (f"--- {messy}\n+++ {messy}\n@@ -1 +1 @@\n-{MESSY}+{TIDY}")
    assert messy.read_text(encoding="utf-8") == MESSY


def test_cli_diff_marks_a_missing_final_newline(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "a.rules"
    path.write_text("deny A X", encoding="utf-8")
    result = run_cli("fmt", "--diff", path)
    assert result.stdout.endswith("-deny A X\n\\ No newline at end of file\n+deny A X\n")


def test_cli_broken_file_is_reported_and_left_alone(run_cli, tree: Path) -> None:
    broken = tree / "broken.rules"
    broken.write_text("deny ECS [A,\n  B\n", encoding="utf-8")
    stamp = _stamp(broken)
    result = run_cli("fmt", tree)
    assert result.exit_code == 1
    assert f"{broken}:1:10: error: unclosed `[`" in result.stderr
    assert "1 not parsed" in result.stderr
    assert _stamp(broken) == stamp
    assert broken.read_text(encoding="utf-8") == "deny ECS [A,\n  B\n"
    # The other files are still formatted.
    assert (tree / "messy.rules").read_text(encoding="utf-8") == TIDY


@pytest.mark.parametrize(
    ("args", "code"), [(["fmt"], 2), (["fmt", "--nope", "x"], 2)], ids=["no path", "unknown option"]
)
def test_cli_bad_usage_exits_2(run_cli, args, code) -> None:
    assert run_cli(*args).exit_code == code


def test_cli_missing_file(run_cli, tmp_path: Path) -> None:
    result = run_cli("fmt", tmp_path / "nope.rules")
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.rules'}: error: no such file" in result.stderr


def test_entry_point_no_traceback(run_ramguard, tmp_path: Path) -> None:
    path = tmp_path / "b.rules"
    path.write_bytes(b"deny \xff\n")
    proc = run_ramguard("fmt", path, env={"PYTHONHASHSEED": "1"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{path}:1:6: error: file is not UTF-8 text" in proc.stderr
    assert os.path.exists(path) and path.read_bytes() == b"deny \xff\n"


def test_two_end_of_line_comments_after_one_item_are_both_kept():
    text = "deny ECS RunInstances when source_ip in [1.1.1.1, # a\n  2.2.2.2  # b\n  ,  # c\n]\n"
    out = format_source("t.rules", text)
    assert out == (
        "deny ECS RunInstances when source_ip in [\n  1.1.1.1,  # a\n  2.2.2.2,  # b\n  # c\n]\n"
    )
    assert format_source("t.rules", out) == out
