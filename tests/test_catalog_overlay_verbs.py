"""``--catalog FILE`` on the verbs that read rules but took no overlay: ``traces generate``
and ``bench`` (issue 9 item 5: "on every verb that reads rules")."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import main

OVERLAY = """\
[services.Acme]
ram_codes = ["acme"]
endpoints = ["acme.{region}.aliyuncs.com"]
operations = ["CreateWidget", "DeleteWidget"]

[services.ECS]
operations = ["FrobnicateInstance"]
"""
RULES = "deny ECS FrobnicateInstance\ndeny Acme DeleteWidget\n"


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path]:
    overlay, rules = tmp_path / "team.toml", tmp_path / "team.rules"
    overlay.write_text(OVERLAY)
    rules.write_text(RULES)
    return overlay, rules


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_traces_generate_compiles_its_rules_with_the_overlay(tmp_path, team):
    overlay, rules = team
    out = tmp_path / "t.jsonl"
    without = _run("traces", "generate", "--events", "10", "--rules", str(rules), "--out", str(out))
    assert without.exit_code == 1
    assert f"{rules}:1:10: error:" in without.output and "FrobnicateInstance" in without.output
    assert not out.exists()
    common = ("traces", "generate", "--events", "20000", "--seed", "3", "--rules", str(rules))
    result = _run(*common, "--catalog", str(overlay), "--out", str(out), "-q")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in out.read_text().splitlines()]
    # The overlay's ECS operation is called, and the leaked keys' calls of it are blocked.
    frob = [e for e in events if e["eventName"] == "FrobnicateInstance"]
    assert frob and any(e.get("errorCode") == "Forbidden" for e in frob)


def test_bench_maps_events_and_compiles_rules_through_the_overlay(tmp_path, team):
    overlay, rules = team
    trace = tmp_path / "acme.jsonl.gz"
    event = {
        "eventId": "e1",
        "eventName": "DeleteWidget",
        "eventSource": "acme.cn-hangzhou.aliyuncs.com",
        "eventTime": "2026-03-02T00:00:00Z",
        "userIdentity": {"type": "ram-user", "accessKeyId": "LTAI5tExample"},
        "sourceIpAddress": "203.0.113.9",
    }
    with gzip.open(trace, "wt") as fh:
        fh.write(json.dumps(event) + "\n")
    args = ("bench", "--rules", str(rules), "--trace", str(trace), "--no-cedar", "--format", "json")
    assert _run(*args).exit_code == 1  # `deny Acme …`: no such service without the overlay
    result = _run(*args, "--catalog", str(overlay))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["requests"] == 1 and data["skipped"] == 0
