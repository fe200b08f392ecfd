"""Issue 16 item 1 and F3: text from traces, rules and file names is data on the terminal.

It is never read as rich markup (``[/oops]`` raised MarkupError, ``[bold red]LTAI`` printed as
``LTAI``, the by-rule table cut a rule at its first ``[``) and its control characters never
reach the terminal raw (an access key holding ``ESC ]0;pwned BEL ESC [2J`` retitled and
cleared it); they are shown escaped, ``\\x1b``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HOSTILE = ["[/oops]", "[bold red]LTAI", "<script>", "{{ x }}", "LTAI\x1b]0;pwned\x07\x1b[2J"]
SHOWN = ["[/oops]", "[bold red]LTAI", "<script>", "{{ x }}", "LTAI\\x1b]0;pwned\\x07\\x1b[2J"]


def _event(n: int, key: str) -> str:
    return json.dumps(
        {
            "eventId": f"e{n}",
            "eventVersion": "1",
            "eventType": "ApiCall",
            "eventName": "RunInstances",
            "eventSource": "ecs.cn-shanghai.aliyuncs.com",
            "serviceName": "Ecs",
            "eventTime": "2026-03-02T00:02:02Z",
            "acsRegion": "cn-shanghai",
            "sourceIpAddress": "10.1.1.1",
            "userIdentity": {"type": "ram-user", "accessKeyId": key, "accountId": "1"},
        }
    )


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "t.rules"
    rules.write_text('policy p "x"\ndeny ECS RunInstances when vpc not in [/x, "[bold]y"]\n')
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(_event(n, k) + "\n" for n, k in enumerate(HOSTILE)))
    return rules, trace


def test_simulate_tables_show_trace_and_rule_text_verbatim(hostile, run_cli) -> None:
    rules, trace = hostile
    result = run_cli("simulate", "--rules", rules, "--trace", trace)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out
    for shown in SHOWN:
        assert shown in out, shown
    # the by-rule table keeps the whole rule, brackets included
    assert 'deny ECS RunInstances when vpc not in [/x, "[bold]y"]' in out.replace("\n", " ")


def test_explain_shows_rule_markup_as_text(hostile, run_cli) -> None:
    rules, _ = hostile
    result = run_cli("explain", "--rules", rules, "ecs:RunInstances", "-c", "vpc=[/z]")
    assert result.exit_code == 0, result.stderr
    assert 'vpc not in [/x, "[bold]y"]' in result.stdout
    assert "vpc=[/z]" in result.stdout


def test_control_characters_in_a_diagnostic_are_escaped(tmp_path: Path, run_cli) -> None:
    bad = tmp_path / "b.rules"
    bad.write_text('policy p "x"\ndeny ECS RunInstances when vpc in ["a\x1b[2J"] extra\n')
    result = run_cli("check", bad)
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr + result.stdout
    # The file is refused at the escape character (E0001); the snippet shows it as `?`.
    assert f"{bad}:2:38: error: file contains an escape character (U+001B)" in result.stderr
    assert '   2 | deny ECS RunInstances when vpc in ["a?[2J"] extra' in result.stderr


def test_explain_under_an_ascii_stdout_does_not_raise(hostile, run_ramguard) -> None:
    rules, _ = hostile
    for verb in (
        ["explain", "--rules", rules, "ecs:RunInstances"],
        ["diff", rules, "policies"],
    ):
        proc = run_ramguard(*verb, env={"PYTHONIOENCODING": "ascii"})
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "\\u2192" in proc.stdout  # the arrow, escaped rather than a crash


def test_explain_does_not_wrap_when_piped(tmp_path: Path, run_ramguard) -> None:
    rules = tmp_path / "long.rules"
    values = ", ".join(f"vpc-{n:04d}" for n in range(30))
    rules.write_text(f'policy p "x"\ndeny ECS RunInstances when vpc in [{values}]\n')
    proc = run_ramguard("explain", "--rules", rules, "ecs:RunInstances", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(values in line for line in lines)  # the rule on one line
    assert all(line == line.rstrip() for line in lines)  # no padding to the width
