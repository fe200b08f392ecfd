"""Every verb on the seed policy works, and on a broken copy of it fails the same clean way:
exit 1, the first error at its FILE:LINE:COL, no traceback."""

from __future__ import annotations

import pytest

SEED = "policies"
BROKEN = "tests/data/broken"
SAMPLE = "tests/data/sample-trace.jsonl.gz"
FIRST_ERROR = (
    "tests/data/broken/leaked-accesskey-protection.rules:15:3: error: "
    "unknown operation `RunInstance` for ECS"
)

VERBS = {
    "check": lambda rules: ["check", rules],
    "test": lambda rules: ["test", rules],
    "decide": lambda rules: ["decide", "--rules", rules, "ecs:RunInstances"],
    "explain": lambda rules: ["explain", "--rules", rules, "ecs:RunInstances"],
    "graph": lambda rules: ["graph", "--rules", rules],
    "diff": lambda rules: ["diff", SEED, rules],
    "simulate": lambda rules: ["simulate", "--rules", rules, "--trace", SAMPLE, "-q"],
    "compile": lambda rules: ["compile", rules, "--out", "generated", "--check"],
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_verb_works_on_the_seed(verb, run_cli, repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = run_cli(*VERBS[verb](SEED))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_verb_fails_cleanly_on_a_broken_copy(verb, run_cli, repo, monkeypatch):
    monkeypatch.chdir(repo)
    result = run_cli(*VERBS[verb](BROKEN))
    assert result.exit_code == 1
    assert FIRST_ERROR in result.stderr
    assert "Traceback" not in result.stderr


OUTPUT_OPTIONS = {
    "simulate --report": lambda out: [
        "simulate",
        "--rules",
        SEED,
        "--trace",
        SAMPLE,
        "-q",
        "--report",
        out,
    ],
    "traces generate --out": lambda out: ["traces", "generate", "--events", "5", "--out", out],
    "import --out": lambda out: [
        "import",
        "generated/leaked-accesskey-protection.json",
        "--out",
        out,
    ],
    "graph --out": lambda out: ["graph", "--rules", SEED, "--out", out],
    "test --junit": lambda out: ["test", SEED, "--junit", out],
    "compile --out": lambda out: ["compile", SEED, "--out", out],
}


@pytest.mark.parametrize("option", sorted(OUTPUT_OPTIONS))
def test_an_output_path_that_cannot_be_written_is_a_clean_error(
    option, run_cli, repo, monkeypatch, tmp_path
):
    monkeypatch.chdir(repo)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    result = run_cli(*OUTPUT_OPTIONS[option](str(blocker / "out")))
    assert result.exit_code == 1
    assert f"{blocker}" in result.stderr and ": error: " in result.stderr
    assert "Traceback" not in result.stderr
    assert blocker.read_text(encoding="utf-8") == "not a directory"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["sourceip=1.2.3.4"], "unknown key `sourceip`: did you mean source_ip?"),
        (["source_ip=1.2.3.4", "acs:SourceIp=1.2.3.5"], "`acs:SourceIp` given twice"),
        (["mfa"], "`mfa`: expected KEY=VALUE"),
    ],
    ids=["typo", "two-spellings", "no-value"],
)
def test_a_bad_context_is_a_usage_error(pairs, message, run_cli, repo, monkeypatch):
    monkeypatch.chdir(repo)
    args = [arg for pair in pairs for arg in ("-c", pair)]
    result = run_cli("decide", "--rules", SEED, "ecs:RunCommand", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_output_path_that_is_a_directory_is_named_in_the_error(run_cli, tmp_path):
    # The error named the temporary file the rename failed from (`.out.k3j4.tmp`).
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("traces", "generate", "--events", "5", "--out", out, "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{out}: error: is a directory")
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and not any(out.iterdir())
