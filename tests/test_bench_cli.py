"""``ramguard bench``: the engines and ratios for a user's own rules and trace."""

from __future__ import annotations

import json

import pytest

from compiler import compile_rules
from compiler.catalog import default_catalog
from compiler.replay import generate_events, write_trace


@pytest.fixture(scope="module")
def trace(tmp_path_factory, repo):
    policy = compile_rules([repo / "policies" / "leaked-accesskey-protection.rules"])
    path = tmp_path_factory.mktemp("bench") / "trace.jsonl"
    write_trace(path, generate_events(300, 1, default_catalog(), lambda a: policy.decide(a).denied))
    return path


def test_json_report_has_every_engine_and_ratio(run_cli, repo, trace):
    result = run_cli(
        "bench",
        "--rules",
        repo / "policies" / "leaked-accesskey-protection.rules",
        "--trace",
        trace,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["requests"] + data["skipped"] == 300
    assert sorted(data["engines"]) == ["cedar", "floor", "ram", "trie"]
    for engine in data["engines"].values():
        assert engine["decisions"] == data["requests"]
        assert engine["decisions_per_second"] > 0
        assert 0 < engine["p50_ns"] <= engine["p99_ns"]
    names = [r["name"] for r in data["ratios"]]
    assert names == [
        "trie vs bare dict.get",
        "RAM evaluator vs trie",
        "Cedar vs trie",
        "replay vs decode (speed)",
    ]
    assert all(r["measured"] > 0 and r["met"] in (True, False) for r in data["ratios"])


def test_text_report_prints_both_tables(run_cli, repo, trace):
    result = run_cli(
        "bench",
        "--rules",
        repo / "policies" / "leaked-accesskey-protection.rules",
        "--trace",
        trace,
        "--no-cedar",
    )
    assert result.exit_code == 0, result.stderr
    assert "decisions/s" in result.stdout
    assert "RAM evaluator vs trie" in result.stdout
    assert "Cedar" not in result.stdout


def test_untranslatable_rules_leave_cedar_out_with_a_reason(run_cli, tmp_path, trace):
    rules = tmp_path / "q.rules"
    rules.write_text("deny ECS Delete?nstance\n")
    result = run_cli("bench", "--rules", rules, "--trace", trace, "--format", "json")
    assert result.exit_code == 0, result.stderr
    cedar = json.loads(result.stdout)["engines"]["cedar"]
    assert cedar["decisions"] == 0
    assert "cannot express" in cedar["note"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{path}: error: no such file"),
        ("", "{path}: error: no decidable events: the trace holds no events"),
        (
            "not json\n",
            "{path}: error: no decidable events: 1 skipped (first malformed at {path}:1:1: "
            "invalid JSON",
        ),
    ],
    ids=["missing-trace", "empty-trace", "only-malformed-lines"],
)
def test_bad_trace_is_an_error_not_a_traceback(run_cli, repo, tmp_path, content, message):
    path = tmp_path / "trace.jsonl"
    if content is not None:
        path.write_text(content)
    result = run_cli(
        "bench", "--rules", repo / "policies" / "leaked-accesskey-protection.rules", "--trace", path
    )
    assert result.exit_code == 1
    # The file and, for lines that are no events, the first of them (as simulate says).
    assert result.stderr.startswith(message.format(path=path))
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("met", "code"), [(True, 0), (False, 3)])
def test_fail_on_miss_exits_3_when_a_target_is_missed(run_cli, repo, trace, monkeypatch, met, code):
    import compiler.cli.cmd_bench as cmd
    from compiler.replay.bench import Row

    # The measured values vary by machine; the exit code must follow the rows' verdicts.
    measured = 2.0 if met else 0.5
    monkeypatch.setattr(
        cmd, "ratio_rows", lambda results: [Row("RAM evaluator vs trie", measured, 1.0)]
    )
    monkeypatch.setattr(cmd, "replay_row", lambda *a: Row("replay vs decode", 1.0, 0.5))
    args = (
        "bench",
        "--rules",
        repo / "policies" / "leaked-accesskey-protection.rules",
        "--trace",
        trace,
        "--no-cedar",
    )
    plain = run_cli(*args)
    assert plain.exit_code == 0, plain.stderr  # without the flag bench only measures
    gated = run_cli(*args, "--fail-on-miss")
    assert gated.exit_code == code, gated.stderr
    assert ("RAM evaluator vs trie" in gated.stderr) is (not met)


def test_help_example_names_a_file_that_exists(run_cli, repo):
    help_text = run_cli("bench", "--help").stdout
    example = help_text.split("Example:")[1].split("--trace ")[1].split()[0]
    assert (repo / example).is_file(), example
