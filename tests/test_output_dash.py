"""``-`` as an output path. It was written to a file named ``-`` (``simulate --report -``).
Where stdout is free for the output (``graph --out``, ``import --out``, ``traces generate
--out``), ``-`` is stdout; where stdout already carries the verb's result (the summary or
``--format json``), or the path is a directory (``compile --out``), ``-`` is bad usage (exit
2) saying what to write instead, so two formats never share stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RULES = "policy p\ndeny ECS RunInstances\n"


@pytest.fixture
def work(tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.rules").write_text(RULES)
    (tmp_path / "p.tests").write_text("expect deny ecs:RunInstances\n")
    generated = run_cli(
        "traces", "generate", "--events", "40", "--rules", "p.rules", "--out", "t.jsonl", "-q"
    )
    assert generated.exit_code == 0, generated.stderr
    return tmp_path


REFUSED = [
    (("simulate", "--rules", "p.rules", "--trace", "t.jsonl", "--report", "-"), "--report"),
    (("simulate", "--rules", "p.rules", "--trace", "t.jsonl", "--html", "-"), "--html"),
    (("test", ".", "--junit", "-"), "--junit"),
    (("compile", "p.rules", "--out", "-"), "--out"),
    (("catalog", "build", "--openmeta", "snapshot", "--out", "-"), "--out"),
    (
        ("traces", "generate", "--events", "3", "--layout", "actiontrail-oss", "--out", "-"),
        "--out",
    ),
]


@pytest.mark.parametrize(("args", "option"), REFUSED, ids=[" ".join(a[:2]) for a, _ in REFUSED])
def test_dash_where_stdout_is_taken_is_a_usage_error(run_cli, work, args, option):
    result = run_cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert f"Invalid value for {option}" in result.stderr.replace("'", "")
    assert "`-` is not stdout here" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (work / "-").exists()


def test_the_report_refusal_points_at_the_same_bytes_on_stdout(run_cli, work):
    # The message says --format json prints this same report: it does, byte for byte.
    args = ("simulate", "--rules", "p.rules", "--trace", "t.jsonl")
    printed = run_cli(*args, "--format", "json", "--report", "r.json")
    assert printed.exit_code == 0, printed.stderr
    assert printed.stdout == (work / "r.json").read_text()
    assert json.loads(printed.stdout)["events"] == 40
    refused = run_cli(*args, "--report", "-")
    assert "--format json prints this same JSON report" in refused.stderr


@pytest.mark.parametrize(
    "args",
    [("graph", "--rules", "p.rules"), ("import", "p.json")],
    ids=["graph", "import"],
)
def test_dash_is_stdout_where_stdout_is_the_output(run_cli, work, args):
    (work / "p.json").write_text(
        json.dumps(
            {
                "Version": "1",
                "Statement": [{"Effect": "Deny", "Action": ["ecs:RunInstances"], "Resource": "*"}],
            }
        )
    )
    plain = run_cli(*args)
    dashed = run_cli(*args, "--out", "-")
    assert plain.exit_code == dashed.exit_code == 0, dashed.stderr
    assert dashed.stdout == plain.stdout and "runinstances" in dashed.stdout.lower()
    assert not (work / "-").exists()


@pytest.mark.parametrize("fmt", ["jsonl", "array"])
def test_traces_generate_to_stdout_writes_the_files_bytes(run_cli, work, fmt):
    base = ("traces", "generate", "--events", "25", "--seed", "3", "--rules", "p.rules")
    to_file = run_cli(*base, "--format", fmt, "--out", "g.trace", "-q")
    to_stdout = run_cli(*base, "--format", fmt, "--out", "-")
    assert to_file.exit_code == to_stdout.exit_code == 0, to_stdout.stderr
    assert to_stdout.stdout == Path("g.trace").read_text()
    assert "wrote 25 events to stdout" in to_stdout.stderr
    assert not (work / "-").exists()
