"""The baseline of a plan (``simulate --baseline``) is decided by both engines, as the new
rules are: its trie and the RAM evaluator on the JSON it emits; their disagreements are
counted (``plan.engine_mismatches``) and exit 1, like a mismatch of the new rules' engines.
RAM JSON in place (``--baseline-policy``) has the one engine, and the report says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.replay.impact import Baseline

OLD = "deny ECS DeleteInstance\ndeny RAM CreateUser when mfa = false\n"
NEW = "deny ECS DeleteInstance, RunInstances\n"


def _event(i: int, name: str, service: str = "Ecs", mfa: str | None = None) -> dict:
    ident = {"type": "ram-user", "accountId": "111", "accessKeyId": "LTAI5tA", "userName": "bo"}
    if mfa is not None:
        ident["sessionContext"] = {"attributes": {"mfaAuthenticated": mfa}}
    return {
        "eventId": f"e{i}",
        "eventName": name,
        "eventSource": f"{service.lower()}.aliyuncs.com",
        "serviceName": service,
        "eventTime": f"2026-03-02T10:00:{i:02d}Z",
        "userIdentity": ident,
    }


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path, Path]:
    (tmp_path / "old.rules").write_text(OLD)
    (tmp_path / "new.rules").write_text(NEW)
    trace = tmp_path / "t.jsonl"
    events = [
        _event(1, "RunInstances"),
        _event(2, "DeleteInstance"),
        _event(3, "CreateUser", "Ram", mfa="false"),
        _event(4, "CreateUser", "Ram", mfa="true"),
        _event(5, "DescribeInstances"),
    ]
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    return tmp_path / "old.rules", tmp_path / "new.rules", trace


def test_the_baseline_is_decided_by_both_engines(run_cli, files):
    old, new, trace = files
    result = run_cli(
        "simulate", "--rules", new, "--baseline", old, "--trace", trace, "--format", "json"
    )
    assert result.exit_code == 3, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert plan["baseline_engines"] == ["trie", "ram"]
    assert plan["engine_mismatches"]["count"] == 0
    assert (plan["newly_denied"], plan["no_longer_denied"]) == (1, 1)


def test_a_baseline_engine_mismatch_is_counted_and_exits_1(run_cli, files, monkeypatch):
    old, new, trace = files
    real = Baseline.check_decider

    def skewed(self):
        decide = real(self)
        # The JSON side says deny where the rules' trie allows CreateUser with MFA.
        return lambda ev, on: "deny" if ev.action == "ram:CreateUser" else decide(ev, on)

    monkeypatch.setattr(Baseline, "check_decider", skewed)
    result = run_cli(
        "simulate", "--rules", new, "--baseline", old, "--trace", trace, "--format", "json"
    )
    assert result.exit_code == 1, result.stderr
    mismatches = json.loads(result.stdout)["plan"]["engine_mismatches"]
    assert mismatches["count"] == 1
    (example,) = mismatches["examples"]
    assert (example["event_id"], example["trie"], example["ram"]) == ("e4", "allow", "deny")
    text = run_cli("simulate", "--rules", new, "--baseline", old, "--trace", trace)
    assert text.exit_code == 1
    assert "baseline mismatches (trie vs RAM JSON)" in text.stdout


def test_ram_json_in_place_has_one_engine_and_says_so(run_cli, files, tmp_path):
    old, new, trace = files
    docs = tmp_path / "docs"
    assert run_cli("compile", old, "--out", docs).exit_code == 0
    (doc,) = sorted(docs.glob("*.json"))
    result = run_cli(
        "simulate", "--rules", new, "--baseline-policy", doc, "--trace", trace, "--format", "json"
    )
    assert result.exit_code == 3, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert plan["baseline_engines"] == ["ram"]
    assert plan["engine_mismatches"]["count"] == 0
    assert "RAM evaluator alone" in plan["engine_mismatches"]["note"]
