"""The simulator: both engines agree on random rule sets; mismatches, malformed lines and
recorded outcomes are counted exactly; splits merge into the same report as one pass."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.cli import main
from compiler.ram import RamEvaluator
from compiler.replay.simulate import (
    Engines,
    PartialReport,
    bucket_of,
    bucket_value,
    plan,
    replay_split,
    report_dict,
    simulate,
)

CATALOG = default_catalog()
SEED_RULES = Path(__file__).parent.parent / "policies"

# -- random rule sets ------------------------------------------------------------------------

CIDRS = ["10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24", "2001:db8::/32", "198.51.100.7"]
IPS = ["10.1.2.3", "192.168.5.5", "203.0.113.9", "8.8.8.8", "2001:db8::1", "::1", "Internal"]
TIMES = ["2026-01-01T00:00:00Z", "2026-06-01T12:00:00Z", "2027-01-01T00:00:00Z"]
REQUEST_TIMES = [*TIMES, "2025-12-31T23:59:59Z", "2026-06-01T12:00:01Z", "2030-01-01T00:00:00Z"]
VPCS = ["vpc-a", "vpc-b", "vpc-c"]
KEYS = ["LTAI5tA", "LTAI5tB", "LTAI5tC"]
SERVICES = ["ECS", "RAM", "IMS", "RDS", "SMS", "PTS", "ECI"]


def _ops(service: str) -> list[str]:
    return sorted(CATALOG.service(service).operations())


@st.composite
def op_patterns(draw, service: str) -> str:
    op = draw(st.sampled_from(_ops(service)))
    kind = draw(st.sampled_from(["exact", "exact", "prefix", "suffix", "one", "star"]))
    if kind == "prefix":
        return op[: draw(st.integers(1, max(1, len(op) - 1)))] + "*"
    if kind == "suffix":
        return "*" + op[draw(st.integers(1, max(1, len(op) - 1))) :]
    if kind == "one":
        i = draw(st.integers(0, len(op) - 1))
        return op[:i] + "?" + op[i + 1 :]
    if kind == "star":
        return "*"
    return op


def _condition(draw, key: str) -> str:
    if key == "source_ip":
        neg = draw(st.booleans())
        vals = draw(st.lists(st.sampled_from(CIDRS), min_size=1, max_size=3, unique=True))
        return f"source_ip {'not in' if neg else 'in'} [{', '.join(vals)}]"
    if key in ("mfa", "secure_transport"):
        return f"{key} = {draw(st.sampled_from(['true', 'false']))}"
    if key == "time":
        return f"time {draw(st.sampled_from(['before', 'after']))} {draw(st.sampled_from(TIMES))}"
    pool = VPCS if key == "vpc" else KEYS
    neg = draw(st.booleans())
    vals = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
    return f"{key} {'not in' if neg else 'in'} [{', '.join(vals)}]"


@st.composite
def rules_text(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        service = draw(st.sampled_from(SERVICES))
        ops = draw(st.lists(op_patterns(service), min_size=1, max_size=3))
        rule = f"deny {service} {', '.join(ops)}"
        keys = draw(
            st.lists(
                st.sampled_from(
                    ["source_ip", "mfa", "secure_transport", "time", "vpc", "access_key"]
                ),
                max_size=4,
                unique=True,
            )
        )
        split = draw(st.integers(0, len(keys)))
        when, unless = keys[:split], keys[split:]
        if when:
            rule += " when " + " and ".join(_condition(draw, k) for k in when)
        if unless:
            rule += " unless " + " and ".join(_condition(draw, k) for k in unless)
        lines.append(rule)
    return "\n".join(lines) + "\n"


@st.composite
def requests(draw) -> tuple[str, dict]:
    service = CATALOG.service(draw(st.sampled_from(SERVICES)))
    code = draw(st.sampled_from(service.all_codes))
    op = draw(st.sampled_from(sorted(service.operations())))
    action = f"{code}:{op}"
    if draw(st.booleans()):
        action = action.upper() if draw(st.booleans()) else action.lower()
    context: dict[str, object] = {}
    if draw(st.booleans()):
        context["acs:SourceIp"] = draw(st.sampled_from(IPS))
    if draw(st.booleans()):
        context["acs:MFAPresent"] = draw(st.booleans())
    if draw(st.booleans()):
        context["acs:SecureTransport"] = draw(st.booleans())
    if draw(st.booleans()):
        context["acs:CurrentTime"] = draw(st.sampled_from(REQUEST_TIMES))
    if draw(st.booleans()):
        context["acs:SourceVpc"] = draw(st.sampled_from(VPCS))
    if draw(st.booleans()):
        context["acs:AccessId"] = draw(st.sampled_from(KEYS))
    return action, context


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=rules_text(), reqs=st.lists(requests(), min_size=1, max_size=25))
def test_trie_and_ram_evaluator_agree_on_random_rules(text, reqs):
    policy = compile_sources([("random.rules", text)])
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents])
    for action, context in reqs:
        trie = policy.decide(action, context)
        assert trie.decision == ram.decide(action, context), (text, action, context)
        assert trie == policy.trie.all_rules(action, context)


# -- traces on disk --------------------------------------------------------------------------


def event(n: int, name: str = "RunInstances", source: str = "ecs.aliyuncs.com", **extra):
    base = {
        "eventId": f"ev-{n}",
        "eventName": name,
        "eventSource": source,
        "eventTime": "2026-03-02T10:00:00Z",
        "sourceIpAddress": "203.0.113.9",
        "userIdentity": {"type": "ram-user", "accessKeyId": f"LTAI5tKEY{n % 3}"},
    }
    base.update(extra)
    return base


def write_jsonl(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_malformed_lines_are_counted_with_their_line_numbers(tmp_path):
    lines = [
        msgspec.json.encode(event(1)),  # 1
        b"{not json",  # 2
        msgspec.json.encode(event(3, name="DescribeInstances")),  # 3
        b"",  # 4: blank, skipped, not malformed
        msgspec.json.encode({"eventId": "x"}),  # 5: no eventName
        b"[1, 2]",  # 6: not an object
        msgspec.json.encode(event(7, userIdentity="alice")),  # 7: wrong type
        msgspec.json.encode(event(8, name="DeleteInstance")),  # 8
    ]
    trace = write_jsonl(tmp_path / "t.jsonl", lines)
    out = tmp_path / "report.json"
    result = run(
        "simulate", "--rules", str(SEED_RULES), "--trace", str(trace), "--report", str(out), "-q"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["events"] == 7
    assert report["malformed"]["count"] == 4
    assert [m["line"] for m in report["malformed"]["first"]] == [2, 5, 6, 7]
    assert report["decided"] == 3
    assert report["events"] == report["decided"] + report["malformed"]["count"]
    assert (report["denied"], report["allowed"]) == (2, 1)


def test_strict_makes_a_malformed_line_fatal(tmp_path):
    trace = write_jsonl(tmp_path / "t.jsonl", [msgspec.json.encode(event(1)), b"{oops"])
    result = run("simulate", "--rules", str(SEED_RULES), "--trace", str(trace), "--strict")
    assert result.exit_code == 1
    assert f"{trace}:2:1: error: malformed event" in result.stderr
    assert "Traceback" not in result.output


def test_planted_disagreement_is_a_mismatch_with_exit_1(tmp_path):
    rules = tmp_path / "p.rules"
    rules.write_text("deny ECS RunInstances, DeleteInstance\n")
    policy = compile_sources([(str(rules), rules.read_text())])
    doc = policy.ram_documents()[0]
    doc["Statement"][0]["Action"].remove("ecs:DeleteInstance")  # the planted change
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    trace = write_jsonl(
        tmp_path / "t.jsonl",
        [
            msgspec.json.encode(event(1)),
            msgspec.json.encode(event(2, name="DeleteInstance")),
            msgspec.json.encode(event(3, name="DeleteInstance")),
        ],
    )
    out = tmp_path / "r.json"
    result = run(
        "simulate",
        "--rules",
        str(rules),
        "--policy",
        str(altered),
        "--trace",
        str(trace),
        "--report",
        str(out),
    )
    assert result.exit_code == 1
    report = json.loads(out.read_text())
    assert report["mismatches"]["count"] == 2
    first = report["mismatches"]["examples"][0]
    assert (first["event_id"], first["action"], first["trie"], first["ram"], first["line"]) == (
        "ev-2",
        "ecs:DeleteInstance",
        "deny",
        "allow",
        2,
    )
    assert "Mismatches" in result.output


def test_fail_on_deny_exits_3_and_recorded_denies_are_compared(tmp_path):
    leaked = {
        "errorCode": "Forbidden",
        "errorMessage": "Forbidden : There is a risk of leakage of this AccessKey.",
    }
    trace = write_jsonl(
        tmp_path / "t.jsonl",
        [
            msgspec.json.encode(event(1, **leaked)),
            msgspec.json.encode(event(2, name="DescribeInstances")),
            msgspec.json.encode(event(3, name="DescribeInstances", **leaked)),
        ],
    )
    out = tmp_path / "r.json"
    result = run(
        "simulate",
        "--rules",
        str(SEED_RULES),
        "--trace",
        str(trace),
        "--report",
        str(out),
        "--fail-on-deny",
        "-q",
    )
    assert result.exit_code == 3
    matrix = json.loads(out.read_text())["recorded"]["matrix"]
    assert matrix["deny"] == {"deny": 1, "allow": 1}
    assert matrix["allow"] == {"deny": 0, "allow": 1}


def test_report_has_the_contract_fields(tmp_path):
    out = tmp_path / "r.json"
    sample = Path(__file__).parent / "data" / "sample-trace.jsonl.gz"
    result = run(
        "simulate", "--rules", str(SEED_RULES), "--trace", str(sample), "--report", str(out)
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    for key in (
        "events",
        "malformed",
        "decided",
        "denied",
        "allowed",
        "mismatches",
        "recorded",
        "by_rule",
        "by_access_key",
        "engines",
    ):
        assert key in report
    assert report["events"] == 1000 == report["decided"] + report["malformed"]["count"]
    assert report["mismatches"]["count"] == 0
    assert report["denied"] > 0 and report["recorded"]["matrix"]["deny"]["deny"] > 0
    for name in ("trie", "ram"):
        engine = report["engines"][name]
        assert engine["decisions"] == 1000
        for key in ("seconds", "decisions_per_second", "p50_ns", "p99_ns"):
            assert engine[key] is not None and engine[key] > 0
    # Piped output: a summary table, and no progress bar drawn.
    assert "Replay" in result.output and "replaying" not in result.output


def _without_timing(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "engines"} | {
        "decisions": {n: e["decisions"] for n, e in report["engines"].items()}
    }


def test_split_replay_merges_into_the_same_report(tmp_path):
    lines = [
        msgspec.json.encode(event(i, name=n))
        for i, n in enumerate(
            ["RunInstances", "DescribeInstances", "DeleteInstance", "StopInstance"] * 60
        )
    ]
    lines[17] = b"{broken"
    lines[150] = b"{broken too"
    trace = write_jsonl(tmp_path / "t.jsonl", lines)
    policy = compile_sources(
        [
            (
                str(SEED_RULES / "leaked-accesskey-protection.rules"),
                (SEED_RULES / "leaked-accesskey-protection.rules").read_text(),
            )
        ]
    )
    engines = Engines.for_policy(policy)
    whole = report_dict(simulate([str(trace)], engines), [str(trace)], engines)
    splits = plan([str(trace)], split_bytes=2000)
    assert len(splits) > 5
    parts = [replay_split(s, engines) for s in splits]
    forward = PartialReport()
    for p in parts:
        forward = forward.merge(p)
    backward = PartialReport()
    for p in reversed(parts):
        backward = p.merge(backward)
    # (a·b)·c == a·(b·c), and order does not matter.
    assert _without_timing(report_dict(forward, [str(trace)], engines)) == _without_timing(whole)
    assert _without_timing(report_dict(backward, [str(trace)], engines)) == _without_timing(whole)
    assert [m["line"] for m in whole["malformed"]["first"]] == [18, 151]


@given(st.integers(min_value=0, max_value=10**12))
def test_latency_buckets_are_within_7_percent(ns):
    value = bucket_value(bucket_of(ns))
    assert abs(value - ns) <= max(1.0, 0.07 * ns)
    assert bucket_of(ns) <= bucket_of(ns + 1)


def test_missing_trace_file_is_a_clean_error(tmp_path):
    result = run("simulate", "--rules", str(SEED_RULES), "--trace", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert "nope.jsonl" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("doc", [{"Version": "2", "Statement": []}, {"Statement": "x"}])
def test_bad_policy_json_is_a_clean_error(tmp_path, doc):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    sample = Path(__file__).parent / "data" / "sample-trace.jsonl.gz"
    result = run(
        "simulate", "--rules", str(SEED_RULES), "--policy", str(bad), "--trace", str(sample)
    )
    assert result.exit_code == 1
    assert "bad.json" in result.stderr and "Traceback" not in result.output


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=rules_text(), reqs=st.lists(requests(), min_size=1, max_size=25))
def test_decide_many_agrees_with_decide(text, reqs):
    policy = compile_sources([("random.rules", text)])
    flags = policy.decide_many(reqs)
    assert flags == [policy.decide(action, context).denied for action, context in reqs]
