"""Messages that count say `1 document`, `2 documents`: the noun follows the number, as a
reader expects (`compile` printed "1 documents", `prove` "1 rules", issue 9/12/13 review)."""

from __future__ import annotations

import pytest

from compiler.language.diagnostics import counted


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ((0, "rule"), "0 rules"),
        ((1, "rule"), "1 rule"),
        ((2, "policy", "policies"), "2 policies"),
        ((1, "policy", "policies"), "1 policy"),
        ((1, "match", "matches"), "1 match"),
        ((12_345, "event"), "12,345 events"),
    ],
)
def test_counted(args, want):
    assert counted(*args) == want
    assert counted(10_000, "rule", grouped=False) == "10000 rules"


def test_compile_and_check_of_one_rule(run_cli, tmp_path):
    rules = tmp_path / "g.rules"
    rules.write_text("deny ECS DeleteInstance\n")
    out = tmp_path / "out"
    result = run_cli("compile", rules, "--out", out)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        f"compiled 1 rule in 1 policy → 1 document in {out} (1 written, 0 unchanged, 0 removed)"
    )
    check = run_cli("compile", rules, "--out", out, "--check")
    assert check.stdout.splitlines()[-1] == f"{out}: up to date (1 document)"
    two = tmp_path / "h.rules"
    two.write_text("policy h\ndeny ECS RunInstances\ndeny RAM DeleteUser\n")
    both = run_cli("compile", rules, two, "--out", out)
    assert "compiled 3 rules in 2 policies → 2 documents in" in both.stdout


def test_prove_explain_and_catalog_search_of_one(run_cli, tmp_path):
    rules = tmp_path / "g.rules"
    rules.write_text("deny ECS DeleteInstance\n")
    proved = run_cli("prove", "--rules", rules)
    assert proved.stdout == "equivalent (proved): 1 rule and the JSON deny the same requests\n"
    explained = run_cli("explain", "--rules", rules, "ecs:DeleteInstance")
    assert "1 of 1 rule considered (rules whose service could apply)" in explained.stdout
    found = run_cli("catalog", "search", "DeleteTrail")
    assert (found.stdout, found.stderr) == ("Actiontrail DeleteTrail\n", "1 match\n")


def test_traces_and_simulate_notes_of_one(run_cli, tmp_path):
    trace = tmp_path / "d" / "t.jsonl"
    trace.parent.mkdir()
    made = run_cli("traces", "generate", "--events", "1", "--out", trace)
    assert made.stderr.endswith(f"wrote 1 event to {trace}\n")
    (trace.parent / "notes.txt").write_text("not a trace\n")
    rules = tmp_path / "g.rules"
    rules.write_text("deny ECS DeleteInstance\n")
    result = run_cli("simulate", "--rules", rules, "--trace", trace.parent)
    assert "note: 1 file without a trace suffix skipped" in result.stderr
