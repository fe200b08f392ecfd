"""An event's time is optional: ActionTrail writes `eventTime`, but a trace cut by hand or
by another tool may not, and simulate counts such an event under no hour (issue 15 item 4
counted hours with a slice that read the missing time and raised TypeError)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_events_without_a_time_are_replayed_and_counted_under_no_hour(run_cli, tmp_path, jobs):
    trace = tmp_path / "t.jsonl"
    events = [
        {"eventName": "CreateFunction", "serviceName": "FC"},
        {"eventName": "DeleteUser", "serviceName": "Ram"},
        {"eventName": "DeleteUser", "serviceName": "Ram", "eventTime": "2026-12-01T13:59:59Z"},
    ]
    trace.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = run_cli(
        "simulate", "--rules", "policies", "--trace", trace, "--format", "json", "--jobs", jobs
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["events"], report["decided"], report["malformed"]["count"]) == (3, 3, 0)
    assert report["denied"] == 2  # ram:DeleteUser, with and without a time
    assert report["over_time"]["series"] == [
        {"start": "2026-12-01T13:00:00Z", "events": 1, "denied": 1}
    ]
