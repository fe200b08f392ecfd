"""Bad input: exit 1, a ``FILE:LINE:COL: error:`` line (or ``FILE: error:`` where there is no
position), a useful message, never a traceback, and nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

MB = 1024 * 1024


@dataclass(frozen=True)
class Bad:
    id: str
    content: str | bytes | None
    """None: the file does not exist."""
    where: str
    """``LINE:COL``, or "" when the diagnostic names the file alone."""
    fragment: str
    filename: str = "bad.rules"


BAD = [
    # syntax
    Bad("syntax-extra-word", "deny ECS RunInstances extra\n", "1:23", "unexpected `extra`"),
    Bad("syntax-no-operation", "deny ECS\n", "1:9", "unexpected end of line"),
    Bad(
        "syntax-unknown-verb",
        "permit ECS RunInstances\n",
        "1:1",
        "expected one of: `allow`, `deny`",
    ),
    # `allow` is a verb since issue 12 (allow lists), but only in a control policy.
    Bad("allow-outside-control-policy", "allow ECS RunInstances\n", "1:1", "only for control"),
    Bad("syntax-bad-character", "deny ECS Run$Instances\n", "1:13", "unexpected `$Instances`"),
    Bad("syntax-dangling-when", "deny ECS RunInstances when\n", "1:27", "a condition key"),
    Bad("syntax-empty-list", "deny ECS RunInstances when vpc in []\n", "1:36", "unexpected `]`"),
    Bad("syntax-non-ascii-name", "deny ECS Rün\n", "1:11", "unexpected `ün`"),
    Bad(
        "unterminated-bracket",
        "deny ECS [RunInstances,\n  CreateInstance\n",
        "1:10",
        "unclosed `[`",
    ),
    Bad(
        "unterminated-string",
        'policy x "abc\ndeny ECS RunInstances\n',
        "1:10",
        'unexpected character `"`',
    ),
    # header
    Bad(
        "header-after-rule",
        "deny ECS RunInstances\npolicy late\n",
        "2:1",
        "`policy` header must come once",
    ),
    Bad(
        "header-twice",
        "policy a\npolicy b\ndeny ECS RunInstances\n",
        "2:1",
        "`policy` header must come once",
    ),
    Bad(
        "policy-name-too-long",
        f"policy {'n' * 200}\ndeny ECS RunInstances\n",
        "1:8",
        "is not a valid RAM policy name",
    ),
    Bad(
        "description-too-long",
        f'policy n "{"d" * 2000}"\ndeny ECS RunInstances\n',
        "1:1",
        "description is 2000 characters; RAM allows 1024",
    ),
    # services and operations
    Bad("unknown-service-near-miss", "deny ECZ RunInstances\n", "1:6", "did you mean ECS?"),
    Bad("unknown-service", "deny Qwertyuiop X\n", "1:6", "unknown service `Qwertyuiop`"),
    Bad("service-glob-matches-nothing", "deny XY* Foo\n", "1:6", "matches no catalog service"),
    Bad(
        "unknown-operation-near-miss",
        "deny ECS RunInstanse\n",
        "1:10",
        "did you mean RunInstances?",
    ),
    Bad(
        "unknown-operation-in-list",
        "deny ECS [\n  RunInstances,\n  DeleteInstanse,\n]\n",
        "3:3",
        "did you mean DeleteInstance?",
    ),
    Bad(
        "operation-of-another-version",
        "deny PTS@2019-08-10 StartPtsScene\n",
        "1:21",
        "it is in version 2020-10-20",
    ),
    # versions
    Bad("bad-version", "deny ECS@2014-13-26 RunInstances\n", "1:10", "is not an API version"),
    Bad(
        "unknown-version",
        "deny ECS@2015-01-01 RunInstances\n",
        "1:10",
        "ECS has no API version 2015-01-01",
    ),
    Bad(
        "version-given-twice",
        "deny service=ECS@2014-05-26 version=2014-05-26 op=RunInstances\n",
        "1:37",
        "the API version is given twice",
    ),
    Bad(
        "version-on-every-service",
        "deny *@2014-05-26 RunInstances\n",
        "1:8",
        "an API version needs one named service",
    ),
    # conditions
    Bad(
        "bad-cidr",
        "deny ECS RunInstances when source_ip in [10.0.0.300/8]\n",
        "1:42",
        "`10.0.0.300/8` is not a valid CIDR block",
    ),
    Bad(
        "cidr-host-bits",
        "deny ECS RunInstances when source_ip in [10.0.0.1/8]\n",
        "1:42",
        "did you mean 10.0.0.0/8?",
    ),
    Bad(
        "bad-time",
        "deny ECS RunInstances when time after 2026-13-01T00:00:00Z\n",
        "1:39",
        "is not a valid time",
    ),
    Bad(
        "time-without-clock",
        "deny ECS RunInstances when time after 2026-12-01\n",
        "1:39",
        "is not a valid time",
    ),
    Bad(
        "time-without-offset",
        "deny ECS RunInstances when time after 2026-12-01T00:00:00\n",
        "1:39",
        "has no UTC offset",
    ),
    Bad(
        "unknown-key-near-miss",
        "deny ECS RunInstances when sourceip in [10.0.0.0/8]\n",
        "1:28",
        "did you mean source_ip?",
    ),
    Bad(
        "operator-wrong-for-key",
        "deny ECS RunInstances when mfa in [true]\n",
        "1:32",
        "`mfa` is a bool key and does not take `in`",
    ),
    Bad("bad-bool", "deny ECS RunInstances when mfa = yes\n", "1:34", "`yes` is not a boolean"),
    Bad(
        "key-twice-in-one-case",
        "deny ECS RunInstances when mfa = true and mfa = false\n",
        "1:1",
        "twice in one case",
    ),
    Bad(
        "empty-quoted-value",
        'deny ECS RunInstances when vpc in [""]\n',
        "1:36",
        "empty or unprintable value",
    ),
    # files
    Bad("empty-file", "", "1:1", "no rules in this file"),
    Bad("only-comments", "# nothing here\n\n", "1:1", "no rules in this file"),
    Bad(
        "binary-garbage", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\x00", "1:1", "file is not UTF-8 text"
    ),
    Bad("nul-byte", b"deny ECS RunInstances\x00\n", "1:22", "file contains a NUL byte"),
    Bad("one-mb-line-name", "deny ECS " + "A" * MB + "\n", "1:10", "error: operation `AAAA"),
    Bad("one-mb-line-junk", "deny ECS RunInstances " + "$" * MB + "\n", "1:23", "unexpected `$$"),
    Bad("missing-file", None, "", "no such file"),
    # JSON injection attempts through names
    Bad("inject-json-in-operation", 'deny ECS RunInstances","ecs:*\n', "1:22", 'unexpected `","`'),
    Bad(
        "inject-json-in-header",
        'policy a"b\ndeny ECS RunInstances\n',
        "1:9",
        'unexpected character `"`',
    ),
    Bad(
        "inject-json-in-file-name",
        "deny ECS RunInstances\n",
        "1:1",
        "is not a valid RAM policy name",
        filename='x",y.rules',
    ),
]


def _write(case: Bad, root: Path) -> Path:
    path = root / case.filename
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    elif isinstance(case.content, str):
        path.write_text(case.content, encoding="utf-8")
    return path


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]] | None:
    if not directory.exists():
        return None
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


@pytest.fixture(params=["no-out-dir", "empty-out-dir", "older-output"])
def out_dir(request, tmp_path, run_cli) -> Path:
    """The output directory as a bad compile finds it (and must leave it)."""
    out = tmp_path / "out"
    if request.param == "empty-out-dir":
        out.mkdir()
    elif request.param == "older-output":
        old = tmp_path / "old"
        old.mkdir()
        # Same policy name as the bad file's stem: a successful compile would overwrite it.
        (old / "bad.rules").write_text("deny ECS RunInstances\n", encoding="utf-8")
        assert run_cli("compile", old / "bad.rules", "--out", out).exit_code == 0
        # ... and would remove this one, which it no longer produces.
        (out / "bad.2.json").write_text("{}\n", encoding="utf-8")
    return out


def _prefix(path: Path, where: str) -> str:
    return f"{path}:{where}: error: " if where else f"{path}: error: "


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_input_compile(case, tmp_path, out_dir, run_cli):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    path = _write(case, src_dir)
    before = _snapshot(out_dir)
    result = run_cli("compile", path, "--out", out_dir)
    assert result.exit_code == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(_prefix(path, case.where)), first[:200]
    assert case.fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr) < 4000  # a 1 MB line is not echoed back whole
    assert _snapshot(out_dir) == before


def test_table_is_large_enough():
    assert len(BAD) >= 25
    assert len({c.id for c in BAD}) == len(BAD)


@pytest.mark.parametrize(
    "case_id",
    ["binary-garbage", "one-mb-line-name", "missing-file", "unterminated-bracket"],
)
def test_bad_input_end_to_end_has_no_traceback(case_id, tmp_path, run_ramguard):
    case = next(c for c in BAD if c.id == case_id)
    path = _write(case, tmp_path)
    out = tmp_path / "out"
    proc = run_ramguard("compile", path, "--out", out)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(_prefix(path, case.where))
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "case", BAD[:5] + [b for b in BAD if b.id == "missing-file"], ids=lambda c: c.id
)
def test_bad_rules_for_decide(case, tmp_path, run_cli):
    path = _write(case, tmp_path)
    result = run_cli("decide", "--rules", path, "ecs:RunInstances")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(_prefix(path, case.where))


def test_one_bad_file_writes_nothing_for_the_good_ones(tmp_path, run_cli):
    (tmp_path / "a-good.rules").write_text("deny ECS RunInstances\n", encoding="utf-8")
    (tmp_path / "b-bad.rules").write_text("deny ECS RunInstanse\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("compile", tmp_path, "--out", out)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'b-bad.rules'}:1:10: error: ")
    assert not out.exists()


def test_every_error_is_reported_in_order_with_a_count(tmp_path, run_cli):
    path = tmp_path / "many.rules"
    path.write_text(
        "deny ECS RunInstanse\ndeny ECZ RunInstances\ndeny ECS RunInstances when mfa = yes\n",
        encoding="utf-8",
    )
    result = run_cli("compile", path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    starts = [ln for ln in result.stderr.splitlines() if ln.startswith(str(path))]
    assert [ln.split(": error: ")[0] for ln in starts] == [
        f"{path}:1:10",
        f"{path}:2:6",
        f"{path}:3:34",
    ]
    assert result.stderr.rstrip().endswith("ramguard: 3 errors")


def test_duplicate_policy_names_across_files(tmp_path, run_cli):
    (tmp_path / "a.rules").write_text("policy same\ndeny ECS RunInstances\n", encoding="utf-8")
    (tmp_path / "b.rules").write_text("policy same\ndeny RAM *\n", encoding="utf-8")
    result = run_cli("compile", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'b.rules'}:1:8: error: policy `same`")
    assert not (tmp_path / "out").exists()


def test_directory_without_rules(tmp_path, run_cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("compile", empty, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{empty}: error: no rules files found")


def test_snippet_caret_points_at_the_error(tmp_path, run_cli):
    path = tmp_path / "c.rules"
    path.write_text("deny ECS RunInstanse\n", encoding="utf-8")
    result = run_cli("compile", path, "--out", tmp_path / "out")
    assert result.stderr.splitlines()[1:4] == [
        "   1 | deny ECS RunInstanse",
        "     |          ^~~~~~~~~~~",
        "  help: did you mean RunInstances?",
    ]


# --- bad usage: exit 2 ------------------------------------------------------------------------

USAGE = [
    ("compile-unknown-option", ["compile", "--frobnicate", "x.rules"], "No such option"),
    ("compile-no-paths", ["compile"], "Missing argument"),
    ("decide-missing-rules", ["decide", "ecs:RunInstances"], "Missing option '--rules'"),
    (
        "decide-action-without-colon",
        ["decide", "--rules", "{good}", "RunInstances"],
        "is not an action",
    ),
    (
        "decide-context-without-equals",
        ["decide", "--rules", "{good}", "ecs:RunInstances", "-c", "source_ip"],
        "expected KEY=VALUE",
    ),
    ("unknown-verb", ["frobnicate"], "No such command"),
]


@pytest.mark.parametrize(("args", "fragment"), [u[1:] for u in USAGE], ids=[u[0] for u in USAGE])
def test_bad_usage_exits_2(args, fragment, tmp_path, run_cli):
    good = tmp_path / "good.rules"
    good.write_text("deny ECS RunInstances\n", encoding="utf-8")
    result = run_cli(*[a.replace("{good}", str(good)) for a in args])
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert result.stdout == ""


def test_decide_with_good_rules_prints_json(tmp_path, run_cli):
    import json

    good = tmp_path / "good.rules"
    good.write_text("deny ECS RunInstances when source_ip not in [10.0.0.0/8]\n", encoding="utf-8")
    result = run_cli("decide", "--rules", good, "ecs:RunInstances", "-c", "source_ip=1.2.3.4")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "action": "ecs:RunInstances",
        "decision": "deny",
        "matched": [
            {
                "policy": "good",
                "file": str(good),
                "line": 1,
                "rule": "deny ECS RunInstances when source_ip not in [10.0.0.0/8]",
            }
        ],
    }
    inside = run_cli("decide", "--rules", good, "ecs:RunInstances", "-c", "acs:SourceIp=10.0.0.9")
    assert json.loads(inside.stdout)["decision"] == "allow"
