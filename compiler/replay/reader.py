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
import ipaddress
import itertools
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import msgspec

from compiler.model.keys import LANGUAGE_KEYS, parse_bool
from compiler.replay.events import Malformed, TraceEvent, classify_outcome

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_WS = b" \t\r\n"
# Big enough that per-chunk work (split, list) is noise next to decoding, small enough that
# memory stays flat and a byte range does not over-read much.
_CHUNK = 256 * 1024
# Per-reader caches are bounded so that adversarial input (a new host on every line) cannot
# make memory grow with the file.
_CACHE_MAX = 4096

_SOURCE_IP = LANGUAGE_KEYS["source_ip"][0]
_CURRENT_TIME = LANGUAGE_KEYS["time"][0]
_ACCESS_ID = LANGUAGE_KEYS["access_key"][0]
_MFA = LANGUAGE_KEYS["mfa"][0]
_VPC = LANGUAGE_KEYS["vpc"][0]
_SECURE = LANGUAGE_KEYS["secure_transport"][0]

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
class _Attributes(msgspec.Struct, gc=False):
    mfaAuthenticated: str | bool | None = None


class _SessionContext(msgspec.Struct, gc=False):
    attributes: _Attributes | None = None


class _UserIdentity(msgspec.Struct, gc=False):
    accessKeyId: str | None = None
    sessionContext: _SessionContext | None = None


class _Additional(msgspec.Struct, gc=False):
    Scheme: str | None = None


class _Event(msgspec.Struct, gc=False):
    eventName: str
    eventId: str | None = None
    eventSource: str | None = None
    serviceName: str | None = None
    eventTime: str | None = None
    sourceIpAddress: str | None = None
    vpcId: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    userIdentity: _UserIdentity | None = None
    additionalEventData: _Additional | None = None


class _EventsDocument(msgspec.Struct):
    Events: list[msgspec.Raw]


_EVENT = msgspec.json.Decoder(_Event)
_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])
_EVENTS_DOC = msgspec.json.Decoder(_EventsDocument)
_ANY = msgspec.json.Decoder()
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError)


@lru_cache(maxsize=_CACHE_MAX)
def _is_ip(text: str) -> bool:
    # `Internal` and service host names are not addresses: acs:SourceIp stays absent for them.
    # Dotted quads are checked by hand: ipaddress costs ~15 µs a miss, and traces are full of
    # distinct client addresses.
    parts = text.split(".")
    if len(parts) == 4:
        return all(
            p.isascii()
            and p.isdigit()
            and len(p) <= 3
            and (p == "0" or p[0] != "0")
            and int(p) < 256
            for p in parts
        )
    if ":" not in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# The spellings seen in practice, looked up without a call; others go through parse_bool.
_BOOLS: dict[object, bool] = {"true": True, "false": False, True: True, False: False}


class _Mapper:
    """Turns a decoded event into a TraceEvent; caches the service lookup per (host, name)."""

    __slots__ = ("_catalog", "_services")

    def __init__(self, catalog) -> None:
        self._catalog = catalog
        self._services: dict[tuple[str | None, str | None], tuple[str | None, str | None]] = {}

    def _service(self, host: str | None, trail: str | None) -> tuple[str | None, str | None]:
        key = (host, trail)
        hit = self._services.get(key)
        if hit is not None:
            return hit
        svc = self._catalog.service_for_host(host) if host else None
        if svc is None and trail:
            svc = self._catalog.service_for_trail_name(trail)
        if svc is not None and svc.ram_codes:
            hit: tuple[str | None, str | None] = (f"{svc.ram_codes[0]}:", svc.name)
        else:
            # Unmapped: still decide it, on the best guess at its RAM code, so that rules for
            # every service (`deny * *`, `deny * Delete*`) see it; counted as unmapped.
            hit = (f"{_guess_code(host, trail)}:", None)
        if len(self._services) < _CACHE_MAX:
            self._services[key] = hit
        return hit

    def build(self, ev: _Event, source: int, line: int) -> TraceEvent:
        hit = self._services.get((ev.eventSource, ev.serviceName))
        if hit is None:
            hit = self._service(ev.eventSource, ev.serviceName)
        prefix, service = hit
        context: dict[str, object] = {}
        ip = ev.sourceIpAddress
        if ip and _is_ip(ip):
            context[_SOURCE_IP] = ip
        if ev.eventTime:
            context[_CURRENT_TIME] = ev.eventTime
        access_key = None
        ident = ev.userIdentity
        if ident is not None:
            access_key = ident.accessKeyId or None
            if access_key:
                context[_ACCESS_ID] = access_key
            session = ident.sessionContext
            if session is not None and session.attributes is not None:
                flag = session.attributes.mfaAuthenticated
                if flag is not None:
                    mfa = _BOOLS.get(flag)
                    if mfa is None:
                        mfa = parse_bool(flag)
                    if mfa is not None:
                        context[_MFA] = mfa
        if ev.vpcId:
            context[_VPC] = ev.vpcId
        extra = ev.additionalEventData
        if extra is not None and extra.Scheme:
            context[_SECURE] = extra.Scheme.strip().lower() == "https"
        # Positional: source, line, event_id, action, service, event_name, context,
        # access_key, recorded (keywords cost measurably at one event per call).
        return TraceEvent(
            source,
            line,
            ev.eventId or "",
            prefix + ev.eventName,
            service,
            ev.eventName,
            context,
            access_key,
            classify_outcome(ev.errorCode, ev.errorMessage) if ev.errorCode else "allow",
        )


def _guess_code(host: str | None, trail: str | None) -> str:
    """``Oss`` → ``oss``; ``oss-cn-hangzhou.aliyuncs.com`` → ``oss``; nothing → ``unknown``."""
    if trail and trail.strip():
        return trail.strip().lower()
    if host and host.strip():
        return host.strip().lower().split(".", 1)[0].split("-", 1)[0] or "unknown"
    return "unknown"


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
