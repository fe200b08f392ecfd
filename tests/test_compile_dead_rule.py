"""E0110 (a rule that denies nothing) is an error in `compile` as in `check`, drawn with its
caret (issue 16): compile wrote the documents and exited 0, and neither verb showed the rule."""

from __future__ import annotations

from compiler import compile_sources
from compiler.analysis.shadowing import check_dead

DEAD = "deny ECS RunInstances when source_ip in [10.0.0.0/8] and source_ip not in [10.0.0.0/8]\n"
RENDERED = (
    "{f}:2:1: error: rule denies nothing: no request — any action, resource or condition "
    "value — matches it\n"
    "   2 | " + DEAD + "     | ^" + "~" * (len(DEAD) - 2) + "\n"
    "  help: its conditions can never hold together (or its exceptions cover every action); "
    "fix or delete it"
)


def test_compile_refuses_a_rule_that_denies_nothing_and_writes_nothing(run_cli, tmp_path):
    path = tmp_path / "d.rules"
    path.write_text("deny ECS DeleteInstance\n" + DEAD)
    out = tmp_path / "out"
    result = run_cli("compile", path, "--out", out)
    assert result.exit_code == 1
    assert RENDERED.format(f=path) in result.stderr
    assert not out.exists()
    assert run_cli("compile", path, "--out", out, "--check").exit_code == 1


def test_check_draws_the_rule_too(run_cli, tmp_path):
    path = tmp_path / "d.rules"
    path.write_text("deny ECS DeleteInstance\n" + DEAD)
    result = run_cli("check", path)
    assert result.exit_code == 1
    assert RENDERED.replace("matches it\n", "matches it [E0110]\n").format(f=path) in result.stderr


def test_the_dead_check_needs_no_trie_for_rules_without_except():
    policy = compile_sources([("d.rules", "deny ECS DeleteInstance\n" + DEAD)])
    assert [d.span.line for d in check_dead(policy)] == [2]
    assert "trie" not in policy.__dict__  # the cached property was never built


def test_a_dead_rule_with_except_is_refused_too(run_cli, tmp_path):
    # (decided on the trie's statement: `except` rules take the full proof)
    path = tmp_path / "e.rules"
    path.write_text("deny * * except [ecs:*] " + DEAD.split(" ", 3)[3])
    result = run_cli("compile", path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{path}:1:1: error: rule denies nothing" in result.stderr
