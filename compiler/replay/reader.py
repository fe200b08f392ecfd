"""Read ActionTrail events into ``TraceEvent`` requests.

Inputs: a JSON array of events, an object with ``Events`` (LookupEvents output), or JSON lines;
any of them gzip'd (``.gz`` suffix or gzip magic bytes); ``-`` is stdin. JSON lines stream in
chunks, so memory does not grow with the file; arrays and ``Events`` documents are read whole
(ActionTrail's own delivery files are small gzip'd arrays).

A bad event is a ``Malformed`` value with its line and a short reason, never an exception: one
broken line in months of logs must not stop a replay. Only problems with the file itself (not
found, gzip corrupt, a broken top-level document) raise ``TraceError``.

Format detection looks at content, not names: first non-space byte ``[`` → array; ``{`` → the
first line alone is decoded: an object without ``Events``, or one followed by more lines, means
JSON lines; otherwise the whole input is one ``{"Events": [...]}`` document. Anything else is
read as JSON lines, so every bad line is reported where it is.
"""

from __future__ import annotations

import gzip
import itertools
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import msgspec

from compiler.replay.events import Malformed, TraceEvent
from compiler.replay.normalise import Event as _Event
from compiler.replay.normalise import EventsDocument as _EventsDocument
from compiler.replay.normalise import Mapper as _Mapper

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n"
# Big enough that per-chunk work (split, list) is noise next to decoding, small enough that
# memory stays flat and a byte range does not over-read much.
_CHUNK = 256 * 1024


_BYTE_POS = re.compile(r"\(byte (\d+)\)")
_NON_WS = re.compile(rb"[^ \t\r\n]")


class TraceError(Exception):
    """A problem with a trace file as a whole; renders as ``path[:LINE:COL]: error: message``."""

    def __init__(
        self, path: str | Path, message: str, line: int | None = None, col: int | None = None
    ):
        super().__init__(message)
        self.path = _display(path)
        self.message = message
        self.line = line
        self.col = col

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: error: {self.message}"
        return f"{self.path}:{self.line}:{self.col or 1}: error: {self.message}"


# Only the fields the simulator uses are declared: msgspec skips the rest without building
# them, and checks the types of these (a non-object userIdentity is a Malformed event).
# gc=False: these never form cycles, and untracked structs are cheaper to create.
_EVENT = msgspec.json.Decoder(_Event)
_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
_EVENTS_DOC = msgspec.json.Decoder(_EventsDocument)
_ANY = msgspec.json.Decoder()
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError)


def _reason(exc: Exception) -> str:
    """msgspec's message, shortened and lowercased: `expected `str | null`, got `int` - at…`."""
    if isinstance(exc, UnicodeDecodeError):
        return "invalid UTF-8"
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


def _sniff(chunks: Iterator[bytes]) -> tuple[str, bytes]:
    """(format, bytes read so far): ``array``, ``events``, ``jsonl`` or ``empty``.

    Reads only as far as it must (usually one chunk). Every scan starts where the last one
    stopped, so a huge one-line document costs linear time here, not quadratic.
    """
    buf = bytearray()

    def more() -> bool:
        chunk = next(chunks, b"")
        buf.extend(chunk)
        return bool(chunk)

    def non_blank(pos: int) -> int:
        while (m := _NON_WS.search(buf, pos)) is None:
            pos = len(buf)
            if not more():
                return -1
        return m.start()

    def line_end(pos: int) -> int:
        while (nl := buf.find(b"\n", pos)) == -1:
            pos = len(buf)
            if not more():
                return len(buf)
        return nl

    while len(buf) < len(_BOM) and more():
        pass
    skip = len(_BOM) if buf.startswith(_BOM) else 0
    first = non_blank(skip)
    fmt = "jsonl"
    if first == -1:
        fmt = "empty"
    elif buf[first] == ord("["):
        # An array document, unless its first line is a whole JSON value with more lines
        # after it: then it is JSON lines whose first event is not an object.
        end = line_end(first)
        fmt = "array"
        if non_blank(end) != -1 and _decodes(bytes(buf[first:end])):
            fmt = "jsonl"
    elif buf[first] == ord("{"):
        end = line_end(first)
        line = bytes(buf[first:end])
        obj = _decoded_object(line)
        second = non_blank(end)
        if obj is not None:
            # An event, or an Events document followed by more lines (then: JSON lines).
            fmt = "jsonl" if "Events" not in obj or second != -1 else "events"
        elif line.strip() == b"{" or b'"Events"' in line:
            # The opening of a pretty-printed (or truncated one-line) Events document.
            fmt = "events"
        else:
            # Anything else that does not decode is a bad first event of JSON lines: reported
            # by its line with the rest of the file read, never a reason to reject the file.
            fmt = "jsonl"
    return fmt, bytes(buf[skip:])


def _decodes(line: bytes) -> bool:
    try:
        _ANY.decode(line)
    except _DECODE_ERRORS:
        return False
    return True


def _decoded_object(line: bytes) -> dict | None:
    try:
        value = _ANY.decode(line)
    except _DECODE_ERRORS:
        return None
    return value if isinstance(value, dict) else None


# --- decoding ------------------------------------------------------------------------------


def _jsonl(chunks: Iterable[bytes], source: int, first_line: int, mapper: _Mapper):
    decode = _EVENT.decode
    build = mapper.build
    lineno = first_line - 1
    rest = b""
    # The trailing b"\n" flushes a last line that has no newline of its own.
    for chunk in itertools.chain(chunks, (b"\n",)):
        lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = lines.pop()
        for raw in lines:
            lineno += 1
            try:
                ev = decode(raw)
            except _DECODE_ERRORS as exc:
                # Checked only on failure: blank lines are rare, strip() on every line is not.
                if raw.strip(_WS):
                    yield Malformed(source, lineno, _reason(exc))
                continue
            yield build(ev, source, lineno)


def _document(path, data: bytes, fmt: str, source: int, mapper: _Mapper):
    try:
        items = _ARRAY.decode(data) if fmt == "array" else _EVENTS_DOC.decode(data).Events
    except msgspec.ValidationError as exc:
        if fmt == "events" and "missing required field" in str(exc):
            raise TraceError(
                path, "expected a JSON array of events, an object with `Events`, or JSON lines"
            ) from None
        raise TraceError(path, _reason(exc)) from None
    except _DECODE_ERRORS as exc:
        line, col = _position(data, exc)
        # The byte offset is in LINE:COL already.
        raise TraceError(path, _BYTE_POS.sub("", _reason(exc)).rstrip(), line, col) from None
    for index, raw in enumerate(items, 1):
        try:
            ev = _EVENT.decode(raw)
        except _DECODE_ERRORS as exc:
            yield Malformed(source, index, _reason(exc))
            continue
        yield mapper.build(ev, source, index)


def _position(data: bytes, exc: Exception) -> tuple[int | None, int | None]:
    """1-based line and column of a top-level decode error (end of input when truncated)."""
    if isinstance(exc, UnicodeDecodeError):
        return None, None
    m = _BYTE_POS.search(str(exc))
    pos = min(int(m.group(1)), len(data)) if m else len(data)
    line = data.count(b"\n", 0, pos) + 1
    col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


# --- public --------------------------------------------------------------------------------


def read_events(path: str | Path, source: int, catalog) -> Iterator[TraceEvent | Malformed]:
    """Every event of one trace file, in file order; ``-`` reads binary stdin."""
    raw = _open_raw(path)
    try:
        chunks = _chunks(path, raw)
        fmt, head = _sniff(chunks)
        mapper = _Mapper(catalog)
        if fmt == "jsonl":
            yield from _jsonl(itertools.chain((head,), chunks), source, 1, mapper)
        elif fmt != "empty":
            yield from _document(path, head + b"".join(chunks), fmt, source, mapper)
    finally:
        if str(path) != "-":
            raw.close()


def is_plain_jsonl(path: str | Path) -> bool:
    """True for an uncompressed JSON-lines file: the only input a byte range can cut."""
    if str(path) == "-" or str(path).endswith(".gz"):
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

    Only uncompressed JSON lines are cut; any other input (gzip, array, ``Events``, stdin) is
    one range ``(0, size, 1)`` that ``read_jsonl_range`` reads with ``read_events``.
    """
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    if str(path) == "-":
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


def read_jsonl_range(
    path: str | Path, source: int, start: int, end: int, first_line: int, catalog
) -> Iterator[TraceEvent | Malformed]:
    """Events in bytes [start, end) of an uncompressed JSON-lines file, lines numbered from
    ``first_line``; ``start`` must be a line start (``split_points`` gives such ranges).

    For an input ``split_points`` does not cut, the one range (start 0) is read whole with
    ``read_events``, so the caller can treat every split alike.
    """
    if not is_plain_jsonl(path):
        if start != 0:
            raise ValueError(f"{_display(path)} cannot be read from byte {start}")
        yield from read_events(path, source, catalog)
        return
    with open(path, "rb") as f:
        f.seek(start)

        def chunks() -> Iterator[bytes]:
            left = end - start
            while left > 0 and (chunk := f.read(min(_CHUNK, left))):
                bom = start == 0 and left == end and chunk.startswith(_BOM)
                left -= len(chunk)
                yield chunk[len(_BOM) :] if bom else chunk  # as read_events does

        yield from _jsonl(chunks(), source, first_line, _Mapper(catalog))
