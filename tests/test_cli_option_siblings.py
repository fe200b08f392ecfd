"""Options that were taken and then changed nothing, where a sibling option in the same case
is refused as bad usage (simulate's `--workers` without `--engine dask`, `--fail-on-new-deny`
without a baseline): each is now exit 2 saying why, and nothing is run or written.

- `simulate --since T --until U` with T not before U (`--until` is exclusive): every file was
  read to end in "no event could be decided: all N events are outside --since/--until";
- `traces generate --accounts/--days/--per-file` without `--layout actiontrail-oss`, and
  `--format` with it (delivery files are always gzip'd JSON arrays);
- `explain --all --account ID`: the chain's explanation ignored `--all`."""

from __future__ import annotations

import gzip
import json

import pytest


@pytest.fixture
def work(tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.rules").write_text("policy p\ndeny ECS RunInstances\n")
    made = run_cli(
        "traces", "generate", "--events", "20", "--rules", "p.rules", "--out", "t.jsonl", "-q"
    )
    assert made.exit_code == 0, made.stderr
    return tmp_path


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-12-02", "2026-12-01"),
        ("2026-12-02", "2026-12-02"),  # --until is exclusive: the same instant is no window
        ("2026-12-02T08:00:00+08:00", "2026-12-02"),  # the same instant in two spellings
    ],
)
def test_an_empty_window_is_a_usage_error(run_cli, work, since, until):
    args = ("simulate", "--rules", "p.rules", "--trace", "t.jsonl", "--report", "r.json")
    result = run_cli(*args, "--since", since, "--until", until)
    assert result.exit_code == 2, result.stderr
    assert f"--since {since} is not before --until {until}" in result.stderr
    assert result.stdout == "" and not (work / "r.json").exists()


def test_a_window_of_one_microsecond_is_taken(run_cli, work):
    args = ("simulate", "--rules", "p.rules", "--trace", "t.jsonl", "-q")
    result = run_cli(
        *args, "--since", "2026-12-02T00:00:00Z", "--until", "2026-12-02T00:00:00.000001Z"
    )
    assert result.exit_code != 2, result.stderr


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (("--accounts", "3"), "--accounts"),
        (("--days", "2", "--per-file", "10"), "--days, --per-file"),
        (("--layout", "file", "--per-file", "1"), "--per-file"),
    ],
)
def test_delivery_tree_options_need_the_delivery_layout(run_cli, work, extra, named):
    result = run_cli("traces", "generate", "--events", "5", "--out", "g.jsonl", *extra)
    assert result.exit_code == 2, result.stderr
    assert f"{named}: for --layout actiontrail-oss only" in result.stderr
    assert not (work / "g.jsonl").exists()


def test_format_is_not_for_the_delivery_layout(run_cli, work):
    args = ("traces", "generate", "--events", "5", "--layout", "actiontrail-oss", "--out", "tree")
    refused = run_cli(*args, "--format", "jsonl")
    assert refused.exit_code == 2
    assert "--layout actiontrail-oss writes gzip'd JSON arrays" in refused.stderr
    assert not (work / "tree").exists()
    taken = run_cli(*args, "--days", "2", "-q")
    assert taken.exit_code == 0, taken.stderr
    files = list((work / "tree").rglob("*.gz"))
    # What the refusal says: each delivery file is a gzip'd JSON array.
    assert files and all(json.loads(gzip.decompress(f.read_bytes())) for f in files)
    assert all(isinstance(json.loads(gzip.decompress(f.read_bytes())), list) for f in files)


def test_explain_all_with_an_account_is_a_usage_error(run_cli, repo):
    args = ("explain", "--rules", repo / "examples" / "org-allowlist", "fc:CreateFunction")
    chained = ("--account", "1111111111111111")
    assert run_cli(*args, *chained).exit_code == 0
    result = run_cli(*args, *chained, "--all")
    assert result.exit_code == 2
    assert "--all is for a request without --account" in result.stderr
