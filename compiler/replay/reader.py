"""Read ActionTrail events into ``TraceEvent`` requests.

Inputs: a JSON array of events, an object with ``Events`` (LookupEvents output), or JSON lines;
any of them gzip'd (``.gz`` suffix or gzip magic bytes); ``-`` is stdin; a URL
(``oss://``, ``s3://``, ``memory://`` …) is opened through fsspec (``sources.open_binary``).
JSON lines and arrays stream in chunks (``arrays.stream_array``), so memory does not grow with
the file; an ``Events`` document is read whole (LookupEvents pages are small) up to
``MAX_DOCUMENT``.

A bad event is a ``Malformed`` value with its line and a short reason, never an exception: one
broken line in months of logs must not stop a replay. Malformed events include: invalid JSON,
wrong field types, a line longer than ``MAX_LINE`` (skipped in linear time, issue 16 F6), an
event nested deeper than ``arrays.MAX_DEPTH`` (F2: counted whatever Python's stack depth is),
an ``eventName`` longer than ``glob.MAX_NAME`` (F9: matching would cost its length times the
rules'), and an ``eventTime`` that is not the ISO 8601 UTC time rules accept
(``2026-12-01T00:00:01Z`` or with an offset; at most 6 fractional digits). A key repeated
in one event object keeps its last value (msgspec's rule, as Python's ``json``); ActionTrail
never writes one, and detecting it would cost a second parse of every event. Only problems
with the file itself (not found, gzip corrupt, a broken array) raise ``TraceError``.

Format detection looks at content, not names: first non-space byte ``[`` → array; ``{`` → the
first line alone is decoded: an object without ``Events``, or one followed by more lines, means
JSON lines; an undecodable first line is the opening of an ``Events`` document only when it is
``{`` or starts ``{"Events"`` and the next line is not itself an event (F13); otherwise the
file is JSON lines and the first line one malformed event. Line numbers are real lines, for
array elements too (the line of the element's first byte); a malformed element also has its
column, since an array is often one line.

Account and region: an ActionTrail delivery file's path names them (``sources.Source``); the
reader passes them to the ``Mapper`` for events that lack them.

Over 400 lines: JSON lines, streamed arrays and the malformed-event rules share one position
bookkeeping (real line numbers for both), which a split would duplicate.
"""

from __future__ import annotations

import gzip
import itertools
import re
import sys
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import compress, repeat
from operator import add, attrgetter, is_not, itemgetter
from pathlib import Path
from typing import BinaryIO, NamedTuple

import msgspec

from compiler.model.glob import MAX_NAME
from compiler.replay.arrays import MAX_DEPTH, ArrayError, stream_array, too_deep
from compiler.replay.events import Malformed, TraceEvent
from compiler.replay.normalise import ColumnEvent as _ColumnEvent
from compiler.replay.normalise import Event as _Event
from compiler.replay.normalise import EventsDocument as _EventsDocument
from compiler.replay.normalise import FastEvent as _FastEvent
from compiler.replay.normalise import Mapper as _Mapper
from compiler.replay.normalise import region_of as _region_of
from compiler.replay.sources import TraceError, is_url, open_binary

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n"
# Big enough that per-chunk work (split, list) is noise next to decoding, small enough that
# memory stays flat and a byte range does not over-read much.
_CHUNK = 256 * 1024
# Read from a cut's first byte to the newline that ends its line (a line is 1-3 KB).
_SEEK_CHUNK = 16 * 1024
MAX_LINE = 16 * 1024 * 1024
"""A longer JSON line is one malformed event, skipped without being held (issue 16 F6)."""
MAX_DOCUMENT = 256 * 1024 * 1024
"""An ``Events`` document is read whole; a bigger one is refused (arrays and lines stream)."""
# A valid JSON value no longer than this cannot nest deeper than MAX_DEPTH (each level is a
# bracket pair), so only longer events need the depth check.
_DEEP_MIN = 2 * MAX_DEPTH
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
# No API is named so long; a name this long would only cost matching time (F9).
_TOO_LONG_NAME = f"eventName longer than {MAX_NAME} characters"


_BYTE_POS = re.compile(r"\(byte (\d+)\)")
_FRACTION = re.compile(r"\.[0-9]{7,}")
_NON_WS = re.compile(rb"[^ \t\r\n]")
# What rules accept as a time (model.keys.parse_utc_time): date, `T`, time, at most 6
# fractional digits, and `Z` or an offset. Fixed shape: no backtracking on user text.
_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


# Only the fields the simulator uses are declared: msgspec skips the rest without building
# them, and checks the types of these (a non-object userIdentity is a Malformed event).
# gc=False: these never form cycles, and untracked structs are cheaper to create.
_EVENT = msgspec.json.Decoder(_Event)
# Tried first on JSON lines: the same fields with acsRegion a string. What it rejects is
# decoded again by _EVENT, whose answers (and malformed reasons) are the reader's.
_FAST_EVENT = msgspec.json.Decoder(_FastEvent)
_FAST_DECODE = _FAST_EVENT.decode
# The same without the resource's fields: what it is given to decode it refuses exactly as
# _FAST_EVENT does (those fields are raw JSON, which takes anything), so every answer is
# still _EVENT's; for a replay no rule of which needs a resource (``resources=False``).
_COLUMN_EVENT = msgspec.json.Decoder(_ColumnEvent)
_EVENTS_DOC = msgspec.json.Decoder(_EventsDocument)
_EVENTS_RAW = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ANY = msgspec.json.Decoder()
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def typed_decoder() -> msgspec.json.Decoder:
    """The typed event decoder the reader tries first on every JSON line when no rule needs
    a resource (``simulate`` with the seed's rules): benchmarks time it alone as the floor."""
    return _COLUMN_EVENT


def _reason(exc: Exception) -> str:
    """msgspec's message, shortened and lowercased: `expected `str | null`, got `int` - at…`."""
    if isinstance(exc, UnicodeDecodeError):
        return "invalid UTF-8"
    if isinstance(exc, RecursionError):
        return _TOO_DEEP
    msg = str(exc)
    if msg.startswith("JSON is malformed: "):
        msg = "invalid JSON: " + msg[len("JSON is malformed: ") :]
    elif msg == "Input data was truncated":
        msg = "invalid JSON: truncated"
    elif msg.startswith("Object missing required field"):
        msg = msg[len("Object ") :]
    return msg[:1].lower() + msg[1:]


def _display(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


@lru_cache(maxsize=4096)
def time_problem(text: str) -> str | None:
    """Why ``eventTime`` is not a time rules would accept, or None when it is one."""
    if _TIME.fullmatch(text) is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        if _TIME.fullmatch(_FRACTION.sub(".0", text)) is not None:
            return f"eventTime `{shown}` has more than 6 fractional digits"
        return f"eventTime `{shown}` is not an ISO 8601 time with an offset (2026-12-01T00:00:01Z)"
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return f"eventTime `{text}` is not a valid date and time"
    return None


_SECONDS = frozenset(f"{s:02d}" for s in range(60))


def time_ok(text: str) -> bool:
    """``time_problem(text) is None``, cheaply for the shape ActionTrail writes
    (``2026-12-01T00:00:01Z``): whether such a time is valid depends only on its minute, so
    minutes are cached (a week is 10,080 of them) where whole times, nearly unique per event,
    would miss."""
    if len(text) == 20 and text[19] == "Z" and text[16] == ":" and text[17:19] in _SECONDS:
        return _minute_ok(text[:16])
    return time_problem(text) is None


@lru_cache(maxsize=65536)
def _minute_ok(minute: str) -> bool:
    return time_problem(minute + ":00Z") is None


# --- opening -------------------------------------------------------------------------------


class _Prefixed:
    """``head`` then the rest of ``raw``: sniffing the gzip magic of stdin, which cannot seek."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._raw.read(n)
        if n is None or n < 0:
            out, self._head = self._head + self._raw.read(), b""
        else:
            out, self._head = self._head[:n], self._head[n:]
        return out


def _open_raw(path: str | Path) -> BinaryIO:
    if str(path) == "-":
        stdin = sys.stdin
        return getattr(stdin, "buffer", stdin)
    if is_url(str(path)):
        return open_binary(str(path))  # its errors are TraceErrors naming the URL
    try:
        return open(path, "rb")  # closed by the caller's finally
    except FileNotFoundError:
        raise TraceError(path, "no such file") from None
    except IsADirectoryError:
        raise TraceError(path, "is a directory") from None
    except PermissionError:
        raise TraceError(path, "permission denied") from None
    except OSError as exc:
        raise TraceError(path, f"cannot open: {exc.strerror or exc}") from None


def _chunks(path: str | Path, raw: BinaryIO) -> Iterator[bytes]:
    """The decompressed bytes of ``raw`` in chunks; gzip by suffix or by magic bytes."""
    head = b""
    while len(head) < 2:
        more = raw.read(2 - len(head))
        if not more:
            break
        head += more
    stream: BinaryIO | _Prefixed | gzip.GzipFile = _Prefixed(head, raw)
    if head == _GZIP_MAGIC or str(path).endswith(".gz"):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[arg-type]
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        raise TraceError(path, f"cannot decompress: {exc}") from None


def _sniff(chunks: Iterator[bytes]) -> tuple[str, bytes, int, int]:
    """(format, bytes read so far, offset of the first non-blank byte in them, its line).

    ``array``, ``events``, ``jsonl`` or ``empty``. Reads only as far as it must (usually one
    chunk), never more than ``MAX_LINE`` past the first non-blank byte, and drops leading
    blank space as it goes (a file of spaces does not fill memory). Every scan starts where
    the last one stopped: linear time, whatever the shape.
    """
    buf = bytearray()
    skipped_lines = 0

    def more() -> bool:
        chunk = next(chunks, b"")
        buf.extend(chunk)
        return bool(chunk)

    def line_end(pos: int) -> int:
        while (nl := buf.find(b"\n", pos)) == -1:
            pos = len(buf)
            if pos - first > MAX_LINE or not more():
                return len(buf)
        return nl

    def non_blank(pos: int) -> int:
        while (m := _NON_WS.search(buf, pos)) is None:
            pos = len(buf)
            if not more():
                return -1
        return m.start()

    while len(buf) < len(_BOM) and more():
        pass
    if buf.startswith(_BOM):
        del buf[: len(_BOM)]
    while (m := _NON_WS.search(buf)) is None:
        skipped_lines += buf.count(b"\n")
        # Keep the tail: it is blank, but JSON lines number from the file's first line.
        buf.clear()
        if not more():
            return "empty", b"", 0, 1
    first = m.start()
    line = skipped_lines + buf.count(b"\n", 0, first) + 1
    fmt = "jsonl"
    if buf[first] == ord("["):
        # An array document, unless its first line is a whole JSON value with more lines
        # after it: then it is JSON lines whose first event is not an object.
        end = line_end(first)
        fmt = "array"
        if end - first <= MAX_LINE and _decodes(bytes(buf[first:end])) and non_blank(end) != -1:
            fmt = "jsonl"
    elif buf[first] == ord("{"):
        end = line_end(first)
        head = bytes(buf[first:end]) if end - first <= MAX_LINE else b""
        obj = _decoded_object(head)
        second = non_blank(end)
        if obj is not None:
            # An event, or an Events document followed by more lines (then: JSON lines).
            fmt = "jsonl" if "Events" not in obj or second != -1 else "events"
        elif _opens_events(head) == "array" or (
            _opens_events(head) and not _is_event_line(buf, second)
        ):
            # The opening of a pretty-printed (or truncated one-line) Events document; not
            # when the next line is an event: then this is a broken first line (F13).
            fmt = "events"
    if fmt == "jsonl":
        # The line of buf[0]: JSON lines are numbered from there.
        return fmt, bytes(buf), first, skipped_lines + 1
    return fmt, bytes(buf), first, line


def _opens_events(line: bytes) -> str | None:
    """``array`` for a line that is exactly ``{"Events": [``; ``maybe`` for ``{`` alone or a
    line starting ``{"Events"``; None otherwise."""
    text = line.strip(_WS)
    if text == b"{":
        return "maybe"
    rest = text[1:].lstrip(_WS)
    if not rest.startswith(b'"Events"'):
        return None
    rest = rest[len(b'"Events"') :].lstrip(_WS)
    if rest.startswith(b":") and rest[1:].strip(_WS) == b"[":
        return "array"
    return "maybe"


def _is_event_line(buf: bytearray, start: int) -> bool:
    if start == -1:
        return False
    end = buf.find(b"\n", start)
    obj = _decoded_object(bytes(buf[start : len(buf) if end == -1 else end]))
    return obj is not None and "eventName" in obj


def _decodes(line: bytes) -> bool:
    try:
        _ANY.decode(line)
    except _DECODE_ERRORS:
        return False
    return True


def _decoded_object(line: bytes) -> dict | None:
    if not line:
        return None
    try:
        value = _ANY.decode(line)
    except _DECODE_ERRORS:
        return None
    return value if isinstance(value, dict) else None


# --- decoding ------------------------------------------------------------------------------


class Run(NamedTuple):
    """Consecutive good events of one input, decoded but not yet normalised: what the
    replay's batches are built from (``Mapper.assemble`` makes the TraceEvents, the replay's
    columns read the fields they need without them)."""

    source: int
    lines: Sequence[int]
    """Each event's line: a ``range`` for a chunk read whole, else a list."""
    events: list[_Event]
    """``FastEvent`` or ``Event`` values (both have the fields the normaliser reads)."""
    regions: list[str | None]
    """Each event's ``acsRegion`` when it is a non-empty string, else None."""


def _checked(raw: bytes, source: int, lineno: int, col: int = 1) -> tuple | Malformed | None:
    """One event's bytes → (decoded ``Event``, its region), a Malformed note, or None for a
    blank line. Every malformed reason comes from here; ``col``: where an array's element
    starts on its line."""
    try:
        ev = _EVENT.decode(raw)
    except _DECODE_ERRORS as exc:
        # Checked only on failure: blank lines are rare, strip() on every line is not.
        if raw.strip(_WS):
            return Malformed(source, lineno, _reason(exc), col)
        return None
    if len(raw) > _DEEP_MIN and too_deep(raw):
        return Malformed(source, lineno, _TOO_DEEP, col)
    if len(ev.eventName) > MAX_NAME:
        return Malformed(source, lineno, _TOO_LONG_NAME, col)
    if (
        ev.eventTime is not None
        and not time_ok(ev.eventTime)
        and (problem := time_problem(ev.eventTime)) is not None
    ):
        return Malformed(source, lineno, problem, col)
    return ev, (_region_of(bytes(ev.acsRegion)) if ev.acsRegion else None)


_TIME_OF = attrgetter("eventTime")
_ACS_REGION = attrgetter("acsRegion")
_MINUTE = itemgetter(slice(0, 16))
_OPEN_BRACKETS = (b"[", b"{")


def _clean(raws: list[bytes], evs: list) -> bool:
    """Whether none of a chunk's typed-decoded events needs a closer look: no line nesting too
    deep, every time in ActionTrail's own shape and valid (the fast decoder refused an
    over-long name already: ``FastEvent``). Anything else is checked event by event
    (``_checked``): the answers are its answers. Each check is a C-level pass over the
    chunk, Python runs per distinct minute."""
    # Only a line longer than _DEEP_MIN can nest too deep, and only one with more opening
    # brackets than MAX_DEPTH (``too_deep``'s own first test, here counted in C for the
    # chunk); ActionTrail's events are often that long (1-3 KB with requestParameters).
    if max(map(len, raws)) > _DEEP_MIN:
        long = [raw for raw in raws if len(raw) > _DEEP_MIN]
        opening = map(add, *(map(bytes.count, long, repeat(b)) for b in _OPEN_BRACKETS))
        if max(opening) > MAX_DEPTH and any(map(too_deep, long)):
            return False
    times = list(map(_TIME_OF, evs))
    if None in times:
        times = list(compress(times, map(is_not, times, repeat(None))))
        if not times:
            return True
    # ActionTrail's shape, ``2026-12-01T00:00:01Z``: every time 20 characters, so the
    # joined times hold each one's n-th character at n, n + 20, …: four strided slices
    # check every time's `:SSZ` tail at once.
    n = len(times)
    joined = "".join(times)
    if len(joined) != 20 * n or max(map(len, times)) != 20:
        return False
    if joined[16::20] != ":" * n or joined[19::20] != "Z" * n:
        return False
    if joined[17::20].strip("012345") or joined[18::20].strip("0123456789"):
        return False
    # Such a time is valid exactly when its minute is (``time_ok``).
    return all(map(_minute_ok, set(map(_MINUTE, times))))


def _fast_run(raws: list[bytes], source: int, first: int, decode) -> Run | None:
    """A chunk's lines ``first``, ``first + 1``… as one Run, when every one is a typed event
    that needs no closer look (the common case: decoded in one C-level pass); else None."""
    try:
        evs = list(map(decode, raws))
    except _DECODE_ERRORS:
        return None
    if not _clean(raws, evs):
        return None
    regions = list(map(_ACS_REGION, evs))
    if "" in regions:
        regions = [r or None for r in regions]
    # A range, not a list: an int object per event is not needed to number them.
    return Run(source, range(first, first + len(raws)), evs, regions)


def _slow_runs(raws: list[bytes], source: int, first: int) -> Iterator[Run | Malformed]:
    """Line by line: runs of good events between the malformed ones, in file order."""
    lines: list[int] = []
    evs: list = []
    regions: list = []
    for lineno, raw in enumerate(raws, first):
        item = _checked(raw, source, lineno)
        if item is None:
            continue
        if item.__class__ is Malformed:
            if evs:
                yield Run(source, lines, evs, regions)
                lines, evs, regions = [], [], []
            yield item
            continue
        lines.append(lineno)
        evs.append(item[0])
        regions.append(item[1])
    if evs:
        yield Run(source, lines, evs, regions)


def _runs_of(raws: list[bytes], source: int, first: int, decode) -> Iterator[Run | Malformed]:
    if not raws:
        return
    run = _fast_run(raws, source, first, decode)
    if run is not None:
        yield run
    else:
        yield from _slow_runs(raws, source, first)


def _jsonl_runs(
    chunks: Iterable[bytes], source: int, first_line: int, resources: bool
) -> Generator[Run | Malformed, None, int]:
    """The runs and malformed notes of JSON lines numbered from ``first_line``; returns the
    number of the line after the last newline read (where a byte range that follows starts).
    ``resources=False``: the events need not carry the resource's fields."""
    decode = _FAST_DECODE if resources else _COLUMN_EVENT.decode
    lineno = first_line - 1
    after = first_line
    # The line being assembled across chunks: pieces, not `rest + chunk` (quadratic for a
    # long line); once past MAX_LINE the pieces are dropped and the line only counted.
    pending: list[bytes] = []
    pending_len = 0
    too_long = False
    # The trailing b"\n" flushes a last line that has no newline of its own.
    for chunk in itertools.chain(chunks, (None,)):
        if chunk is None:
            after = lineno + 1
            chunk = b"\n"
        if b"\n" not in chunk:
            if not too_long:
                pending_len += len(chunk)
                if pending_len > MAX_LINE:
                    too_long, pending = True, []
                else:
                    pending.append(chunk)
            continue
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if pending or too_long:
            head = lines[0]
            lineno += 1
            if too_long or pending_len + len(head) > MAX_LINE:
                yield Malformed(source, lineno, f"line longer than {MAX_LINE:,} bytes")
            else:
                yield from _slow_runs([b"".join([*pending, head])], source, lineno)
            lines = lines[1:]
            pending, pending_len, too_long = [], 0, False
        yield from _runs_of(lines, source, lineno + 1, decode)
        lineno += len(lines)
        if tail:
            pending, pending_len = [tail], len(tail)
    return after


def _events(runs: Iterator[Run | Malformed], mapper: _Mapper) -> Generator:
    """Runs → one TraceEvent per event (the Malformed notes as they are), in file order;
    returns what ``runs`` returns (``read_range_runs``: the line after the range)."""
    assemble = mapper.assemble
    while True:
        try:
            item = next(runs)
        except StopIteration as stop:
            return stop.value
        if item.__class__ is Malformed:
            yield item
        else:
            yield from map(assemble, item.events, item.regions, repeat(item.source), item.lines)


def _elements(path, items: Iterator[tuple[int, bytes | None]], source: int):
    try:
        for line, col, raw in items:
            if raw is None:
                yield Malformed(source, line, _TOO_DEEP, col)
                continue
            item = _checked(raw, source, line, col)
            if item is None:
                continue
            if item.__class__ is Malformed:
                yield item
            else:
                yield Run(source, [line], [item[0]], [item[1]])
    except ArrayError as exc:
        raise TraceError(path, exc.message, *exc.where) from None


def _document(path, head: bytes, first: int, line: int, chunks, source: int):
    """An ``Events`` document: read whole (bounded), checked, then its array streamed."""
    parts = [head]
    size = len(head)
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_DOCUMENT:
            raise TraceError(
                path,
                f"an `Events` document larger than {MAX_DOCUMENT // (1024 * 1024)} MiB is not "
                "read; give JSON lines or a JSON array",
            )
        parts.append(chunk)
    data = b"".join(parts)
    try:
        _EVENTS_DOC.decode(data)
        fields = _EVENTS_RAW.decode(data)
    except msgspec.ValidationError as exc:
        if "missing required field" in str(exc):
            raise TraceError(
                path, "expected a JSON array of events, an object with `Events`, or JSON lines"
            ) from None
        raise TraceError(path, _reason(exc)) from None
    except _DECODE_ERRORS as exc:
        where = _position(data, exc)
        # The byte offset is in LINE:COL already.
        raise TraceError(path, _BYTE_POS.sub("", _reason(exc)).rstrip(), *where) from None
    # Where the Events array starts: its bytes cannot occur earlier inside a string (they
    # hold unescaped quotes) — the first occurrence is the value itself.
    events = bytes(fields["Events"])
    at = data.find(events)
    items = stream_array(iter(()), data[: at + len(events)], at, *_line_col(data, at))
    yield from _elements(path, items, source)


def _position(data: bytes, exc: Exception) -> tuple[int | None, int | None]:
    """1-based line and column of a top-level decode error (end of input when truncated)."""
    if isinstance(exc, UnicodeDecodeError | RecursionError):
        return None, None
    m = _BYTE_POS.search(str(exc))
    pos = min(int(m.group(1)), len(data)) if m else len(data)
    return _line_col(data, pos)


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


# --- public --------------------------------------------------------------------------------


def read_events(
    path: str | Path,
    source: int,
    catalog,
    *,
    account: str | None = None,
    region: str | None = None,
    resources: bool = True,
) -> Iterator[TraceEvent | Malformed]:
    """Every event of one trace file, in file order; ``-`` reads binary stdin. ``account``
    and ``region`` (from a delivery path) fill in what an event does not say; with
    ``resources=False`` (no rule needs a resource) events carry no ``where``."""
    mapper = _Mapper(catalog, account=account, region=region, resources=resources)
    return _events(read_runs(path, source, resources=resources), mapper)


def read_runs(
    path: str | Path, source: int, *, resources: bool = True
) -> Iterator[Run | Malformed]:
    """``read_events`` before normalisation: runs of decoded good events and the malformed
    notes between them, in file order (the replay normalises runs a batch at a time). With
    ``resources=False`` (no rule needs a resource) the events of JSON lines are
    ``ColumnEvent`` values, without the fields only ``where`` reads."""
    raw = _open_raw(path)
    try:
        chunks = _chunks(path, raw)
        fmt, head, first, line = _sniff(chunks)
        if fmt == "jsonl":
            yield from _jsonl_runs(itertools.chain((head,), chunks), source, line, resources)
        elif fmt == "array":
            col = first - head.rfind(b"\n", 0, first)
            items = stream_array(chunks, head, first, line, col)
            yield from _elements(path, items, source)
        elif fmt == "events":
            yield from _document(path, head, first, line, chunks, source)
    finally:
        if str(path) != "-":
            raw.close()


def is_plain_jsonl(path: str | Path) -> bool:
    """True for an uncompressed local JSON-lines file: the only input a byte range can cut."""
    if str(path) == "-" or str(path).endswith(".gz") or is_url(str(path)):
        return False
    raw = _open_raw(path)
    try:
        if raw.read(2) == _GZIP_MAGIC:
            return False
        raw.seek(0)
        return _sniff(_chunks(path, raw))[0] == "jsonl"
    finally:
        raw.close()


def split_points(path: str | Path, target_bytes: int) -> list[tuple[int, int, int]]:
    """(start, end, first_line) byte ranges of about ``target_bytes``, cut after a newline.

    Only uncompressed JSON lines are cut; any other input (gzip, array, ``Events``, stdin,
    a URL) is one range ``(0, size, 1)`` that ``read_jsonl_range`` reads with
    ``read_events``.
    """
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    if str(path) == "-" or is_url(str(path)):
        return [(0, 0, 1)]
    if not is_plain_jsonl(path):
        return [(0, Path(path).stat().st_size, 1)]
    ranges: list[tuple[int, int, int]] = []
    start, first, base, newlines = 0, 1, 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            counted = 0
            search = max(start + target_bytes - 1 - base, 0)
            while search < len(chunk) and (nl := chunk.find(b"\n", search)) != -1:
                newlines += chunk.count(b"\n", counted, nl + 1)
                counted = nl + 1
                ranges.append((start, base + nl + 1, first))
                start, first = base + nl + 1, newlines + 1
                search = max(start + target_bytes - 1 - base, nl + 1)
            newlines += chunk.count(b"\n", counted)
            base += len(chunk)
    if start < base or not ranges:
        ranges.append((start, base, first))
    return ranges


def cut_points(path: str | Path, target_bytes: int) -> list[tuple[int, int]]:
    """``split_points``' byte ranges, (start, end), without their first lines: each end found
    by reading from ``target_bytes`` past its start to the next newline, not by reading the
    file through. Whoever reads the ranges in order numbers their lines as it goes
    (``read_range_runs`` returns where the next range starts), so a replay in one process
    reads a big file once (issue 15 item 4), not once to plan and again to replay."""
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    if str(path) == "-" or is_url(str(path)):
        return [(0, 0)]
    size = Path(path).stat().st_size
    if not is_plain_jsonl(path):
        return [(0, size)]
    ranges: list[tuple[int, int]] = []
    start = 0
    with open(path, "rb") as f:
        while start + target_bytes - 1 < size:
            f.seek(start + target_bytes - 1)
            base = start + target_bytes - 1
            nl = -1
            while chunk := f.read(_SEEK_CHUNK):
                found = chunk.find(b"\n")
                if found != -1:
                    nl = base + found
                    break
                base += len(chunk)
            if nl == -1:
                break
            ranges.append((start, nl + 1))
            start = nl + 1
    if start < size or not ranges:
        ranges.append((start, size))
    return ranges


def read_jsonl_range(
    path: str | Path,
    source: int,
    start: int,
    end: int,
    first_line: int,
    catalog,
    *,
    account: str | None = None,
    region: str | None = None,
    resources: bool = True,
) -> Iterator[TraceEvent | Malformed]:
    """Events in bytes [start, end) of an uncompressed JSON-lines file, lines numbered from
    ``first_line``; ``start`` must be a line start (``split_points`` gives such ranges).

    For an input ``split_points`` does not cut, the one range (start 0) is read whole with
    ``read_events``, so the caller can treat every split alike.
    """
    mapper = _Mapper(catalog, account=account, region=region, resources=resources)
    return _events(
        read_range_runs(path, source, start, end, first_line, resources=resources), mapper
    )


def read_range_runs(
    path: str | Path,
    source: int,
    start: int,
    end: int,
    first_line: int,
    *,
    resources: bool = True,
) -> Generator[Run | Malformed, None, int | None]:
    """``read_jsonl_range`` before normalisation (see ``read_runs``). Returns the number of
    the line after the range's last newline: the ``first_line`` of the range that follows
    (None for an input that is not cut)."""
    if not is_plain_jsonl(path):
        if start != 0:
            raise ValueError(f"{_display(path)} cannot be read from byte {start}")
        yield from read_runs(path, source, resources=resources)
        return None
    with open(path, "rb") as f:
        f.seek(start)

        def chunks() -> Iterator[bytes]:
            left = end - start
            while left > 0 and (chunk := f.read(min(_CHUNK, left))):
                bom = start == 0 and left == end and chunk.startswith(_BOM)
                left -= len(chunk)
                yield chunk[len(_BOM) :] if bom else chunk  # as read_events does

        return (yield from _jsonl_runs(chunks(), source, first_line, resources))
