"""Issue 15 item 4: ``simulate`` in one process reads a big JSON-lines file once. Its byte
ranges are cut where ``split_points`` cuts them, found by seeking (``cut_points``), and each
range's lines are numbered from where the range before it ended, as it is read; the report
is the one the counted plan gives, line numbers of malformed events and examples included."""

from __future__ import annotations

import json
import random
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import compile_sources
from compiler.replay import reader
from compiler.replay.reader import cut_points, split_points
from compiler.replay.simulate import (
    Engines,
    PartialReport,
    plan,
    replay_split,
    simulate,
)

RULES = "deny ECS RunInstances, DeleteInstance\ndeny RAM *\n"
SCOPED = "deny ECS DeleteInstance, RunInstances on acs:ecs:*:*:instance/i-prod*\ndeny RAM *\n"
BAD = (b"{bad json", b'{"eventName": 5}', b"[1, 2]")


def _engines(tmp_path, text: str) -> Engines:
    rules = tmp_path / "p.rules"
    rules.write_text(text)
    policy = compile_sources([(str(rules), text)])
    docs = [(d.filename, d.as_dict()) for d in policy.documents]
    # The JSON loses one action: DeleteInstance calls are trie/RAM mismatches (examples).
    for statement in docs[0][1]["Statement"]:
        if "ecs:DeleteInstance" in statement["Action"]:
            statement["Action"].remove("ecs:DeleteInstance")
    return Engines.for_policy(policy, docs)


def _trace(path, n: int, seed: int) -> list[int]:
    """``n`` events with malformed and blank lines among them; returns the malformed lines."""
    rng = random.Random(seed)
    names = ("DeleteInstance", "RunInstances", "DescribeInstances", "CreateUser")
    lines, bad = [], []
    for i in range(n):
        roll = rng.random()
        if roll < 0.03:
            lines.append(rng.choice(BAD))
            bad.append(len(lines))
            continue
        if roll < 0.06:
            lines.append(b"")
            continue
        name = rng.choice(names)
        event = {
            "eventId": f"ev-{i:05d}",
            "eventName": name,
            "eventSource": "ram.aliyuncs.com" if name == "CreateUser" else "ecs.aliyuncs.com",
            "eventTime": f"2026-03-02T{i % 24:02d}:{i % 60:02d}:00Z",
            "sourceIpAddress": f"203.0.113.{i % 200}",
            "requestParameters": {"InstanceId": f"i-prod{i % 5}"},
            "acsRegion": "cn-hangzhou",
            "userIdentity": {
                "type": "ram-user",
                "accountId": "1234567890123456",
                "accessKeyId": f"LTAI5tKEY{i % 7}",
            },
        }
        lines.append(json.dumps(event).encode())
    path.write_bytes(b"\n".join(lines) + b"\n")
    return bad


@pytest.mark.parametrize("rules", [RULES, SCOPED], ids=["columns", "with-resources"])
@pytest.mark.parametrize("split_bytes", [4_000, 30_000, 1 << 24])
def test_one_pass_report_is_the_counted_plans_report(timeless_report, tmp_path, rules, split_bytes):
    engines = _engines(tmp_path, rules)
    trace = tmp_path / "trace.jsonl"
    bad = _trace(trace, 600, seed=split_bytes)
    sources = [str(trace)]
    counted = plan(sources, split_bytes)
    assert len(counted) > 1 or split_bytes == 1 << 24
    merged = reduce(PartialReport.merge, [replay_split(s, engines) for s in counted])
    got = simulate(sources, engines, split_bytes=split_bytes)
    assert timeless_report(got, sources, engines) == timeless_report(merged, sources, engines)
    # The lines a user is pointed at are the file's own lines, in every range.
    data = timeless_report(got, sources, engines)
    assert [m["line"] for m in data["malformed"]["first"]] == bad[:20]
    assert data["mismatches"]["count"] > 0


def test_the_one_pass_plan_does_not_read_the_file_through(timeless_report, tmp_path, monkeypatch):
    engines = _engines(tmp_path, RULES)
    trace = tmp_path / "trace.jsonl"
    _trace(trace, 300, seed=1)

    def refused(*_args, **_kwargs):
        raise AssertionError("split_points read the file through")

    expected = timeless_report(
        simulate([str(trace)], engines, split_bytes=5_000), [str(trace)], engines
    )
    monkeypatch.setattr("compiler.replay.planning.split_points", refused)
    got = simulate([str(trace)], engines, split_bytes=5_000)
    assert timeless_report(got, [str(trace)], engines) == expected
    with pytest.raises(AssertionError, match="read the file through"):
        plan([str(trace)], 5_000)  # the counted plan (for other processes) still counts


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 120), max_size=40),
    st.booleans(),
    st.booleans(),
    st.integers(1, 2_000),
)
def test_cuts_are_split_points_ranges(tmp_path_factory, lengths, last_newline, bom, target):
    body = b"\n".join(b"x" * n for n in lengths) + (b"\n" if last_newline else b"")
    path = tmp_path_factory.mktemp("cuts") / "t.jsonl"
    path.write_bytes((reader._BOM if bom else b"") + b"{}\n" + body)
    assert cut_points(path, target) == [(s, e) for s, e, _ in split_points(path, target)]
