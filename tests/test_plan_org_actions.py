"""simulate --baseline with an org.toml: each plan line is one action's calls. Calls whose
chain outcome is the same object (every level allows) were lumped under the first call's
action: '- 6 calls ecs:RunInstances' for 3 RunInstances, 2 CreateUser and 1 PutObject."""

from __future__ import annotations

import json

ORG = """\
[root]
id = "r-1"

[[folder]]
id = "fd-sandbox"
parent = "r-1"

[[account]]
id = "222"
parent = "fd-sandbox"
"""
# In place: every call outside a VPC is denied. New: an org whose sandbox keeps
# FullAliyunAccess and a guardrail on ActionTrail only, so those calls are no longer denied.
BASELINE = "policy vpc-only\ndeny * * when vpc not like [vpc-*]\n"
RULES = "policy trail for control-policy attach [r-1]\ndeny Actiontrail DeleteTrail\n"
CALLS = [("ecs.aliyuncs.com", "RunInstances")] * 3 + [("ram.aliyuncs.com", "CreateUser")] * 2
CALLS += [("oss-cn-hangzhou.aliyuncs.com", "PutObject")]


def _trace(path):
    events = [
        {
            "eventId": f"p{i}",
            "eventName": name,
            "eventSource": host,
            "eventTime": "2026-12-01T00:00:01Z",
            "sourceIpAddress": "10.0.0.1",
            "acsRegion": "cn-hangzhou",
            "userIdentity": {"type": "ram-user", "accountId": "222", "userName": "bob"},
        }
        for i, (host, name) in enumerate(CALLS)
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


def test_plan_lines_along_an_org_keep_each_action(run_cli, tmp_path):
    rules, base = tmp_path / "rules", tmp_path / "base"
    rules.mkdir()
    base.mkdir()
    (rules / "trail.rules").write_text(RULES)
    (rules / "org.toml").write_text(ORG)
    (base / "vpc-only.rules").write_text(BASELINE)
    trace = tmp_path / "trace.jsonl"
    _trace(trace)
    result = run_cli(
        "simulate", "--rules", rules, "--baseline", base, "--trace", trace, "--format", "json"
    )
    assert result.exit_code == 3, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert plan["no_longer_denied"] == 6
    lines = sorted((line["change"], line["action"], line["calls"]) for line in plan["lines"])
    assert lines == [
        ("-", "ecs:RunInstances", 3),
        ("-", "oss:PutObject", 1),
        ("-", "ram:CreateUser", 2),
    ]
    by_op = {row["action"]: row["calls"] for row in plan["no_longer_denied_by"]["operation"]}
    assert by_op == {"ecs:RunInstances": 3, "ram:CreateUser": 2, "oss:PutObject": 1}
    text = run_cli("simulate", "--rules", rules, "--baseline", base, "--trace", trace).stdout
    assert "- 2 calls by user bob would no longer be denied (ram:CreateUser in cn-hangzhou)" in (
        text
    )
