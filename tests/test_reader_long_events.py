"""JSON lines of ActionTrail's real size (1-3 KB: requestParameters, userAgent, …) are read
through the one-pass typed decoder, as short ones are; only a line that does nest too deep
is read apart, and it is the one malformed event. Every chunk holding a line over 1,280
bytes went line by line, so a real trail never took the fast path (issue 15 item 4)."""

from __future__ import annotations

import json

from compiler.catalog import default_catalog
from compiler.replay.arrays import MAX_DEPTH
from compiler.replay.events import Malformed, TraceEvent
from compiler.replay.normalise import FastEvent
from compiler.replay.reader import Run, read_events, read_runs


def _event(i: int) -> dict:
    return {
        "eventId": f"e{i}",
        "eventName": "DeleteInstance",
        "eventSource": "ecs.aliyuncs.com",
        "eventTime": f"2026-12-01T00:{i % 60:02d}:01Z",
        "acsRegion": "cn-hangzhou",
        "userIdentity": {"type": "ram-user", "accountId": "111", "userName": "bob"},
        "requestParameters": {"InstanceId": f"i-{i}", "Description": "x" * 1400},
    }


def test_events_over_1280_bytes_are_read_in_one_typed_pass(tmp_path):
    path = tmp_path / "trail.jsonl"
    lines = [json.dumps(_event(i)) for i in range(50)]
    assert min(map(len, lines)) > 1280
    path.write_text("\n".join(lines) + "\n")
    (run,) = list(read_runs(path, 0))
    assert isinstance(run, Run) and list(run.lines) == list(range(1, 51))
    assert all(type(ev) is FastEvent for ev in run.events)
    assert set(run.regions) == {"cn-hangzhou"}


def test_a_too_deep_long_line_among_long_events_is_the_one_malformed(tmp_path):
    path = tmp_path / "trail.jsonl"
    deep = dict(
        _event(99),
        requestParameters={"x": json.loads("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5))},
    )
    lines = [json.dumps(_event(i)) for i in range(3)] + [json.dumps(deep)]
    lines += [json.dumps(_event(i)) for i in range(3, 6)]
    path.write_text("\r\n".join(lines) + "\r\n")
    got = list(read_events(path, 0, default_catalog()))
    assert [g.line for g in got] == [1, 2, 3, 4, 5, 6, 7]
    assert [type(g) for g in got] == [TraceEvent] * 3 + [Malformed] + [TraceEvent] * 3
    assert got[3].reason == f"nested deeper than {MAX_DEPTH} levels"
    assert [g.event_id for g in got if isinstance(g, TraceEvent)] == [
        "e0",
        "e1",
        "e2",
        "e3",
        "e4",
        "e5",
    ]
