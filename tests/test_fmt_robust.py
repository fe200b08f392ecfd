"""fmt under bad input (issue 16 F10, F12, item 8) and its conventions (stdin, --format json)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import compiler.language.format as fmt_module
from compiler.language.format import format_source

# ---- F12: fmt refuses what compile refuses --------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'\xef\xbb\xbf\xef\xbb\xbfpolicy p "x"\ndeny ECS RunInstances\n',
        b'policy p "x"\r\r\ndeny ECS  RunInstances\r\r\n',
        b"deny ECS RunInstances\rdeny * *\n",
    ],
    ids=["two-boms", "cr-cr-lf", "lone-cr"],
)
def test_fmt_refuses_what_compile_refuses(run_cli, tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "a.rules"
    path.write_bytes(raw)
    compiled = run_cli("compile", path, "--out", tmp_path / "out")
    assert compiled.exit_code == 1
    formatted = run_cli("fmt", path)
    assert formatted.exit_code == 1
    assert f"{path}:1:" in formatted.stderr and ": error: " in formatted.stderr
    assert path.read_bytes() == raw  # left as it was


@pytest.mark.parametrize(
    "breaker, name, col",
    [("\x0c", "a form feed (U+000C)", 7), ("\u0085", "a next-line character (U+0085)", 7)],
    ids=["form-feed", "nel"],
)
def test_fmt_diff_refuses_line_breaks_other_than_newline(
    tmp_path: Path, run_cli, breaker: str, name: str, col: int
) -> None:
    # An editor may draw a form feed or U+0085 as a line break the parser does not see; such a
    # file is refused (E0001), never diffed into a layout that shows it as two lines.
    text = f'policy p "x"\n# page{breaker}deny * *\ndeny   ECS RunInstances\n'
    path = tmp_path / "a.rules"
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    result = run_cli("fmt", "--diff", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:2:{col}: error: file contains {name}" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


# ---- F10: linear in comments -----------------------------------------------------------------


class _CountingList(list):
    yielded = 0

    def __iter__(self):
        for item in super().__iter__():
            _CountingList.yielded += 1
            yield item


def test_fmt_visits_each_comment_a_bounded_number_of_times(monkeypatch) -> None:
    original = fmt_module._Source.__init__

    def counting_init(self, sf, text):
        original(self, sf, text)
        self.comments = _CountingList(self.comments)

    monkeypatch.setattr(fmt_module._Source, "__init__", counting_init)
    rules = 1000
    text = "".join(
        f"# rule {n}\ndeny ECS [RunInstances,  # why\n  StartInstance]\n" for n in range(rules)
    )
    _CountingList.yielded = 0
    out = format_source("t.rules", text)
    assert out.count("# why") == rules
    # Two comments a rule; the quadratic version visited every comment for every list.
    assert _CountingList.yielded <= 4 * 2 * rules


# ---- item 8: empty directory, typo -----------------------------------------------------------


def test_fmt_on_an_empty_directory_or_a_typo_fails_like_compile(run_cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("fmt", empty)
    assert result.exit_code == 1
    assert f"{empty}: error: no rules files found" in result.stderr
    typo = run_cli("fmt", tmp_path / "*.rule")
    assert typo.exit_code == 1
    assert "no such file" in typo.stderr


# ---- conventions -----------------------------------------------------------------------------


def test_fmt_dash_reads_stdin_and_writes_stdout(run_ramguard, tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(Path(".venv/bin/ramguard").resolve()), "fmt", "-"],
        input=b"deny  ECS RunInstances\r\n",
        capture_output=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"deny ECS RunInstances\r\n"
    bad = subprocess.run(
        [str(Path(".venv/bin/ramguard").resolve()), "fmt", "-"],
        input=b"deny ECS [A,\n",
        capture_output=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert bad.returncode == 1 and bad.stdout == b""
    assert b"-:1:10: error: unclosed `[`" in bad.stderr


def test_fmt_json_and_quiet(run_cli, tmp_path: Path) -> None:
    messy = tmp_path / "m.rules"
    messy.write_text("deny  ECS RunInstances\n", encoding="utf-8")
    tidy = tmp_path / "t.rules"
    tidy.write_text("deny ECS RunInstances\n", encoding="utf-8")
    result = run_cli("fmt", "--check", "--format", "json", "-q", tmp_path)
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["changed"] == [str(messy)] and data["unchanged"] == [str(tidy)]
    assert data["written"] is False
    assert result.stderr == ""
