"""CLI conventions (issue 16): --format json on the verbs that report, -q everywhere a verb
prints a summary or notes, traces generate outside the repository."""

from __future__ import annotations

import json
import os
from pathlib import Path

SEED = Path("policies/leaked-accesskey-protection.rules").absolute()
IMPORT = Path("tests/data/import/ims-ram.json").absolute()


def test_compile_json_says_what_it_wrote_and_check_what_is_stale(run_cli, tmp_path):
    out = tmp_path / "out"
    first = run_cli("compile", SEED, "--out", out, "--format", "json")
    assert (first.exit_code, first.stderr) == (0, "")
    shown = json.loads(first.stdout)
    assert shown["written"] == [str(out / "leaked-accesskey-protection.json")]
    assert (shown["rules"], shown["policies"], shown["documents"]) == (10, 1, 1)
    assert shown["sizes"][0]["limit"] == 6144 and shown["warnings"] == []
    fresh = json.loads(run_cli("compile", SEED, "--out", out, "--check", "--format", "json").stdout)
    assert (fresh["up_to_date"], fresh["stale"]) == (True, [])
    (out / "leaked-accesskey-protection.json").write_text("{}")
    stale = run_cli("compile", SEED, "--out", out, "--check", "--format", "json")
    assert stale.exit_code == 1
    assert json.loads(stale.stdout)["stale"] == [str(out / "leaked-accesskey-protection.json")]


def test_compile_json_carries_warnings_instead_of_stderr(run_cli, tmp_path):
    rules = tmp_path / "v.rules"
    rules.write_text("deny ECD@2020-09-30 StartDesktops\n")
    result = run_cli("compile", rules, "--out", tmp_path / "o", "--format", "json")
    assert result.stderr == ""
    assert [w["code"] for w in json.loads(result.stdout)["warnings"]] == ["W0201"]


def test_import_json_holds_the_rules_and_notes(run_cli, tmp_path):
    result = run_cli("import", IMPORT, "--format", "json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["policy"] == "ims-ram" and shown["out"] is None
    assert shown["rules"].startswith("# Imported by `ramguard import`")
    assert result.stderr == ""
    written = run_cli("import", IMPORT, "--format", "json", "--out", tmp_path / "r.rules")
    assert json.loads(written.stdout)["rules"] is None
    assert (tmp_path / "r.rules").read_text() == shown["rules"]


def test_quiet_silences_notes_and_summaries(run_cli, tmp_path):
    decide = run_cli("decide", "--rules", SEED, "ecs:RunInstancez", "-q")
    assert (decide.exit_code, decide.stderr) == (0, "")
    loud = run_cli("decide", "--rules", SEED, "ecs:RunInstancez")
    assert "did you mean" in loud.stderr
    trace = run_cli("traces", "generate", "--events", "5", "--out", tmp_path / "t.jsonl", "-q")
    assert (trace.exit_code, trace.stderr) == (0, "")
    tests = run_cli("test", "policies", "-q")
    assert (tests.exit_code, tests.stdout) == (0, "")


def test_traces_generate_works_outside_the_repository(run_cli, tmp_path):
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = run_cli("traces", "generate", "--events", "20", "--out", "t.jsonl")
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.stderr
    assert "no call is blocked" in result.stderr
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 20
