"""Issue 13: who the rules block, the plan of a change, recorded denies explained, coverage.

The plan is checked against a hand count: the trace's JSON lines read with ``json`` and the
planted change applied by name, sharing no code with the replay.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import compile_rules
from compiler.catalog import default_catalog
from compiler.cli import main
from compiler.replay import generate_events, write_trace
from compiler.replay.impact import Baseline
from compiler.replay.simulate import Engines, PartialReport, plan, replay_split, report_dict

CATALOG = default_catalog()
ROOT = Path(__file__).parent.parent
SEED = ROOT / "policies" / "leaked-accesskey-protection.rules"
ECS_RULE = re.compile(r"deny ECS \[\n(.*?)\n\]", re.S)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def _hand_key(identity: dict | None) -> str | None:
    """acs:PrincipalARN by hand, as ActionTrail's samples spell it."""
    if not identity:
        return None
    kind, account, name = identity.get("type"), identity.get("accountId"), identity.get("userName")
    if kind == "root-account":
        return f"acs:ram::{account}:root"
    if kind == "assumed-role":
        return f"acs:ram::{account}:role/{name.split(':')[0]}"
    return f"acs:ram::{account}:user/{name}"


# --- done when: a planted change, counted by hand ------------------------------------------


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A generated trace; the seed rules (old); the seed with one ECS operation added to the
    ECS rule (tightened) and one removed from it (loosened)."""
    root = tmp_path_factory.mktemp("plan")
    trace = root / "trace.jsonl"
    policy = compile_rules([SEED])
    write_trace(trace, generate_events(20_000, 11, CATALOG, lambda a: policy.decide(a).denied))
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    ecs = Counter(e["eventName"] for e in events if e["serviceName"].lower() == "ecs")
    seed_text = SEED.read_text()
    listed = re.findall(r"\w+", ECS_RULE.search(seed_text).group(1))
    loosened = max((op for op in listed if ecs[op]), key=lambda op: (ecs[op], op))
    tightened = max((op for op in ecs if op not in listed), key=lambda op: (ecs[op], op))
    body = ECS_RULE.search(seed_text).group(1)
    changed = body.replace(f"{loosened}, ", "").replace(f", {loosened}", "")
    changed = changed.rstrip().rstrip(",") + f", {tightened},"
    new_text = seed_text.replace(body, changed)
    assert new_text != seed_text
    (root / "old.rules").write_text(seed_text)
    (root / "new.rules").write_text(new_text)
    line = next(i for i, t in enumerate(new_text.splitlines(), 1) if t.startswith("deny ECS"))
    return root, trace, events, tightened, loosened, line


def _hand_plan(events, tightened, loosened) -> Counter:
    """(sign, principal, action, region) → calls: every ECS call of the two operations."""
    out: Counter = Counter()
    for e in events:
        if e["serviceName"].lower() != "ecs" or e["eventName"] not in (tightened, loosened):
            continue
        sign = "+" if e["eventName"] == tightened else "-"
        key = _hand_key(e.get("userIdentity"))
        out[(sign, key, f"ecs:{e['eventName']}", e.get("acsRegion"))] += 1
    return out


def test_the_plan_names_the_principals_and_counts_a_hand_count_gives(planted):
    root, trace, events, tightened, loosened, line = planted
    out = root / "r.json"
    result = run(
        "simulate",
        "--rules",
        str(root / "new.rules"),
        "--baseline",
        str(root / "old.rules"),
        "--trace",
        str(trace),
        "--report",
        str(out),
        "--top",
        "100000",
    )
    assert result.exit_code == 3, result.output
    report = json.loads(out.read_text())
    hand = _hand_plan(events, tightened, loosened)
    assert sum(hand.values()) > 20  # the planted change touches real traffic
    plan_ = report["plan"]
    got = Counter(
        {
            (p["change"], p["principal"]["key"], p["action"], p["region"]): p["calls"]
            for p in plan_["lines"]
        }
    )
    assert got == hand
    assert plan_["lines_total"] == len(hand)
    assert plan_["newly_denied"] == sum(n for k, n in hand.items() if k[0] == "+")
    assert plan_["no_longer_denied"] == sum(n for k, n in hand.items() if k[0] == "-")
    assert plan_["changed"] == sum(hand.values())
    by_principal: Counter = Counter()
    for (sign, key, _a, _r), n in hand.items():
        if sign == "+":
            by_principal[key] += n
    assert {r["key"]: r["calls"] for r in plan_["newly_denied_by"]["principal"]} == by_principal
    assert {r["action"]: r["calls"] for r in plan_["newly_denied_by"]["operation"]} == {
        f"ecs:{tightened}": plan_["newly_denied"]
    }
    new_rule = f"{root / 'new.rules'}:{line}"
    old_rule = f"{root / 'old.rules'}:{line}"
    assert [r["where"] for r in plan_["newly_denied_by"]["rule"]] == [new_rule]
    assert [r["where"] for r in plan_["no_longer_denied_by"]["rule"]] == [old_rule]
    # The first examples are the first changed events of the trace, in order.
    first = [
        e["eventId"]
        for e in events
        if e["serviceName"].lower() == "ecs" and e["eventName"] in (tightened, loosened)
    ][:20]
    assert [x["event_id"] for x in plan_["examples"]] == first
    # The text reads like a plan: the biggest newly-denied line, worded by hand.
    (_sign, key, _action, _region), n = max(
        ((k, v) for k, v in hand.items() if k[0] == "+"),
        key=lambda kv: (kv[1], [-ord(c) for c in kv[0][1]]),
    )
    top_line = plan_["lines"][0]
    assert (top_line["change"], top_line["calls"]) == ("+", n)
    label = top_line["principal"]["label"]
    kind, _, name = key.rpartition(":")[2].partition("/")
    assert label == (f"role {name}" if kind == "role" else f"user {name}" if name else label)
    calls = "1 call" if n == 1 else f"{n} calls"
    wanted = f"+ {calls} by {label} would be denied ({top_line['action']} in {top_line['region']})"
    assert f"{wanted} — rule {new_rule}" in result.output


def test_fail_on_new_deny_and_no_change(planted):
    root, trace, _events, _tightened, loosened, _line = planted
    # The loosening alone: --fail-on-new-deny does not trip on calls no longer denied.
    only_loosened = root / "loose.rules"
    text = (root / "old.rules").read_text()
    body = ECS_RULE.search(text).group(1)
    only_loosened.write_text(
        text.replace(body, body.replace(f"{loosened}, ", "").replace(f", {loosened}", ""))
    )
    args = ["simulate", "--trace", str(trace), "-q"]
    loose = run(*args, "--rules", str(only_loosened), "--baseline", str(root / "old.rules"))
    assert loose.exit_code == 3, loose.output
    gate = run(
        *args,
        "--rules",
        str(only_loosened),
        "--baseline",
        str(root / "old.rules"),
        "--fail-on-new-deny",
    )
    assert gate.exit_code == 0, gate.output
    same = run("simulate", "--trace", str(trace), "--rules", str(SEED), "--baseline", str(SEED))
    assert same.exit_code == 0, same.output
    assert "No change" in same.output
    assert run(*args, "--rules", str(SEED), "--fail-on-new-deny").exit_code == 2
    both = run(*args, "--rules", str(SEED), "--baseline", str(SEED), "--baseline-policy", "x")
    assert both.exit_code == 2


def test_a_baseline_of_ram_json_gives_the_same_plan(planted, tmp_path):
    root, trace, events, tightened, loosened, _line = planted
    assert run("compile", str(root / "old.rules"), "--out", str(tmp_path)).exit_code == 0
    (doc,) = sorted(tmp_path.glob("*.json"))
    out = tmp_path / "r.json"
    result = run(
        "simulate",
        "--rules",
        str(root / "new.rules"),
        "--baseline-policy",
        str(doc),
        "--trace",
        str(trace),
        "--report",
        str(out),
        "--top",
        "100000",
        "-q",
    )
    assert result.exit_code == 3, result.output
    plan_ = json.loads(out.read_text())["plan"]
    assert plan_["baseline_engine"] == "ram"
    got = Counter(
        {
            (p["change"], p["principal"]["key"], p["action"], p["region"]): p["calls"]
            for p in plan_["lines"]
        }
    )
    assert got == _hand_plan(events, tightened, loosened)
    gone = plan_["no_longer_denied_by"]["rule"]
    assert [(r["file"], r["statement"]) for r in gone] == [(str(doc), 1)]


def test_the_plan_merges_the_same_in_any_order(planted):
    root, trace, *_ = planted
    engines = Engines.for_policy(
        compile_rules([root / "new.rules"]),
        baseline=Baseline(("old",), policy=compile_rules([root / "old.rules"])),
    )
    splits = plan([str(trace)], split_bytes=1 << 20, split_events=1500)
    assert len(splits) > 3
    parts = [replay_split(s, engines) for s in splits]

    def fold(order):
        total = PartialReport()
        for i in order:
            total = total.merge(parts[i])
        return total

    def without_timing(report):
        data = report_dict(report, [str(trace)], engines, top=50)
        data.pop("engines")
        return json.dumps(data, sort_keys=True)

    expected = without_timing(fold(range(len(parts))))
    rng = random.Random(5)
    for _ in range(3):
        order = list(range(len(parts)))
        rng.shuffle(order)
        assert without_timing(fold(order)) == expected
    # A tree of merges, not a left fold: associativity.
    halves = fold(range(len(parts) // 2)).merge(fold(range(len(parts) // 2, len(parts))))
    assert without_timing(halves) == expected


# --- who: attribution tables ----------------------------------------------------------------


def _event(i: int, **fields) -> dict:
    base = {
        "eventId": f"e{i}",
        "eventName": "DescribeInstances",
        "eventSource": "ecs.aliyuncs.com",
        "serviceName": "Ecs",
        "eventTime": f"2026-03-02T10:00:{i:02d}Z",
        "acsRegion": "cn-hangzhou",
        "sourceIpAddress": "10.0.0.1",
        "userIdentity": {
            "type": "ram-user",
            "accountId": "111",
            "accessKeyId": "LTAI5tAAA",
            "userName": "alice",
        },
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def _write(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


ROLE = {"type": "assumed-role", "accountId": "222", "accessKeyId": "STS.X", "userName": "ci:s1"}
ROLE2 = {"type": "assumed-role", "accountId": "222", "accessKeyId": "STS.Y", "userName": "ci:s2"}
ROOT_ID = {"type": "root-account", "accountId": "333", "accessKeyId": "LTAI5tR", "userName": "root"}


def test_every_call_is_attributed_and_tables_keep_first_examples(tmp_path):
    trace = _write(
        tmp_path / "t.jsonl",
        [
            _event(1),
            _event(2, eventName="RunInstances", userIdentity=ROLE, sourceIpAddress="Internal"),
            _event(3, eventName="RunInstances", userIdentity=ROLE2, acsRegion="cn-beijing"),
            _event(4, eventName="CreateUser", eventSource="ram.aliyuncs.com", serviceName="Ram"),
            _event(5, userIdentity=ROOT_ID, sourceIpAddress="10.0.0.2"),
            _event(6, eventName="RunInstances"),
        ],
    )
    out = tmp_path / "r.json"
    result = run(
        "simulate", "--rules", str(SEED), "--trace", str(trace), "--report", str(out), "-q"
    )
    assert result.exit_code == 0, result.output
    tables = json.loads(out.read_text())["who"]["tables"]

    def rows(name):
        return {r["key"]: (r["events"], r["denied"]) for r in tables[name]["rows"]}

    def first_denied(name, key):
        row = next(r for r in tables[name]["rows"] if r["key"] == key)
        return row["first_denied"] and row["first_denied"]["event_id"]

    alice = "acs:ram::111:user/alice"
    role = "acs:ram::222:role/ci"
    assert rows("principal") == {alice: (3, 2), role: (2, 2), "acs:ram::333:root": (1, 0)}
    principal = next(r for r in tables["principal"]["rows"] if r["key"] == role)
    assert (principal["type"], principal["account"], principal["name"]) == (
        "assumed-role",
        "222",
        "ci",
    )
    assert rows("type") == {"ram-user": (3, 2), "assumed-role": (2, 2), "root-account": (1, 0)}
    assert rows("account") == {"111": (3, 2), "222": (2, 2), "333": (1, 0)}
    assert rows("name") == {"alice": (3, 2), "ci": (2, 2), "root": (1, 0)}
    assert rows("access_key") == {
        "LTAI5tAAA": (3, 2),
        "STS.X": (1, 1),
        "STS.Y": (1, 1),
        "LTAI5tR": (1, 0),
    }
    assert rows("source_ip") == {"10.0.0.1": (4, 3), "Internal": (1, 1), "10.0.0.2": (1, 0)}
    assert rows("region") == {"cn-hangzhou": (5, 3), "cn-beijing": (1, 1)}
    assert rows("service") == {"ECS": (5, 3), "RAM": (1, 1)}
    assert rows("operation") == {
        "ecs:RunInstances": (3, 3),
        "ram:CreateUser": (1, 1),
        "ecs:DescribeInstances": (2, 0),
    }
    # Ordered by denied, then events; the first denied example is the earliest by position.
    assert [r["key"] for r in tables["principal"]["rows"]] == [alice, role, "acs:ram::333:root"]
    assert first_denied("principal", alice) == "e4"
    assert first_denied("principal", role) == "e2"
    assert first_denied("operation", "ecs:RunInstances") == "e2"
    assert tables["principal"]["rows"][0]["first"]["event_id"] == "e1"
    rules = {r["line"]: r["denied"] for r in tables["rule"]["rows"]}
    assert rules == {7: 1, 8: 1, 11: 3}  # IMS owns ram:CreateUser too
    assert tables["rule"]["rows"][0]["first"]["event_id"] == "e2"
    # --by picks the table the summary prints.
    text = run("simulate", "--rules", str(SEED), "--trace", str(trace), "--by", "source_ip")
    assert "Calls by source IP (top 3 of 3)" in text.output and "Internal" in text.output
    assert run("simulate", "--rules", str(SEED), "--trace", str(trace), "--by", "x").exit_code == 2


# --- recorded denies ------------------------------------------------------------------------


def test_recorded_denies_are_explained_by_a_rule_or_listed(tmp_path):
    leaked = {
        "errorCode": "Forbidden",
        "errorMessage": "Forbidden : There is a risk of leakage of this AccessKey.",
    }
    trace = _write(
        tmp_path / "t.jsonl",
        [
            _event(1, eventName="RunInstances", **leaked),
            _event(2, eventName="DescribeInstances", errorCode="NoPermission"),
            _event(3, eventName="RunInstances", errorCode="Forbidden.RAM"),
            _event(4, errorCode="Forbidden", AccessDeniedDetail={"AuthAction": "ecs:Describe"}),
            _event(5, errorCode="Throttling"),
            _event(
                6,
                errorCode="InvalidRAM",
                eventSource="cn-hangzhou.log.aliyuncs.com",
                serviceName="Sls",
                eventName="GetLogStore",
            ),
        ],
    )
    out = tmp_path / "r.json"
    result = run("simulate", "--rules", str(SEED), "--trace", str(trace), "--report", str(out))
    assert result.exit_code == 0, result.output
    recorded = json.loads(out.read_text())["recorded"]
    assert recorded["matrix"]["deny"] == {"deny": 2, "allow": 3}
    assert recorded["matrix"]["error"] == {"deny": 0, "allow": 1}
    reasons = {r["reason"]: (r["recorded_denies"], r["predicted"]) for r in recorded["reasons"]}
    assert reasons == {
        "leaked AccessKey": (1, 1),
        "NoPermission": (1, 0),
        "Forbidden.RAM": (1, 1),
        "AccessDeniedDetail": (1, 0),
        "InvalidRAM": (1, 0),
    }
    assert [(r["line"], r["recorded_denies"]) for r in recorded["explained_by_rule"]] == [(11, 2)]
    unexplained = recorded["unexplained"]
    assert unexplained["count"] == 3
    assert [(e["event_id"], e["reason"]) for e in unexplained["examples"]] == [
        ("e2", "NoPermission"),
        ("e4", "AccessDeniedDetail"),
        ("e6", "InvalidRAM"),
    ]
    assert "Recorded denies no rule explains: 3" in result.output


# --- coverage -------------------------------------------------------------------------------


def test_coverage_names_idle_rules_patterns_and_high_risk_calls_not_denied(tmp_path):
    rules = tmp_path / "g.rules"
    rules.write_text(
        "deny ECS RunInstances, DeleteInstance\n"  # one pattern exercised, one not
        "deny RDS DeleteDBInstance\n"  # never called
        "deny RAM Create*\n"
    )
    risky = next(
        op
        for op in sorted(CATALOG.service("ECS").high_risk_operations())
        if op not in ("RunInstances", "DeleteInstance")
    )
    trace = _write(
        tmp_path / "t.jsonl",
        [
            _event(1, eventName="RunInstances"),
            _event(2, eventName="CreateUser", eventSource="ram.aliyuncs.com", serviceName="Ram"),
            _event(3, eventName=risky),
            _event(4, eventName="StartInstance"),  # on the leaked-AccessKey list
            _event(5, eventName="StartInstance"),
            _event(6, eventName="DescribeInstances"),
        ],
    )
    out = tmp_path / "r.json"
    result = run("simulate", "--rules", str(rules), "--trace", str(trace), "--report", str(out))
    assert result.exit_code == 0, result.output
    coverage = json.loads(out.read_text())["coverage"]
    (policy,) = coverage["policies"]
    assert (policy["rules"], policy["rules_denied"], policy["rules_never_matched"]) == (3, 2, 1)
    assert (policy["patterns"], policy["patterns_denied"]) == (4, 2)
    assert policy["percent"] == 66.7 and policy["patterns_percent"] == 50.0
    assert [r["line"] for r in coverage["rules_never_matched"]] == [2]
    assert coverage["rules_condition_never_held"] == []
    assert [(r["line"], r["pattern"]) for r in coverage["patterns_never_matched"]] == [
        (1, "ecs:DeleteInstance"),
        (2, "rds:DeleteDBInstance"),
    ]
    risky_rows = {
        r["action"]: (r["not_denied"], r["why"]) for r in coverage["high_risk_not_denied"]
    }
    assert risky_rows["ecs:StartInstance"][0] == 2
    assert "leaked-AccessKey list" in risky_rows["ecs:StartInstance"][1]
    assert risky_rows[f"ecs:{risky}"] == (
        1,
        ["riskType=high"] + (["leaked-AccessKey list"] if risky in SEED.read_text() else []),
    )
    assert "ecs:RunInstances" not in risky_rows  # denied
    assert "ecs:DescribeInstances" not in risky_rows  # not high-risk
    assert "Coverage" in result.output and "66.7%" in result.output


# --- hostile text ---------------------------------------------------------------------------

HOSTILE = ["[/oops]", "[bold red]boom", "<script>alert(1)</script>", "{{ 7*7 }}"]


@pytest.mark.parametrize("by", ["principal", "name", "access_key", "source_ip", "region", "rule"])
def test_trace_and_rule_text_is_never_markup(tmp_path, by):
    quoted = ", ".join(json.dumps(h) for h in HOSTILE)
    old = tmp_path / "old.rules"
    old.write_text("deny ECS DescribeInstances\n")
    new = tmp_path / "new.rules"
    new.write_text(f"deny ECS RunInstances when access_key in [{quoted}]\n")
    events = [
        _event(
            i,
            eventName="RunInstances",
            sourceIpAddress=h,
            acsRegion=h,
            userIdentity={"type": "ram-user", "accountId": h, "accessKeyId": h, "userName": h},
        )
        for i, h in enumerate(HOSTILE, 1)
    ]
    trace = _write(tmp_path / "t.jsonl", [*events, _event(9)])
    result = run(
        "simulate",
        "--rules",
        str(new),
        "--baseline",
        str(old),
        "--trace",
        str(trace),
        "--by",
        by,
    )
    assert result.exit_code == 3, result.output
    for h in HOSTILE:
        assert f"user {h} would be denied (ecs:RunInstances in {h})" in result.output
        if by != "rule":
            assert h in result.output
    assert "access_key in [" + quoted in result.output
    # No template ran and no markup was taken: the braces and brackets are there verbatim.
    assert "{{ 7*7 }}" in result.output and "[bold red]boom" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
