"""The replay's plan (issue 14 items 2 and 6): delivery names parsed, pruned and grouped by
whole-list fast paths that must give exactly what the plain per-name reading gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.replay.planning import MAX_PARTS, Part, Split, _estimate, plan, sorted_fields
from compiler.replay.sources import (
    PRUNE_SLACK,
    Source,
    _delivery_fields_by_parts,
    delivery_fields,
    delivery_info,
    names_fields,
    prune,
    stamp_time,
)

MULTI = (
    "oss://b/AliyunLogs/Actiontrail/rd-ab12/1234567890123456/cn-hangzhou/2026/03/02/"
    "Actiontrail_cn-hangzhou_20260302101500_1002_42_1234_0123456789abcdef.gz"
)

# Pieces a path is drawn from: the layout's own, and the odd ones the fast paths must not
# read differently (Unicode digits, underscores, a second AliyunLogs, newlines, no slash).
_DIR = st.sampled_from(
    [
        "oss://b",
        "/data",
        "",
        "AliyunLogs",
        "Actiontrail",
        "rd-ab12",
        "1234567890123456",
        "12\u0663",
        "cn-hangzhou",
        "cn_hangzhou",
        "2026",
        "03",
        "x\ny",
        "AliyunLogsX",
    ]
)
_REGION = st.sampled_from(["cn-hangzhou", "cn-beijing", "", "a_b", "x/y", "é"])
_STAMP = st.sampled_from(
    ["20260302101500", "2026030210150", "202603021015000", "2026030210150\u0664", "abc"]
)
_NUMBER = st.sampled_from(["42", "0", "007", "", "4\u00b2", "\u0664\u0662", "x"])


@st.composite
def paths(draw) -> str:
    dirs = draw(st.lists(_DIR, max_size=10))
    if draw(st.booleans()):  # the layout itself, single- or multi-account
        region = draw(_REGION)
        dirs = [*dirs, "AliyunLogs", "Actiontrail"]
        if draw(st.booleans()):
            dirs += ["rd-ab12", draw(st.sampled_from(["1234567890123456", "12\u0663", "x"]))]
        dirs += [draw(st.sampled_from([region, "cn-other"])), "2026", "03", "02"]
    else:
        region = draw(_REGION)
    name = "_".join(
        [
            draw(st.sampled_from(["Actiontrail", "actiontrail", "Actiontrail_x"])),
            region,
            draw(_STAMP),
            "1002",
            draw(_NUMBER),
            draw(_NUMBER),
            draw(st.sampled_from(["0123abcd", "", "a.gz", "a_b"])),
        ]
    ) + draw(st.sampled_from([".gz", ".json", ".gz\r", ""]))
    return "/".join([*dirs, name])


def test_delivery_paths_single_and_multi_account():
    assert delivery_fields(MULTI) == (
        MULTI,
        1234,
        "1234567890123456",
        "cn-hangzhou",
        "20260302101500",
        42,
    )
    single = MULTI.replace("rd-ab12/1234567890123456/", "")
    assert delivery_fields(single)[1:] == (1234, None, "cn-hangzhou", "20260302101500", 42)
    # The account directory must sit before the same region the name gives.
    other = MULTI.replace("/cn-hangzhou/2026", "/cn-beijing/2026")
    assert delivery_fields(other)[2] is None
    assert delivery_info(MULTI) == Source(*delivery_fields(MULTI))


@settings(max_examples=400, deadline=None)
@given(st.lists(paths(), max_size=8))
def test_fast_paths_read_every_name_as_the_plain_reading_does(names):
    expected = [_delivery_fields_by_parts(n) for n in names]
    assert [delivery_fields(n) for n in names] == expected
    assert names_fields(names) == expected


def test_names_fields_is_one_pass_for_a_trail_and_per_name_otherwise():
    trail = [MULTI.replace("_42_", f"_{n}_") for n in range(50)]
    assert names_fields(trail) == [delivery_fields(n) for n in trail]
    mixed = [*trail, "/x/trace.jsonl.gz"]
    assert names_fields(mixed)[-1] == ("/x/trace.jsonl.gz", None, None, None, None, None)
    assert names_fields([]) == []


# --- pruning by the time in the name ---------------------------------------------------------

_STAMPS = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda d: d.strftime("%Y%m%d%H%M%S").zfill(14)
    ),
    st.from_regex(r"[0-9]{14}", fullmatch=True),  # 2026-02-30, hour 24, year 0000…
    st.sampled_from(["20260229000000", "20240229000000", "00000101000000", "2026030210150"]),
)
_BOUNDS = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))]
        ),
    ),
)


def _prune_by_datetimes(sources, since, until):
    """The definition: the name's time parsed, compared with the bounds and their slack."""
    low = since - PRUNE_SLACK if since is not None else None
    high = until + PRUNE_SLACK if until is not None else None
    kept = []
    for s in sources:
        when = stamp_time(s.stamp) if s.stamp else None
        if when is not None and ((low and when < low) or (high and when > high)):
            continue
        kept.append(s)
    return kept, len(sources) - len(kept)


@settings(max_examples=300, deadline=None)
@given(st.lists(_STAMPS, max_size=20), _BOUNDS, _BOUNDS)
def test_prune_by_text_keeps_what_the_times_keep(stamps, since, until):
    sources = [Source(f"/t/{i}.gz", stamp=s) for i, s in enumerate(stamps)]
    sources.append(Source("/t/plain.jsonl"))
    assert prune(sources, since, until) == _prune_by_datetimes(sources, since, until)


def test_prune_rounds_a_bound_with_microseconds_the_right_way():
    s = [Source("/a.gz", stamp="20260302101500")]
    at = datetime(2026, 3, 3, 10, 15, 0, tzinfo=UTC)  # since - 1 day == the stamp exactly
    assert prune(s, at, None)[1] == 0
    assert prune(s, at + timedelta(microseconds=1), None)[1] == 1
    until = datetime(2026, 3, 1, 10, 15, 0, tzinfo=UTC)  # until + 1 day == the stamp
    assert prune(s, None, until)[1] == 0
    assert prune(s, None, until - timedelta(microseconds=1))[1] == 1


# --- grouping ---------------------------------------------------------------------------------


def _plan_file_by_file(rows, split_events):
    """The definition of grouping whole files: add the next file unless it would take the
    split past ``split_events`` (a split holds at least one file, at most MAX_PARTS)."""
    splits, parts, weight = [], [], 0
    for index, (path, size, account, region, _stamp, count) in enumerate(rows):
        events = _estimate(path, size, count)
        if parts and (weight + events > split_events or len(parts) >= MAX_PARTS):
            splits.append(Split(len(splits), tuple(parts), weight))
            parts, weight = [], 0
        parts.append(Part(index, path, 0, -1, 1, account, region))
        weight += events
    if parts:
        splits.append(Split(len(splits), tuple(parts), weight))
    return splits


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3_000), max_size=60), st.integers(1, 5_000))
def test_grouping_by_running_sums_is_grouping_file_by_file(counts, split_events):
    names = [
        MULTI.replace("_42_", f"_{c}_").replace("0123456789abcdef", f"{i:016x}")
        for i, c in enumerate(counts)
    ]
    rows = sorted_fields(names)
    assert plan(names, split_events=split_events) == _plan_file_by_file(rows, split_events)


def test_no_split_holds_more_than_max_parts_files():
    names = [
        MULTI.replace("_42_", "_0_").replace("0123456789abcdef", f"{i:016x}") for i in range(5_000)
    ]
    splits = plan(names)
    assert [len(s.parts) for s in splits] == [MAX_PARTS, MAX_PARTS, 1_000]


def test_the_plan_does_not_depend_on_input_order_or_form(tmp_path):
    names = [
        MULTI.replace("_42_", f"_{i * 37 % 500}_").replace("0123456789abcdef", f"{i:016x}")
        for i in range(3_000)
    ]
    expected = plan(names, split_events=5_000)
    assert plan(list(reversed(names)), split_events=5_000) == expected
    assert plan([delivery_info(n) for n in names], split_events=5_000) == expected
    # The same name twice is two parts, next to each other.
    twice = [p for s in plan([*names, names[5]], split_events=5_000) for p in s.parts]
    assert len(twice) == len(names) + 1
    at = [i for i, p in enumerate(twice) if p.path == names[5]]
    assert len(at) == 2 and at[1] == at[0] + 1


@pytest.mark.parametrize("size", [10, 10_000])
def test_big_and_small_local_files_keep_their_places(tmp_path, size):
    small = tmp_path / "a.jsonl"
    small.write_text('{"eventId": "1"}\n' * 3)
    big = tmp_path / "b.jsonl"
    big.write_text('{"eventId": "2"}\n' * size)
    late = tmp_path / "c.jsonl"
    late.write_text('{"eventId": "3"}\n')
    splits = plan([str(late), str(big), str(small)], split_bytes=4_096)
    sources = [p.source for s in splits for p in s.parts]
    assert sources == sorted(sources) and set(sources) == {0, 1, 2}
    if size > 1_000:  # cut into ranges that start on a line, alone in their splits
        ranged = [s for s in splits if s.parts[0].source == 1]
        assert len(ranged) > 1 and all(len(s.parts) == 1 for s in ranged)
        assert ranged[0].parts[0].start == 0 and ranged[-1].parts[0].end == big.stat().st_size
    assert [s.index for s in splits] == list(range(len(splits)))
