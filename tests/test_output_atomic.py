"""The written set changes at once (issue 16 F5): a compile killed at any point leaves the old
set or, once recovered, the new one — never a mix — and ``--check`` says so meanwhile."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler.emit import output
from compiler.emit.output import MANIFEST, apply_output, plan_output, roll_forward


@dataclass(frozen=True)
class Doc:
    policy: str
    filename: str
    text: str


OLD = [Doc("p", f"p.{n}.json", f"old {n}\n") for n in range(1, 9)] + [Doc("q", "q.json", "q\n")]
NEW = [Doc("p", f"p.{n}.json", f"new {n}\n") for n in range(1, 6)] + [Doc("r", "r.json", "r\n")]


def _visible(directory: Path) -> dict[str, str]:
    return {
        p.name: p.read_text()
        for p in directory.iterdir()
        if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp")
    }


def _expected(docs) -> dict[str, str]:
    return {d.filename: d.text for d in docs}


def _write(docs, directory: Path) -> None:
    roll_forward(directory)
    apply_output(plan_output(docs, directory))


def _steps(tmp_path: Path) -> list[str]:
    seen: list[str] = []
    directory = tmp_path / "probe"
    _write(OLD, directory)
    old_hook = output.fault_hook
    output.fault_hook = seen.append
    try:
        _write(NEW, directory)
    finally:
        output.fault_hook = old_hook
    return seen


def _killed_at(step: str, directory: Path) -> int:
    """Run the compile in a forked child that dies (no cleanup, like kill -9) at ``step``."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        output.fault_hook = lambda s: os._exit(9) if s == step else None
        try:
            _write(NEW, directory)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_compile_killed_at_any_step_leaves_the_old_set_or_the_new_one(tmp_path):
    steps = _steps(tmp_path)
    assert "commit" in steps and sum(s.startswith("move:") for s in steps) >= 6
    old, new = _expected(OLD), _expected(NEW)
    for k, step in enumerate(steps):
        directory = tmp_path / f"run{k}"
        _write(OLD, directory)
        assert _killed_at(step, directory) == 9, step
        committed = (directory / output.STAGE).exists()
        visible = _visible(directory)
        if not committed:
            assert visible == old, step  # nothing moved before the commit point
        # Until recovered, --check says stale whichever set it is checked against.
        assert plan_output(NEW, directory).stale and plan_output(OLD, directory).stale, step
        roll_forward(directory)
        after = _visible(directory)
        assert after == (new if committed else old), step
        assert plan_output(NEW if committed else OLD, directory).stale is False, step
        _write(NEW, directory)
        assert _visible(directory) == new and not plan_output(NEW, directory).stale, step


def test_stale_temporary_files_are_stale_for_check_and_removed(run_cli, tmp_path):
    rules = tmp_path / "p.rules"
    rules.write_text("deny ECS RunInstances\n")
    out = tmp_path / "out"
    assert run_cli("compile", rules, "--out", out).exit_code == 0
    leftover = out / ".p.json.k3j4h5.tmp"
    leftover.write_text("half")
    stranger = out / ".notes.abc.tmp"  # not a name ramguard owns: never touched
    stranger.write_text("mine")
    result = run_cli("compile", rules, "--out", out, "--check")
    assert result.exit_code == 1
    assert "interrupted compile's temporary file" in result.stderr
    assert run_cli("compile", rules, "--out", out).exit_code == 0
    assert not leftover.exists() and stranger.exists()
    assert run_cli("compile", rules, "--out", out, "--check").exit_code == 0


def test_check_names_a_committed_stage_and_compile_finishes_it(run_cli, tmp_path):
    rules = tmp_path / "p.rules"
    rules.write_text("deny ECS RunInstances\n")
    out = tmp_path / "out"
    assert run_cli("compile", rules, "--out", out).exit_code == 0
    rules.write_text("deny ECS RunInstances, DeleteInstance\n")
    step = "move:p.json"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        output.fault_hook = lambda s: os._exit(9) if s == step else None
        try:
            run_cli("compile", rules, "--out", out)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert "DeleteInstance" not in (out / "p.json").read_text()
    result = run_cli("compile", rules, "--out", out, "--check")
    assert result.exit_code == 1 and "interrupted compile's files" in result.stderr
    assert run_cli("compile", rules, "--out", out).exit_code == 0
    assert "DeleteInstance" in (out / "p.json").read_text()
    assert not (out / output.STAGE).exists()


@pytest.mark.parametrize("name", ["../escape", "a/b"])
def test_a_tampered_stage_plan_cannot_reach_outside_the_directory(tmp_path, name):
    out = tmp_path / "out"
    stage = out / output.STAGE
    stage.mkdir(parents=True)
    (tmp_path / "escape").write_text("keep")
    (stage / ".plan.json").write_text(json.dumps({"write": [], "remove": [name]}))
    roll_forward(out)
    assert (tmp_path / "escape").read_text() == "keep"


def test_a_target_that_is_a_directory_changes_nothing(run_cli, tmp_path):
    # b.json is a directory: the compile fails before the set is committed, so a.json is not
    # written on its own and no stage is left for every later compile to trip over.
    (tmp_path / "a.rules").write_text("policy a\ndeny ECS RunInstances\n")
    (tmp_path / "b.rules").write_text("policy b\ndeny ECS RunCommand\n")
    out = tmp_path / "out"
    (out / "b.json").mkdir(parents=True)
    result = run_cli("compile", tmp_path / "a.rules", tmp_path / "b.rules", "--out", out)
    assert result.exit_code == 1
    assert f"{out / 'b.json'}: error: is a directory" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b.json"]
    (out / "b.json").rmdir()
    assert (
        run_cli("compile", tmp_path / "a.rules", tmp_path / "b.rules", "--out", out).exit_code == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.json", "b.json"]
