"""Stream the elements of a JSON array without holding the array: ``(line, bytes)`` each.

ActionTrail delivers gzip'd JSON arrays; an export can be one array of hundreds of MB. Reading
it whole cost 488 MB of memory for a 155 MB file (issue 16 item 5), so elements are found in
a moving window instead:

- Fast path (every real file): cut the window at a candidate boundary (a ``,`` between a
  ``}`` and a ``{``, the shape of an array of events) and let msgspec validate the piece as
  ``[piece]`` of raw values. That succeeds only when the cut is a real element boundary at
  depth 1: a cut inside a string leaves it unterminated, a cut inside a nested value leaves
  it unclosed, and either is "truncated" or an error *at* the appended ``]``. An error before
  the cut is an error of the document itself, at that byte.
- Slow path (a window msgspec cannot take: an element nested deeper than its recursion
  budget): a byte scanner that tracks strings and depth finds the boundaries. Linear, and
  never a regex over user text.

Positions are real: the line and column (in bytes, as every position the reader gives) of
each element's first byte, so the events of an array written on one line (ActionTrail's
download) are told apart by their column. The window never holds more
than ``MAX_ELEMENT`` past the last boundary; a longer element is a ``TraceError`` (inside an
array there is no next line to resume at). Nesting is bounded by ``MAX_DEPTH``: deeper
elements come back with ``None`` instead of their bytes, so the reader reports one malformed
event, whatever Python's stack depth happens to be (determinism across workers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec

MAX_ELEMENT = 64 * 1024 * 1024
MAX_DEPTH = 640
# Try a cut once this much is buffered: big enough that msgspec's per-call cost is noise.
_WINDOW = 1024 * 1024

_RAWS = msgspec.json.Decoder(list[msgspec.Raw])
_SEP = re.compile(rb"[ \t\r\n,]*")
_WS = re.compile(rb"[ \t\r\n]*")
_TOKENS = re.compile(rb'[\[\]{}"\\]')
_SCALAR_END = re.compile(rb"[,\] \t\r\n]")
_BYTE_POS = re.compile(r"\(byte (\d+)\)")


class ArrayError(Exception):
    """The array itself is broken at 1-based ``line`` and ``col`` of the input."""

    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.message = message
        self.where = (line, col)


class _Window:
    """The bytes not yet consumed; ``line`` is the line of ``buf[pos]`` and ``start`` where
    that line starts in ``buf`` (0 or less when it started before the window's bytes)."""

    __slots__ = ("buf", "line", "pos", "start")

    def __init__(self, head: bytes, pos: int, line: int, start: int) -> None:
        self.buf = bytearray(head)
        self.pos = pos
        self.line = line
        self.start = start

    def advance(self, to: int) -> None:
        """Move ``pos`` to ``to``, counting the lines passed (a search of those bytes only)."""
        buf, pos = self.buf, self.pos
        passed = buf.count(b"\n", pos, to)
        if passed:
            self.line += passed
            self.start = buf.rfind(b"\n", pos, to) + 1
        self.pos = to

    def col(self, off: int) -> int:
        """The 1-based column of ``buf[off]``, on ``pos``'s line (no newline between)."""
        return off - self.start + 1

    def error(self, message: str, off: int) -> ArrayError:
        buf = self.buf
        off = min(max(off, 0), len(buf))
        line = self.line + buf.count(b"\n", self.pos, off)
        nl = buf.rfind(b"\n", self.pos, off)
        return ArrayError(message, line, off - nl if nl != -1 else self.col(off))

    def drop(self) -> None:
        """Forget everything before ``pos``: memory stays at the window."""
        k = self.pos
        self.start -= k
        del self.buf[:k]
        self.pos = 0


def too_deep(data: bytes | bytearray, start: int = 0, end: int | None = None) -> bool:
    """True when the JSON value in ``data[start:end]`` nests deeper than ``MAX_DEPTH``.

    Cheap first: a value cannot nest deeper than it has opening brackets. Then a scan that
    skips strings (a backslash escapes the next byte, whatever it is).
    """
    end = len(data) if end is None else end
    if data.count(b"[", start, end) + data.count(b"{", start, end) <= MAX_DEPTH:
        return False
    depth = 0
    in_string = False
    pos = start
    search = _TOKENS.search
    while (m := search(data, pos, end)) is not None:
        ch = data[m.start()]
        pos = m.end()
        if in_string:
            if ch == 0x5C:
                pos += 1
            elif ch == 0x22:
                in_string = False
        elif ch == 0x22:
            in_string = True
        elif ch in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif ch in (0x5D, 0x7D):
            depth -= 1
    return False


def _boundaries(data: bytearray, start: int, end: int) -> tuple[list[tuple[int, int]], int]:
    """Slow path: (element spans, where the scan stopped) for array content in
    ``data[start:end]``; the last, unfinished element is not returned. Depth is counted
    without limit (this is plain iteration, not recursion)."""
    spans: list[tuple[int, int]] = []
    depth = 0
    in_string = False
    elem = -1
    pos = start
    while pos < end:
        if not in_string and depth == 0:
            m = _SEP.match(data, pos, end)
            pos = m.end()
            if pos >= end:
                break
            ch = data[pos]
            if ch == 0x5D:  # `]`: the end of the array
                return spans, pos
            elem = pos
            if ch in (0x5B, 0x7B):
                depth = 1
                pos += 1
                continue
            if ch == 0x22:
                in_string = True
                pos += 1
                continue
            # A scalar: up to the next separator or bracket.
            m = _SCALAR_END.search(data, pos, end)
            if m is None:
                break
            spans.append((elem, m.start()))
            pos = m.start()
            continue
        m = _TOKENS.search(data, pos, end)
        if m is None:
            break
        ch = data[m.start()]
        pos = m.end()
        if in_string:
            if ch == 0x5C:
                pos += 1  # whatever follows a backslash is escaped
            elif ch == 0x22:
                in_string = False
                if depth == 0:
                    spans.append((elem, pos))
            continue
        if ch == 0x22:
            in_string = True
        elif ch in (0x5B, 0x7B):
            depth += 1
        elif ch in (0x5D, 0x7D):
            depth -= 1
            if depth == 0:
                spans.append((elem, pos))
    return spans, (spans[-1][1] if spans else start)


def stream_array(
    chunks: Iterator[bytes], head: bytes, offset: int, line: int, col: int = 1
) -> Iterator[tuple[int, int, bytes | None]]:
    """``(line, column, element bytes)`` for every element of the array whose ``[`` is at
    ``head[offset]``, the position of the element's first byte; ``head`` is what was read so
    far, ``chunks`` the rest. ``line`` and ``col`` are where ``head[offset]`` is. ``None``
    for an element nested deeper than ``MAX_DEPTH``. Raises ``ArrayError`` (with the line
    and column) for a broken document."""
    nl = head.rfind(b"\n", 0, offset)
    w = _Window(head, offset + 1, line, nl + 1 if nl != -1 else offset + 1 - col)
    done = False
    while True:
        while not done and len(w.buf) - w.pos < _WINDOW:
            chunk = next(chunks, b"")
            if not chunk:
                done = True
                break
            w.buf.extend(chunk)
        if done:
            yield from _emit(w, _finish(w))
            return
        cut = _candidate(w.buf, w.pos)
        spans = None if cut is None else _try(w, cut)
        if spans is None:
            if len(w.buf) - w.pos > MAX_ELEMENT:
                raise w.error(
                    f"an array element is longer than {MAX_ELEMENT // (1024 * 1024)} MiB", w.pos
                )
            # Read on: the window grows until a cut lands on a boundary.
            chunk = next(chunks, b"")
            if not chunk:
                done = True
            else:
                w.buf.extend(chunk)
            continue
        yield from _emit(w, spans)
        w.advance(cut + 1)
        w.drop()


def _emit(w: _Window, spans: list[tuple[int, int]]) -> Iterator[tuple[int, int, bytes | None]]:
    # ``_Window.advance`` inlined: two method calls per element cost more than the counting.
    buf = w.buf
    line, pos, first = w.line, w.pos, w.start
    count, rfind = buf.count, buf.rfind
    for start, end in spans:
        if passed := count(b"\n", pos, start):
            line += passed
            first = rfind(b"\n", pos, start) + 1
        yield (
            line,
            start - first + 1,
            (None if too_deep(buf, start, end) else bytes(buf[start:end])),
        )
        if passed := count(b"\n", start, end):
            line += passed
            first = rfind(b"\n", start, end) + 1
        pos = end
    w.line, w.pos, w.start = line, pos, first


def _candidate(buf: bytearray, pos: int) -> int | None:
    """The last ``,`` after ``pos`` with ``}`` before it and ``{`` after it (whitespace
    aside): where two events meet."""
    end = len(buf)
    for _ in range(256):
        comma = buf.rfind(b",", pos, end)
        if comma == -1:
            return None
        before = comma - 1
        while before > pos and buf[before] in b" \t\r\n":
            before -= 1
        after = _WS.match(buf, comma + 1).end()
        if buf[before] == 0x7D and after < len(buf) and buf[after] == 0x7B:
            return comma
        end = comma
    return None


def _try(w: _Window, cut: int) -> list[tuple[int, int]] | None:
    """Element spans of ``buf[pos:cut]`` when ``cut`` is a boundary, else None."""
    buf, pos = w.buf, w.pos
    piece = b"[" + bytes(buf[pos:cut]) + b"]"
    try:
        raws = _RAWS.decode(piece)
    except RecursionError:
        spans, stop = _boundaries(buf, pos, cut + 1)
        return spans if spans and _SEP.match(buf, stop).end() >= cut + 1 else None
    except msgspec.DecodeError as exc:
        m = _BYTE_POS.search(str(exc))
        if m is not None and int(m.group(1)) < len(piece) - 1:
            raise w.error(_reason(str(exc)), pos + int(m.group(1)) - 1) from None
        return None  # truncated, or an error at the `]` we added: not a boundary
    return _spans(buf, pos, raws)


def _spans(buf: bytearray, pos: int, raws: list) -> list[tuple[int, int]]:
    spans = []
    for raw in raws:
        start = _SEP.match(buf, pos).end()
        end = start + len(raw)
        spans.append((start, end))
        pos = end
    return spans


def _finish(w: _Window) -> list[tuple[int, int]]:
    """The rest of the array, up to its `]`, and nothing but whitespace after it."""
    buf, pos = w.buf, w.pos
    piece = b"[" + bytes(buf[pos:])
    try:
        return _spans(buf, pos, _RAWS.decode(piece))
    except RecursionError:
        spans, stop = _boundaries(buf, pos, len(buf))
        close = _SEP.match(buf, stop).end()
        if close >= len(buf) or buf[close] != 0x5D:
            raise w.error("invalid JSON: truncated", len(buf)) from None
        if _WS.match(buf, close + 1).end() != len(buf):
            raise w.error("invalid JSON: trailing characters", close + 1) from None
        return spans
    except msgspec.DecodeError as exc:
        m = _BYTE_POS.search(str(exc))
        raise w.error(_reason(str(exc)), pos + int(m.group(1)) - 1 if m else len(buf)) from None


def _reason(msg: str) -> str:
    if msg.startswith("JSON is malformed: "):
        msg = "invalid JSON: " + msg[len("JSON is malformed: ") :]
    elif msg == "Input data was truncated":
        msg = "invalid JSON: truncated"
    return _BYTE_POS.sub("", msg).rstrip()
