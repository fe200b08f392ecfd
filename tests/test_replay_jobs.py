"""``--jobs N`` (issue 14 items 3 and 6): this process and N - 1 helpers take splits from a
shared counter and count them into one report each; the report is the same as one process's
for any N, however the splits fell to the processes, ties in the example lists included."""

from __future__ import annotations

import gzip
import json
import multiprocessing
from functools import reduce
from pathlib import Path

import pytest

from compiler import compile_sources
from compiler.replay import TraceError
from compiler.replay.cluster import process_runner
from compiler.replay.simulate import (
    Engines,
    PartialReport,
    plan,
    replay_split,
    simulate,
)

RULES = "deny ECS RunInstances, DeleteInstance\ndeny RAM *\n"


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """Rules whose JSON lost one action: every DeleteInstance is a trie/RAM mismatch."""
    rules = tmp_path_factory.mktemp("rules") / "p.rules"
    rules.write_text(RULES)
    policy = compile_sources([(str(rules), RULES)])
    docs = [(d.filename, d.as_dict()) for d in policy.documents]
    docs[0][1]["Statement"][0]["Action"].remove("ecs:DeleteInstance")
    return Engines.for_policy(policy, docs)


def _event(n: int, name: str) -> dict:
    return {
        "eventId": f"ev-{n:05d}",
        "eventName": name,
        "eventSource": "ecs.aliyuncs.com" if name != "CreateUser" else "ram.aliyuncs.com",
        "eventTime": f"2026-03-02T{n % 24:02d}:00:00Z",
        "sourceIpAddress": f"203.0.113.{n % 200}",
        "userIdentity": {"type": "ram-user", "accessKeyId": f"LTAI5tKEY{n % 7}"},
    }


@pytest.fixture(scope="module")
def compact_files(tmp_path_factory):
    """Files that are one compact JSON line each: every event of a file has the same line,
    so the example lists (mismatches, malformed) are full of ties on (file, line), broken
    by the event id, with event ids out of order within the line."""
    root = tmp_path_factory.mktemp("compact")
    names = ("DeleteInstance", "RunInstances", "DescribeInstances", "CreateUser")
    paths = []
    for f in range(8):
        events = [_event(f * 100 + (k * 37) % 60, names[(f + k) % 4]) for k in range(60)]
        body = json.dumps(events, separators=(",", ":"))
        if f in (2, 5):  # malformed elements too: ties among malformed examples
            body = body[:-1] + ',{"eventName":7},{"eventTime":"soon"},[]]'
        path = root / f"f{f}.json.gz"
        path.write_bytes(gzip.compress(body.encode(), mtime=0))
        paths.append(str(path))
    return paths


# here=False: only helpers replay (this process plans and gathers), so that their side of
# the runner (the plan by pipe, progress, one report each, errors as values) is exercised
# whatever the machine's speed; with here=True this process may take every split of a
# small plan before a helper is up.
@pytest.mark.parametrize("here", [True, False], ids=["here", "helpers-only"])
@pytest.mark.parametrize("jobs", [2, 3])
@pytest.mark.parametrize("split_events", [1, 12])
def test_any_jobs_give_the_report_of_one_process_ties_included(
    timeless_report, compact_files, engines, jobs, split_events, here
):
    sources = compact_files
    splits = plan(sources, split_events=split_events)
    assert len(splits) >= 3
    # The definition: one report per split, merged (in any order).
    per_split = [replay_split(s, engines) for s in splits]
    merged = reduce(PartialReport.merge, reversed(per_split), PartialReport())
    expected = timeless_report(merged, sources, engines)
    assert expected["mismatches"]["count"] > 20 and expected["malformed"]["count"] >= 6
    one = simulate(sources, engines, split_events=split_events)
    assert timeless_report(one, sources, engines) == expected
    runner = process_runner(jobs, here=here)
    got = simulate(sources, engines, split_events=split_events, runner=runner)
    assert timeless_report(got, sources, engines) == expected


def test_counting_splits_into_one_report_equals_merging_their_reports(
    timeless_report, compact_files, engines
):
    splits = plan(compact_files, split_events=12)
    assert 3 <= len(splits) < len(compact_files)
    into = PartialReport()
    for split in splits:
        assert replay_split(split, engines, into=into) is into
    merged = reduce(PartialReport.merge, [replay_split(s, engines) for s in splits])
    assert timeless_report(into, compact_files, engines) == timeless_report(
        merged, compact_files, engines
    )


def test_more_jobs_than_splits(timeless_report, compact_files, engines):
    sources = compact_files[:2]
    expected = timeless_report(simulate(sources, engines, split_events=1), sources, engines)
    got = simulate(sources, engines, split_events=1, runner=process_runner(5))
    assert timeless_report(got, sources, engines) == expected


def test_the_earliest_failing_split_is_the_error_whoever_ran_it(compact_files, engines):
    bad = []
    for name in ("f3b.json.gz", "f6b.json.gz"):  # sorted after f3 and f6
        path = Path(compact_files[0]).with_name(name)
        path.write_bytes(b"\x1f\x8b\x08\x00" + b"not gzip at all" * 10)
        bad.append(str(path))
    sources = [*compact_files, *bad]
    try:
        with pytest.raises(TraceError) as serial:
            simulate(sources, engines, split_events=1)
        for jobs, here in ((2, True), (3, True), (2, False), (3, False)):
            runner = process_runner(jobs, here=here)
            with pytest.raises(TraceError) as parallel:
                simulate(sources, engines, split_events=1, runner=runner)
            assert str(parallel.value) == str(serial.value)
        assert str(serial.value).startswith(bad[0])
    finally:
        for path in bad:
            Path(path).unlink()


@pytest.mark.parametrize("here", [True, False], ids=["here", "helpers-only"])
def test_progress_counts_every_event_once(compact_files, engines, here):
    seen: list[int] = []
    runner = process_runner(2, here=here)
    got = simulate(compact_files, engines, split_events=1, runner=runner, progress=seen.append)
    assert sum(seen) == got.events + got.outside_window == 8 * 60 + 6


def test_a_helper_that_dies_fails_the_run(compact_files, engines):
    import os
    import signal

    def kill_a_helper(_n: int) -> None:  # at the first split done: a helper is mid-plan
        for child in multiprocessing.active_children():
            os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(RuntimeError, match=r"replay process \(pid \d+\) died with exit code -9"):
        simulate(
            compact_files * 6,  # 48 splits: the helper is far from done at its first
            engines,
            split_events=1,
            runner=process_runner(1, here=False),
            progress=kill_a_helper,
        )
