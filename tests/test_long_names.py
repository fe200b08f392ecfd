"""F9: matching a glob against an action costs up to |pattern| × |action| on a first sighting
(`*a`×2,000+`b` against a 4,000-character action took seconds), so both are bounded: a rule's
operation of more than MAX_NAME characters is an error, a trace event naming a longer API is
one malformed event, and `decide` refuses such an action. Each test failed before the bound.
Also: a key repeated in one trace event keeps its last value (documented, not malformed)."""

from __future__ import annotations

import json

import msgspec
import pytest

from compiler import compile_sources
from compiler.catalog import default_catalog
from compiler.language.diagnostics import CompileError
from compiler.model.glob import MAX_NAME
from compiler.replay import Malformed, TraceEvent, read_events


def test_a_rule_operation_longer_than_the_bound_is_an_error():
    pattern = "*a" * 2000 + "b"
    with pytest.raises(CompileError) as caught:
        compile_sources([("x.rules", f"deny ECS {pattern}\n")])
    (diag,) = caught.value.errors
    assert diag.code == "E0222"
    assert (diag.span.line, diag.span.col) == (1, 10)
    assert diag.message.endswith("is 4,001 characters long")
    assert str(MAX_NAME) in diag.help


def test_the_bound_itself_compiles():
    compile_sources([("x.rules", "deny ECS " + "A" * (MAX_NAME - 1) + "*\n")])


def test_trace_events_with_overlong_names_are_malformed(tmp_path):
    path = tmp_path / "t.jsonl"
    events = [
        {"eventName": "RunInstances", "serviceName": "Ecs"},
        {"eventName": "a" * 20_000, "serviceName": "Ecs"},
        {"eventName": "b" * (MAX_NAME + 1), "serviceName": "Ecs", "eventTime": "2026-12-01"},
    ]
    path.write_bytes(b"\n".join(msgspec.json.encode(e) for e in events) + b"\n")
    got = list(read_events(path, 0, default_catalog()))
    assert [type(e) for e in got] == [TraceEvent, Malformed, Malformed]
    assert got[1].reason == f"eventName longer than {MAX_NAME} characters"
    # An array element takes the same path.
    array = tmp_path / "t.json"
    array.write_text(json.dumps(events[:2]))
    assert [type(e) for e in read_events(array, 0, default_catalog())] == [TraceEvent, Malformed]


def test_decide_refuses_an_overlong_action(run_cli):
    result = run_cli("decide", "--rules", "policies", "ecs:" + "a" * 4000)
    assert result.exit_code == 2
    assert "no API is so long" in result.stderr


def test_a_repeated_key_keeps_its_last_value(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"eventName": "DescribeInstances", "eventName": "RunInstances"}\n')
    (event,) = read_events(path, 0, default_catalog())
    assert event.event_name == "RunInstances"
