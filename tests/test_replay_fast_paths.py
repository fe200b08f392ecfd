"""The replay's fast paths give the answers of the slow ones they stand in for (issue 15)."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.replay.normalise import FastEvent, _is_ip
from compiler.replay.reader import _clean, time_ok, time_problem

digits = st.text("0123456789", min_size=1, max_size=3)
# Times near the shape ActionTrail writes, valid and not: bad months, days, hours, seconds 60+,
# leap days, other separators, offsets, fractions.
times = st.builds(
    lambda y, mo, d, h, mi, s, sep, end: f"{y}-{mo}-{d}T{h}:{mi}{sep}{s}{end}",
    st.sampled_from(["2026", "2024", "2100", "0000", "20a6"]),
    st.sampled_from(["01", "02", "12", "13", "00", "1"]),
    st.sampled_from(["01", "28", "29", "30", "31", "32", "00"]),
    st.sampled_from(["00", "23", "24", "9"]),
    st.sampled_from(["00", "59", "60", "5"]),
    st.sampled_from(["00", "59", "60", "99", "5", "٣٣"]),
    st.sampled_from([":", "-", ""]),
    st.sampled_from(["Z", "z", "+08:00", ".123Z", "", "ZZ"]),
)


@settings(max_examples=500, deadline=None)
@given(times)
def test_time_ok_is_time_problem_is_none(text):
    assert time_ok(text) == (time_problem(text) is None)


def _reference_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(digits, st.sampled_from(["256", "00", "01", "٣", " 1", ""])),
        min_size=1,
        max_size=5,
    )
)
def test_dotted_quads_as_ipaddress_reads_them(parts):
    text = ".".join(parts)
    assert _is_ip(text) == _reference_ip(text)


def test_ipv6_and_names():
    assert _is_ip("2001:db8::1")
    assert not _is_ip("Internal")
    assert not _is_ip("ecs.aliyuncs.com")
    assert not _is_ip("1.2.3.4.5")


# The shape ActionTrail writes: UTC, whole seconds. Events of a chunk whose times all have
# it (and are valid) take the chunk-at-once path; any other time sends the chunk event by
# event, where ``time_problem`` decides.
_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9]Z")
# Times in that shape but for one part: seconds past 59, a short or non-ASCII part, a bad date.
shaped = st.builds(
    lambda mo, d, h, s: f"2026-{mo}-{d}T{h}:30:{s}Z",
    st.sampled_from(["01", "02", "13", "1"]),
    st.sampled_from(["01", "29", "30", "32"]),
    st.sampled_from(["00", "23", "24"]),
    st.sampled_from(["00", "07", "59", "60", "61", "99", "5", "٣٣", "5Z"]),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(times, shaped), st.integers(0, 3))
def test_a_chunk_is_clean_exactly_when_its_times_have_actiontrails_shape(text, others):
    texts = ["2026-03-02T00:00:07Z"] * others + [text]
    events = [FastEvent(eventName="DescribeInstances", eventTime=t) for t in texts]
    expected = bool(_UTC_SECONDS.fullmatch(text)) and time_problem(text) is None
    assert _clean([b"{}"] * len(texts), events) == expected


def test_times_that_line_up_only_when_joined_send_the_chunk_event_by_event():
    # 19 + 21 characters: joined, they read as two times of ActionTrail's shape.
    texts = ["2026-03-02T00:00:07", "Z2026-03-02T00:00:07Z"]
    events = [FastEvent(eventName="DescribeInstances", eventTime=t) for t in texts]
    assert not _clean([b"{}"] * len(texts), events)
    assert all(time_problem(t) is not None for t in texts)
