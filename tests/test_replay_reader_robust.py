"""The trace reader under hostile input (issue 16: F2, F6, F13, lenient times, items 3 and 5):
each test fails on the reader before these fixes."""

from __future__ import annotations

import gzip
import sys
import tracemalloc
import zlib
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from compiler.catalog import default_catalog
from compiler.cli import main
from compiler.replay import Malformed, TraceError, TraceEvent, read_events
from compiler.replay.arrays import MAX_DEPTH
from compiler.replay.generate import generate_events, write_trace
from compiler.replay.reader import MAX_LINE

CATALOG = default_catalog()
ROOT = Path(__file__).resolve().parent.parent
GOOD = msgspec.json.encode({"eventName": "DescribeInstances", "serviceName": "Ecs"})


def kinds(path) -> list[tuple[str, int, str]]:
    return [
        (type(e).__name__, e.line, getattr(e, "reason", "")) for e in read_events(path, 0, CATALOG)
    ]


def nested(depth: int) -> bytes:
    inner = b"[" * depth + b"]" * depth
    return b'{"eventName": "RunInstances", "requestParameters": {"x": ' + inner + b"}}"


# --- F2: deep nesting is one malformed event, whatever the stack depth -------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_deep_nesting_is_one_malformed_event_in_json_lines(tmp_path, depth):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([GOOD, nested(depth), GOOD]) + b"\n")
    got = kinds(path)
    assert [k[:2] for k in got] == [("TraceEvent", 1), ("Malformed", 2), ("TraceEvent", 3)]
    assert got[1][2] == f"nested deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000])
def test_deep_nesting_is_one_malformed_event_in_an_array(tmp_path, depth):
    path = tmp_path / "t.json"
    path.write_bytes(b"[\n" + b",\n".join([GOOD, nested(depth), GOOD]) + b"\n]\n")
    assert [k[:2] for k in kinds(path)] == [
        ("TraceEvent", 2),
        ("Malformed", 3),
        ("TraceEvent", 4),
    ]


def test_nesting_verdict_does_not_depend_on_the_callers_stack(tmp_path):
    """An event 700 deep decodes at a shallow stack and fails at a deep one in msgspec
    alone; the reader's own limit gives one answer either way (same report on any worker)."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([nested(MAX_DEPTH - 5), nested(700)]) + b"\n")
    shallow = kinds(path)

    def deep(n: int):
        return deep(n - 1) if n else kinds(path)

    limit = sys.getrecursionlimit()
    assert [k[0] for k in shallow] == ["TraceEvent", "Malformed"]
    assert deep(min(250, limit - 400)) == shallow


# --- F6: long lines are bounded and read in linear time ----------------------------------


def test_a_line_past_the_limit_is_one_malformed_entry_and_reading_goes_on(tmp_path):
    path = tmp_path / "t.jsonl"
    with open(path, "wb") as f:
        f.write(GOOD + b"\n")
        for _ in range(MAX_LINE // (1 << 20) + 8):  # 24 MiB without a newline
            f.write(b"x" * (1 << 20))
        f.write(b"\n" + GOOD + b"\n")
    assert kinds(path) == [
        ("TraceEvent", 1, ""),
        ("Malformed", 2, f"line longer than {MAX_LINE:,} bytes"),
        ("TraceEvent", 3, ""),
    ]


def test_gzip_bomb_of_zeros_finishes_as_one_malformed_line(tmp_path):
    """256 MiB of zeros in a 256 KiB gzip: before the fix, quadratic and never finishing."""
    path = tmp_path / "zeros.jsonl.gz"
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    with open(path, "wb") as f:
        for _ in range(256):
            f.write(comp.compress(block))
        f.write(comp.flush())
    assert path.stat().st_size < 1 << 20
    assert kinds(path) == [("Malformed", 1, f"line longer than {MAX_LINE:,} bytes")]


def test_a_long_line_within_the_limit_is_read(tmp_path):
    big = {"eventName": "RunInstances", "serviceName": "Ecs", "pad": "y" * (3 << 20)}
    path = tmp_path / "t.jsonl"
    path.write_bytes(msgspec.json.encode(big) + b"\n" + GOOD)
    assert [k[:2] for k in kinds(path)] == [("TraceEvent", 1), ("TraceEvent", 2)]


# --- F13: a broken first line that mentions Events ---------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        b'{"Events": "oops", "eventName": ',
        b'{"eventName": "Events", broken',
        b'{"Events": [{"eventName": "A"',
        b"{",
    ],
)
def test_broken_first_line_mentioning_events_is_one_malformed_line(tmp_path, first):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([first, GOOD, GOOD]) + b"\n")
    assert [k[:2] for k in kinds(path)] == [
        ("Malformed", 1),
        ("TraceEvent", 2),
        ("TraceEvent", 3),
    ]


def test_pretty_printed_events_document_is_still_a_document(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'{"Events": [\n' + GOOD + b",\n" + GOOD + b'\n], "NextToken": "t"}\n')
    assert [k[:2] for k in kinds(path)] == [("TraceEvent", 2), ("TraceEvent", 3)]


# --- request times as strict as rules ----------------------------------------------------


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("2026-12-01 00:00:01Z", "is not an ISO 8601 time"),
        ("20261201T000001Z", "is not an ISO 8601 time"),
        ("2026-12-01", "is not an ISO 8601 time"),
        ("2026-12-01T00:00:01", "is not an ISO 8601 time"),  # no offset
        ("2026-12-01T00:00:01.123456789Z", "has more than 6 fractional digits"),
        ("2026-13-01T00:00:01Z", "is not a valid date and time"),
    ],
)
def test_lenient_event_times_are_malformed(tmp_path, when, reason):
    path = tmp_path / "t.jsonl"
    path.write_bytes(msgspec.json.encode({"eventName": "RunInstances", "eventTime": when}))
    [(kind, line, why)] = kinds(path)
    assert (kind, line) == ("Malformed", 1)
    assert reason in why and when in why


@pytest.mark.parametrize(
    "when", ["2026-12-01T00:00:01Z", "2026-12-01T08:00:01+08:00", "2026-12-01T00:00:01.123456Z"]
)
def test_strict_event_times_are_read(tmp_path, when):
    path = tmp_path / "t.jsonl"
    path.write_bytes(msgspec.json.encode({"eventName": "RunInstances", "eventTime": when}))
    [event] = list(read_events(path, 0, CATALOG))
    assert isinstance(event, TraceEvent) and event.context["acs:CurrentTime"] == when


# --- item 5: arrays stream, with real line numbers ---------------------------------------


def _peak(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_events(path, 0, CATALOG))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_array_memory_does_not_grow_with_the_file(tmp_path, gz):
    def denied(action: str) -> bool:
        return False

    one = tmp_path / "one.json"
    write_trace(one, generate_events(3_000, 4, CATALOG, denied), fmt="array")
    body = one.read_bytes().strip()[1:-1]  # the elements, without [ ]
    small, big = tmp_path / "small.json", tmp_path / "big.json"
    small.write_bytes(b"[" + body + b"]")
    big.write_bytes(b"[" + b",".join([body] * 6) + b"]")  # 18k events, ~14 MB
    if gz:
        for p in (small, big):
            p.write_bytes(gzip.compress(p.read_bytes()))
    n_small, peak_small = _peak(small)
    n_big, peak_big = _peak(big)
    assert (n_small, n_big) == (3_000, 18_000)
    # Read whole, 6x the file would be ~6x the peak (the array of raw elements alone is
    # bigger than the file); streamed, the window (~1 MiB) bounds it.
    assert peak_big < 1.5 * peak_small + (1 << 20), (peak_small, peak_big)


def test_broken_array_reports_the_line_and_column_past_the_window(tmp_path):
    rows = [GOOD] * 20_000  # ~1.2 MB: the error is beyond the first window
    rows[15_000] = b'{"eventName": "A"} x'
    path = tmp_path / "t.json"
    path.write_bytes(b"[\n" + b",\n".join(rows) + b"\n]\n")
    with pytest.raises(TraceError) as info:
        list(read_events(path, 0, CATALOG))
    assert str(info.value).startswith(f"{path}:15002:20: error: invalid JSON")


def test_truncated_array_is_a_trace_error(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b"[\n" + GOOD + b",\n" + GOOD[:-3])
    with pytest.raises(TraceError, match="truncated"):
        list(read_events(path, 0, CATALOG))


# --- item 3: nothing decided is an error -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "malformed (first at"),  # README.md: not a trace
        (b"", "the trace holds no events"),
        (b"\n  \n", "the trace holds no events"),
    ],
    ids=["readme", "empty", "blank"],
)
def test_simulate_exits_1_when_nothing_could_be_decided(tmp_path, content, says):
    trace = ROOT / "README.md"
    if content is not None:
        trace = tmp_path / "empty.jsonl"
        trace.write_bytes(content)
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    result = CliRunner().invoke(
        main,
        [
            *("simulate", "--rules", str(ROOT / "policies"), "--trace", str(trace), "-q"),
            *("--report", str(report), "--html", str(page)),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "no event could be decided" in result.output and says in result.output
    assert not report.exists() and not page.exists()  # an error leaves no report behind


@pytest.mark.parametrize(
    ("outside", "says"),
    [
        (
            5,
            "3 malformed (first at {t}:1:1: invalid JSON: truncated), 5 events outside "
            "--since/--until\n",
        ),
        (
            1,
            "3 malformed (first at {t}:1:1: invalid JSON: truncated), 1 event outside "
            "--since/--until; is this an ActionTrail trace?\n",
        ),
    ],
    ids=["mostly-outside", "mostly-malformed"],
)
def test_nothing_decided_counts_malformed_and_outside_the_window(tmp_path, outside, says):
    # 81 malformed lines among 59,995 events outside --since were reported as malformed
    # alone, asking whether the file is a trace at all (issue 13).
    old = msgspec.json.encode(
        {
            "eventName": "DescribeInstances",
            "serviceName": "Ecs",
            "eventTime": "2026-11-01T00:00:00Z",
        }
    )
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(b"\n".join([b"{", *[old] * outside, b"[", b'{"a"']) + b"\n")
    result = CliRunner().invoke(
        main,
        [
            *("simulate", "--rules", str(ROOT / "policies"), "--trace", str(trace), "-q"),
            *("--since", "2026-11-20"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.output.endswith(
        f"{trace}: error: no event could be decided: " + says.format(t=trace)
    )


def test_malformed_events_keep_the_invariant(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\n".join([GOOD, nested(5_000), b"{", GOOD]))
    got = list(read_events(path, 0, CATALOG))
    assert sum(isinstance(e, Malformed) for e in got) == 2
    assert sum(isinstance(e, TraceEvent) for e in got) == 2
