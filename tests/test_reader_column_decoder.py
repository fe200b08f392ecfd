"""A replay no rule of which needs a resource decodes events without the resource's fields
(``ColumnEvent``, ``read_runs(resources=False)``): it must read every trace as the full
decoder does, the same events and the same malformed lines with the same reasons, whatever
the resource's fields hold, and a batch's columns must not care which decoder an event came
from (a chunk with a malformed line is decoded again, line by line, as full ``Event``s)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from compiler.catalog import default_catalog
from compiler.replay.columns import FIELDS, Batch
from compiler.replay.events import Malformed
from compiler.replay.normalise import ColumnEvent, Event, Mapper
from compiler.replay.reader import read_events, read_range_runs, read_runs

CATALOG = default_catalog()

GOOD = {
    "eventId": "e1",
    "eventName": "DeleteInstance",
    "eventSource": "ecs.aliyuncs.com",
    "eventTime": "2026-12-01T00:00:01Z",
    "acsRegion": "cn-hangzhou",
    "sourceIpAddress": "203.0.113.9",
    "userIdentity": {
        "type": "ram-user",
        "accountId": "111",
        "userName": "bob",
        "accessKeyId": "LTAI5tBob",
        "sessionContext": {"attributes": {"mfaAuthenticated": "true"}},
    },
    "additionalEventData": {"Scheme": "https"},
}

# Whatever the resource's fields hold, they are raw JSON to both decoders.
RESOURCE_VALUES = [
    {"requestParameters": {"InstanceId": "i-1", "Tags": [{"Key": "env", "Value": "prod"}]}},
    {"requestParameters": "a string"},
    {"requestParameters": [1, 2, {"x": None}]},
    {"requestParameters": 12.5e300, "resourceType": None},
    {"referencedResources": {"ACS::ECS::Instance": ["i-1", "i-2"]}, "resourceName": 7},
    {"recipientAccountId": {"nested": True}, "resourceName": "i-9;i-10"},
]

# Each line is malformed for the full decoder; the light one must say so with its reason.
MALFORMED = [
    '{"eventName": "X", "requestParameters": {bad}}',
    '{"eventName": "X", "requestParameters": [1, 2}',
    '{"eventName": "X", "referencedResources": tru}',
    '{"eventName": 5, "requestParameters": {}}',
    '{"eventName": "' + "A" * 300 + '", "requestParameters": {}}',
    '{"eventName": "X", "eventTime": "2026-12-01T00:00:01.1234567Z"}',
    '{"eventName": "X", "userIdentity": "nope", "resourceType": "x"}',
    '{"eventName": "X", "requestParameters": ' + "[" * 700 + "]" * 700 + "}",
]


def _lines() -> list[str]:
    lines = []
    for i, extra in enumerate(RESOURCE_VALUES * 3):
        lines.append(json.dumps(dict(GOOD, eventId=f"e{i}", **extra)))
        if i % 4 == 3:
            lines.append(MALFORMED[(i // 4) % len(MALFORMED)])
    return lines + MALFORMED


def _trace(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _without_where(items: list) -> list:
    return [
        item if item.__class__ is Malformed else msgspec.structs.replace(item, where=None)
        for item in items
    ]


def test_without_resources_the_same_events_and_the_same_malformed_lines(tmp_path):
    path = _trace(tmp_path, _lines())
    full = list(read_events(path, 0, CATALOG, resources=True))
    light = list(read_events(path, 0, CATALOG, resources=False))
    malformed = [(m.line, m.reason) for m in light if m.__class__ is Malformed]
    assert malformed == [(m.line, m.reason) for m in full if m.__class__ is Malformed]
    assert len(malformed) == len(MALFORMED) + len(RESOURCE_VALUES * 3) // 4
    assert light == _without_where(full)
    # The full read does see the resource fields the light one leaves out.
    assert any(item.where is not None for item in full if item.__class__ is not Malformed)


def test_good_chunks_decode_to_column_events_and_the_rest_to_full_events(tmp_path):
    good = [json.dumps(dict(GOOD, **extra)) for extra in RESOURCE_VALUES]
    path = _trace(tmp_path, good)
    (run,) = list(read_runs(path, 0, resources=False))
    assert {type(ev) for ev in run.events} == {ColumnEvent}
    (run,) = list(read_runs(path, 0))
    assert {type(ev) for ev in run.events} != {ColumnEvent}
    # A malformed line sends its chunk line by line through the full decoder.
    path = _trace(tmp_path, [*good, MALFORMED[0], *good])
    kinds = {
        type(ev)
        for r in read_runs(path, 0, resources=False)
        if r.__class__ is not Malformed
        for ev in r.events
    }
    assert kinds == {Event}


@pytest.mark.parametrize("broken", [False, True], ids=["fast-path", "line-by-line"])
def test_columns_of_either_decoder_are_the_per_event_normalisers(tmp_path, broken):
    lines = [json.dumps(dict(GOOD, eventId=f"e{i}", **x)) for i, x in enumerate(RESOURCE_VALUES)]
    if broken:
        lines.insert(2, MALFORMED[3])
    path = _trace(tmp_path, lines * 2)
    events = [
        e for e in read_events(path, 0, CATALOG, resources=False) if e.__class__ is not Malformed
    ]
    mapper = Mapper(CATALOG, resources=False)
    batch = Batch()
    end = path.stat().st_size
    for run in read_range_runs(path, 0, 0, end, 1, resources=False):
        if run.__class__ is not Malformed:
            batch.extend(mapper, run.source, run.lines, run.events, run.regions)
    expected = Batch.of_events(events)
    for name in FIELDS:
        assert getattr(batch, name) == getattr(expected, name), name
    assert [batch[i] for i in range(len(batch))] == events


@pytest.mark.parametrize("bad", range(len(MALFORMED)))
def test_one_malformed_line_among_good_ones_is_found_by_either_decoder(tmp_path, bad):
    # Alone in its chunk: the light decoder's one pass over the chunk must refuse it.
    good = [json.dumps(dict(GOOD, eventId=f"e{i}", **x)) for i, x in enumerate(RESOURCE_VALUES)]
    path = _trace(tmp_path, [*good, MALFORMED[bad], *good])
    full = list(read_events(path, 0, CATALOG, resources=True))
    light = list(read_events(path, 0, CATALOG, resources=False))
    assert [(m.line, m.reason) for m in light if m.__class__ is Malformed] == [
        (len(good) + 1, m.reason) for m in full if m.__class__ is Malformed
    ]
    assert light == _without_where(full)
