"""The replay's columns (``replay.columns.Batch``) say what the per-event normaliser says.

The replay reads a batch as columns and builds a TraceEvent only where it needs one; these
tests hold it to the per-event path (``read_events``): every column, every lazily built
event and every memo key, on a generated trace and on events chosen for their edges (no
caller, MFA spellings, non-address source, empty region, errors, HTTPS, a delivery path's
account and region).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.catalog import default_catalog
from compiler.replay import Malformed, generate_events, read_events, write_trace
from compiler.replay.columns import FIELDS, Batch, Batches
from compiler.replay.memo import KNOWN, Memo
from compiler.replay.normalise import Mapper
from compiler.replay.reader import read_runs

CATALOG = default_catalog()

EDGES = [
    {"eventName": "DescribeInstances", "eventSource": "ecs.aliyuncs.com", "eventId": "a"},
    {
        "eventName": "RunInstances",
        "serviceName": "Ecs",
        "eventTime": "2026-12-01T00:00:01Z",
        "sourceIpAddress": "Internal",
        "acsRegion": "",
        "userIdentity": {
            "type": "assumed-role",
            "accountId": "1",
            "userName": "ci:run-1",
            "sessionContext": {"attributes": {"mfaAuthenticated": "TRUE"}},
        },
        "additionalEventData": {"Scheme": " HTTPS "},
    },
    {
        "eventName": "CreateUser",
        "eventSource": "ram.aliyuncs.com",
        "eventTime": "2026-12-01T08:00:01+08:00",
        "sourceIpAddress": "2001:db8::1",
        "vpcId": "vpc-1",
        "errorCode": "Forbidden",
        "errorMessage": "Forbidden : There is a risk of leakage of this AccessKey.",
        "userIdentity": {"type": "ram-user", "userName": "bob", "accessKeyId": "LTAI1"},
    },
    {
        "eventName": "GetLogStore",
        "serviceName": "Sls",
        "sourceIpAddress": "10.0.0.1",
        "errorCode": "Throttling",
        "acsRegion": "cn-beijing",
        "userIdentity": {
            "type": "ram-user",
            "userName": "eve",
            "sessionContext": {"attributes": {"mfaAuthenticated": False}},
        },
        "additionalEventData": {"Scheme": "http"},
    },
    {"eventName": "Frobnicate", "serviceName": "", "errorCode": "NoPermission"},
    {"eventName": "StartInstance", "eventSource": "nowhere.example.com", "errorCode": ""},
]


def _trace(tmp_path: Path) -> Path:
    events = list(generate_events(3_000, 11, CATALOG, lambda a: a.startswith("ecs:Run")))
    path = tmp_path / "t.jsonl"
    write_trace(path, [*EDGES, *events, *EDGES], "jsonl")
    return path


def _columns(path: Path, account=None, region=None) -> Batch:
    mapper = Mapper(CATALOG, account=account, region=region, resources=False)
    batch = Batch()
    for run in read_runs(path, 0):
        assert run.__class__ is not Malformed
        batch.extend(mapper, run.source, run.lines, run.events, run.regions)
    return batch


@pytest.mark.parametrize(
    ("account", "region"), [(None, None), ("999", "cn-shanghai")], ids=["bare", "delivery-path"]
)
def test_columns_and_events_are_the_per_event_normalisers(tmp_path, account, region):
    path = _trace(tmp_path)
    events = list(read_events(path, 0, CATALOG, account=account, region=region, resources=False))
    columns = _columns(path, account, region)
    expected = Batch.of_events(events)
    assert len(columns) == len(events)
    for name in FIELDS:
        assert getattr(columns, name) == getattr(expected, name), name
    assert [columns[i] for i in range(len(events))] == events


def test_memo_keys_from_columns_are_the_keys_from_contexts(tmp_path):
    path = _trace(tmp_path)
    events = list(read_events(path, 0, CATALOG, resources=False))
    columns = _columns(path)
    # Every key the normaliser writes is relevant: each column is compared.
    memo = Memo((), frozenset(k.lower() for k in KNOWN))
    assert memo._keys(columns, None) == memo._keys(events, None)
    assert Memo((), frozenset())._keys(columns, None) == [e.action for e in events]


def test_a_batch_cut_anywhere_keeps_its_events(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in EDGES * 3))
    events = list(read_events(path, 0, CATALOG, resources=False))
    for cut in (0, 1, 5, len(events) - 1, len(events)):
        head, rest = _columns(path).take(cut)
        assert [head[i] for i in range(len(head))] == events[:cut]
        assert [rest[i] for i in range(len(rest))] == events[cut:]
        assert head.action + rest.action == [e.action for e in events]


@pytest.mark.parametrize("size", [1, 4, 7, 5_000])
def test_runs_cut_into_batches_keep_every_event_in_order(tmp_path, size):
    path = _trace(tmp_path)
    events = list(read_events(path, 0, CATALOG, resources=False))
    mapper = Mapper(CATALOG, resources=False)
    batches = Batches(size)
    full = []
    for run in read_runs(path, 0):
        full.extend(batches.add(mapper, run.source, run.lines, run.events, run.regions))
    assert all(len(b) == size for b in full)
    assert len(batches.pending) == len(events) % size
    got = [b[i] for b in [*full, batches.pending] for i in range(len(b))]
    assert got == events
    assert [a for b in [*full, batches.pending] for a in b.action] == [e.action for e in events]
