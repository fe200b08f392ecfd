"""Issue 16 item 10, the small ones: symlinked directories are followed as files are; two
policies whose names differ only in case are an error (their files collide on macOS and
Windows); compile --out's help says what it removes."""

from __future__ import annotations

import os

import pytest

from compiler import compile_rules, compile_sources
from compiler.language.diagnostics import CompileError
from compiler.language.sources import expand_paths


def test_symlinked_directories_are_followed_once(tmp_path):
    real = tmp_path / "real" / "sub"
    real.mkdir(parents=True)
    (real / "a.rules").write_text("deny ECS RunInstances\n")
    top = tmp_path / "top"
    top.mkdir()
    (top / "b.rules").write_text("deny ECS StartInstance\n")
    os.symlink(tmp_path / "real", top / "link")
    os.symlink(top, top / "loop")  # a cycle ends
    assert [p.relative_to(top).as_posix() for p in expand_paths([top])] == [
        "b.rules",
        "link/sub/a.rules",
    ]
    assert len(compile_rules([top]).policies) == 2


def test_policy_names_differing_only_in_case_are_an_error():
    with pytest.raises(CompileError) as caught:
        compile_sources(
            [
                ("a.rules", "policy Prod\ndeny ECS RunInstances\n"),
                ("b.rules", "policy prod\ndeny ECS StartInstance\n"),
            ]
        )
    (diag,) = caught.value.errors
    assert (diag.code, diag.span.file, diag.span.line) == ("E0205", "b.rules", 1)
    assert diag.message == "policy `prod` differs from `Prod` in a.rules only in case"


def test_compile_out_help_says_only_its_own_files_are_removed(run_cli):
    text = " ".join(run_cli("compile", "--help").stdout.split())
    assert "listed in its manifest" in text and "no other file is touched" in text
