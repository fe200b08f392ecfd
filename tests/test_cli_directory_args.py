"""A directory where a file is wanted is an error in the input, exit 1, on every verb and
option (issue 16): `catalog show X --catalog DIR` exited 2 (click's "is a directory") while
`simulate --policy DIR` exited 1 for the same mistake. Exit 2 stays for bad usage."""

from __future__ import annotations

import pytest

SEED = "policies"
TRACE = "tests/data/sample-trace.jsonl.gz"

CASES = [
    ("catalog-show-catalog", ["catalog", "show", "ECS", "--catalog", "{d}"]),
    ("decide-catalog", ["decide", "--rules", SEED, "--catalog", "{d}", "ecs:RunInstances"]),
    ("check-catalog", ["check", SEED, "--catalog", "{d}"]),
    ("prove-policy", ["prove", "--rules", SEED, "--policy", "{d}"]),
    ("simulate-policy", ["simulate", "--rules", SEED, "--policy", "{d}", "--trace", TRACE]),
    ("simulate-report", ["simulate", "--rules", SEED, "--trace", TRACE, "--report", "{d}"]),
    ("test-junit", ["test", SEED, "--junit", "{d}"]),
    ("graph-out", ["graph", "--rules", SEED, "--out", "{d}"]),
    ("catalog-diff", ["catalog", "diff", "{d}", "{d}"]),
]


@pytest.mark.parametrize("args", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_a_directory_for_a_file_exits_1_naming_it(run_cli, repo, tmp_path, monkeypatch, args):
    monkeypatch.chdir(repo)
    result = run_cli(*(a.format(d=tmp_path) for a in args))
    assert result.exit_code == 1, result.stderr
    assert f"{tmp_path}: error: " in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_usage_still_exits_2(run_cli):
    assert run_cli("catalog", "show", "ECS", "--catalog").exit_code == 2
    assert run_cli("catalog", "show", "ECS", "--no-such-option").exit_code == 2
