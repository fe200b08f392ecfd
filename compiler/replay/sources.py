"""Where traces live: files, directories, globs and URLs, expanded into sorted ``Source``\\ s.

``expand(inputs)`` turns what ``--trace`` was given into the sorted list of files the plan
cuts into splits:

- a file (or ``-`` for stdin) is itself;
- a directory is every trace file under it, recursively, symlinked directories followed
  (each real directory once); files without a trace suffix (``.json``, ``.jsonl``,
  ``.ndjson``, ``.gz``) are skipped and counted, never silently;
- a glob (``*``, ``?``, ``[``) is matched by the filesystem's own glob, ``**`` included;
- a URL (``oss://bucket/prefix``, ``s3://…``, ``memory://…``: anything fsspec knows) is
  listed through fsspec, as a file, a prefix (recursive) or a glob. ``s3fs`` and ``ossfs``
  are extras (``pip install 'ramguard[s3]'`` / ``'ramguard[oss]'``); OSS also speaks S3 at
  ``https://s3.oss-<region>.aliyuncs.com``, so ``s3fs`` with that endpoint reads OSS buckets.

ActionTrail's delivery layout is recognised by path and name (alibabacloud.com/help/en/
actiontrail/latest/what-is-the-storage-path-of-an-event-that-is-delivered-to-an-oss-bucket):

    <prefix>/AliyunLogs/<Event type>/[<rd_id>/<accountid>/]<Region ID>/<YYYY>/<MM>/<DD>/
        Actiontrail_<Region ID>_<YYYYMMDDHHMMSS>_1002_<Event count>_<Log file size>_<md5>.gz

(the ``<rd_id>/<accountid>/`` pair only for multi-account trails). The name gives the
region, a time and the event count (which sizes the splits without opening a file); the
path gives the account for multi-account trails. ``prune`` drops files whose name-time is
outside ``--since/--until`` before any is opened: with a day of slack either side, because
the page does not say which clock the name uses and a file holds the events of the minutes
before it is written; events are then filtered exactly by their own ``eventTime``.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

TRACE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
_GLOB_CHARS = frozenset("*?[")
PRUNE_SLACK = timedelta(days=1)


class TraceError(Exception):
    """A problem with a trace file as a whole; renders as ``path[:LINE:COL]: error: message``."""

    def __init__(
        self, path: str | Path, message: str, line: int | None = None, col: int | None = None
    ):
        super().__init__(message)
        self.path = "<stdin>" if str(path) == "-" else str(path)
        self.message = message
        self.line = line
        self.col = col

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: error: {self.message}"
        return f"{self.path}:{self.line}:{self.col or 1}: error: {self.message}"

    def __reduce__(self):
        # Raised in worker processes and re-raised here: keep every field.
        return (TraceError, (self.path, self.message, self.line, self.col))


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """One input file. Sorted by ``path``; everything else is what its name and listing say."""

    path: str
    size: int | None = None
    """Bytes as stored (compressed), from the listing; None when unknown (stdin)."""
    account: str | None = None
    region: str | None = None
    stamp: str | None = None
    """``YYYYMMDDHHMMSS`` from an ActionTrail delivery file name."""
    count: int | None = None
    """Events, from an ActionTrail delivery file name."""


def is_url(text: str) -> bool:
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isascii() and scheme.replace("+", "").isalnum()


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise TraceError(
            "fsspec", "reading URLs needs fsspec: pip install 'ramguard[s3]' or 'ramguard[oss]'"
        ) from None
    return fsspec


def open_binary(url: str) -> BinaryIO:
    """A URL opened for reading bytes through fsspec; any failure is a ``TraceError`` naming
    the URL (see ``url_error``)."""
    fsspec = _fsspec()
    try:
        return fsspec.open(url, "rb").open()
    except FileNotFoundError:
        raise TraceError(url, "no such file") from None
    except Exception as exc:  # whatever the filesystem's library raises
        raise url_error(url, "open", exc) from None


# The extras (pyproject.toml) that install a protocol's filesystem.
_EXTRAS = {"oss": "oss", "s3": "s3", "s3a": "s3"}


def url_error(url: str, doing: str, exc: Exception) -> TraceError:
    """Why ``url`` could not be listed or opened, as one line naming it. fsspec raises
    ImportError for a protocol whose package is missing (ossfs, s3fs), and each library its
    own errors beyond OSError: botocore's NoCredentialsError, ClientError,
    EndpointConnectionError, aiohttp's connection errors. They were a traceback."""
    protocol = url.split("://", 1)[0].lower()
    if isinstance(exc, ImportError):
        extra = _EXTRAS.get(protocol)
        how = f"pip install 'ramguard[{extra}]'" if extra else str(exc)
        return TraceError(url, f"cannot {doing} {protocol}:// URLs: {how} ({exc})")
    detail = str(exc) or type(exc).__name__
    if not isinstance(exc, OSError | ValueError):
        detail = f"{type(exc).__name__}: {detail}"  # NoCredentialsError: Unable to locate …
    return TraceError(url, f"cannot {doing}: {detail}")


# --- the delivery layout -------------------------------------------------------------------


# An ActionTrail delivery file name, ``Actiontrail_<region>_<YYYYMMDDHHMMSS>_1002_<count>_
# <size>_<md5>.gz``, as one compiled pattern: names are ours to parse (not user globs), and
# one match per name (or one ``findall`` over 10⁵ of them) is what makes planning cheap. It
# takes ASCII digits only, as the plain string reading that defines the answer does
# (``_delivery_fields_by_parts``, which reads every name the pattern does not match).
_NAME = r"Actiontrail_([^_/\n]*)_([0-9]{14})_[^_/\n]*_([0-9]+)_([0-9]+)_[^_/\n]*\.gz"
_NAME_RE = re.compile(_NAME)
_LINES_RE = re.compile(rf"^(?:([^\n]*)/)?{_NAME}$", re.MULTILINE)

Fields = tuple[str, int | None, str | None, str | None, str | None, int | None]
"""(path, size, account, region, stamp, count): a ``Source``'s fields, in its order."""


def delivery_fields(path: str) -> Fields:
    """What an ActionTrail delivery path says, as ``Source``'s fields (a path of another
    shape: its fields bare)."""
    directory, _, name = path.rpartition("/")
    m = _NAME_RE.fullmatch(name)
    if m is None:
        return _delivery_fields_by_parts(path)
    region, stamp, count, size = m.groups()
    return (path, int(size), _account_in(directory, region), region, stamp, int(count))


def names_fields(names: list[str]) -> list[Fields]:
    """``delivery_fields`` of every name (see ``names_columns``)."""
    columns = names_columns(names)
    if columns is None:
        return [delivery_fields(n) for n in names]
    return list(zip(*columns, strict=True))


def names_columns(names: list[str]) -> tuple[Sequence, ...] | None:
    """``delivery_fields`` of every name as columns (paths, sizes, accounts, regions, stamps,
    counts), read by one regex pass over all the names and no Python work per name but a
    cached directory lookup; None unless every name is a delivery name (the usual case for
    a trail; else read them with ``delivery_fields``)."""
    text = "\n".join(names)
    found = _LINES_RE.findall(text) if text.count("\n") == len(names) - 1 else []
    if len(found) != len(names):
        return None
    if not found:
        return ((),) * 6
    dirs, regions, stamps, counts, sizes = zip(*found, strict=True)
    accounts = tuple(map(_account_in, dirs, regions))
    return (names, tuple(map(int, sizes)), accounts, regions, stamps, tuple(map(int, counts)))


@lru_cache(maxsize=1 << 16)
def _account_in(directory: str, region: str) -> str | None:
    """The account of a multi-account trail's directory: ``…/AliyunLogs/<type>/<rd_id>/
    <accountid>/<region>/<YYYY>/<MM>/<DD>`` (the last AliyunLogs counting); else None.
    Cached: a trail has a directory a day per account and region, and 10⁵ files in them."""
    dirs = directory.split("/") if directory else []
    if "AliyunLogs" not in dirs:
        return None
    after = dirs[len(dirs) - dirs[::-1].index("AliyunLogs") :]
    # <type>/<region>/<YYYY>/<MM>/<DD> or <type>/<rd_id>/<accountid>/<region>/…
    if len(after) == 7 and after[3] == region and _digits(after[2]):
        return after[2]
    return None


def _digits(text: str) -> bool:
    """ASCII digits: ``str.isdigit`` alone takes ``²`` (which ``int`` refuses) and ``٣``."""
    return text.isascii() and text.isdigit()


def _delivery_fields_by_parts(path: str) -> Fields:
    name = path.rsplit("/", 1)[-1]
    if not (name.startswith("Actiontrail_") and name.endswith(".gz")):
        return (path, None, None, None, None, None)
    parts = name[: -len(".gz")].split("_")
    # Actiontrail, region, stamp, 1002, count, size, md5 (a region never holds `_`).
    if len(parts) != 7 or not (_digits(parts[2]) and len(parts[2]) == 14):
        return (path, None, None, None, None, None)
    region, stamp, count, size = parts[1], parts[2], parts[4], parts[5]
    return (
        path,
        int(size) if _digits(size) else None,
        _account_in(path.rpartition("/")[0], region),
        region,
        stamp,
        int(count) if _digits(count) else None,
    )


def delivery_info(path: str) -> Source:
    """``path`` with what an ActionTrail delivery path says (region, account, stamp, count);
    a path of another shape is returned bare."""
    return Source(*delivery_fields(path))


def stamp_time(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


# A stamp whose fields are in range as written (year 0001-9999; a month's 29th-31st are
# checked by ``_day_ok``): for these the text orders as the time does, so pruning compares
# strings, not datetimes (10⁵ names).
_STAMP = re.compile(
    r"(?!0000)[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"
)


@lru_cache(maxsize=4096)
def _day_ok(day: str) -> bool:
    try:
        datetime.strptime(day, "%Y%m%d")
    except ValueError:
        return False
    return True


def _stamp_bound(when: datetime, up: bool) -> str:
    """``when`` as a UTC stamp, rounded so that comparing whole-second stamps as text gives
    what comparing the times gives: up (ceiling) for a lower bound, down for an upper one."""
    utc = when.astimezone(UTC)
    if up and utc.microsecond:
        try:
            utc += timedelta(seconds=1)
        except OverflowError:
            return "~"  # past year 9999: above every stamp
    return (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"
    )


def prune(
    sources: Iterable[Source], since: datetime | None, until: datetime | None
) -> tuple[list[Source], int]:
    """(sources that may hold events in [since, until), how many were pruned by name)."""
    low = since - PRUNE_SLACK if since is not None else None
    high = until + PRUNE_SLACK if until is not None else None
    if low is None and high is None:
        return list(sources), 0
    aware = all(b is None or b.tzinfo is not None for b in (low, high))
    low_text = _stamp_bound(low, True) if low is not None and aware else None
    high_text = _stamp_bound(high, False) if high is not None and aware else None
    in_range = _STAMP.fullmatch
    kept: list[Source] = []
    pruned = 0
    for s in sources:
        stamp = s.stamp
        if not stamp:
            kept.append(s)
            continue
        if aware and in_range(stamp) and (stamp[6:8] < "29" or _day_ok(stamp[:8])):
            out = (low_text is not None and stamp < low_text) or (
                high_text is not None and stamp > high_text
            )
        else:  # an odd stamp (or a naive bound): the time it parses to, if any, decides
            when = stamp_time(stamp)
            out = when is not None and bool((low and when < low) or (high and when > high))
        if out:
            pruned += 1
        else:
            kept.append(s)
    return kept, pruned


# --- expansion -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expanded:
    sources: list[Source]
    skipped: list[str]
    """Files under a directory or prefix that have no trace suffix."""


def _is_trace_name(name: str) -> bool:
    return name.endswith(TRACE_SUFFIXES)


def expand(inputs: Sequence[str]) -> Expanded:
    """Every input as the sorted, de-duplicated files it stands for. Raises ``TraceError`` for
    an input that does not exist or matches nothing (a typo must not replay nothing).

    A local file is one file under any spelling (``t.jsonl`` and ``./t.jsonl``, a directory
    and a file in it, a symlink or hard link): read once, by the first name it was met under,
    as ``expand_paths`` reads a rules file once. URLs are compared as text."""
    found: dict[str, Source] = {}
    local = _LocalFiles(found)
    skipped: list[str] = []
    for text in inputs:
        text = str(text)
        if text == "-":
            found["-"] = Source("-")
        elif is_url(text):
            _expand_url(text, found, skipped)
        elif _GLOB_CHARS & set(text):
            matches = sorted(globlib.glob(text, recursive=True))
            files = [m for m in matches if os.path.isfile(m)]
            for d in (m for m in matches if os.path.isdir(m)):
                _walk(d, local, skipped)
            if not matches:
                raise TraceError(text, "no file matches this pattern")
            for m in files:
                local.add(m)
        elif os.path.isdir(text):
            _walk(text, local, skipped)
        elif os.path.exists(text):
            local.add(text)
        else:
            raise TraceError(text, "no such file")
    return Expanded([found[k] for k in sorted(found)], sorted(skipped))


class _LocalFiles:
    """The local files ``expand`` found, each once by (st_dev, st_ino): the same trace under
    two spellings was replayed (and counted) twice."""

    def __init__(self, found: dict[str, Source]) -> None:
        self.found = found
        self.seen: set[tuple[int, int]] = set()

    def add(self, path: str, entry: os.DirEntry | None = None, device: int = 0) -> None:
        """``path``, once; from a directory listing, ``entry`` and its directory's device
        give the identity without a stat per file (10⁵ files in a trail)."""
        st = None
        try:
            if entry is not None and not entry.is_symlink():
                key = (device, entry.inode())  # a file is on its directory's device
            else:
                st = os.stat(path)
                key = (st.st_dev, st.st_ino)
            if key in self.seen:
                return  # the first name it was met under stays
            self.seen.add(key)
            info = delivery_info(path.replace(os.sep, "/"))
            if info.size is None or info.count is None:
                size = (st or os.stat(path)).st_size
                info = Source(path, size, info.account, info.region, info.stamp, info.count)
            elif info.path != path:
                info = Source(path, info.size, info.account, info.region, info.stamp, info.count)
        except OSError as exc:
            raise TraceError(path, f"cannot open: {exc.strerror or exc}") from None
        self.found[path] = info


def _walk(root: str, local: _LocalFiles, skipped: list[str]) -> None:
    """Every file under ``root`` in os.walk's order (top-down, names sorted), symlinked
    directories followed, each real directory once (a symlink loop, two links to one)."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        directory = pending.pop()
        real = os.path.realpath(directory)
        if real in seen:
            continue
        seen.add(real)
        try:
            device = os.stat(directory).st_dev
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            continue  # as os.walk: a directory that cannot be listed is passed over
        below: list[str] = []
        for entry in entries:
            if entry.is_dir():
                below.append(entry.path)
            elif _is_trace_name(entry.name):
                local.add(entry.path, entry, device)
            else:
                skipped.append(entry.path)
        pending.extend(reversed(below))


def _expand_url(url: str, found: dict[str, Source], skipped: list[str]) -> None:
    fsspec = _fsspec()
    try:
        fs, root = fsspec.core.url_to_fs(url)
        protocol = url.split("://", 1)[0]
        if _GLOB_CHARS & set(root):
            listing = fs.glob(root, detail=True)
            entries = {p: i for p, i in listing.items() if i.get("type") != "directory"}
            directory = False
        elif fs.isdir(root):
            entries = fs.find(root, detail=True)
            directory = True
        elif fs.exists(root):
            entries = {root: fs.info(root)}
            directory = False
        else:
            raise TraceError(url, "no such file")
    except TraceError:
        raise
    except Exception as exc:  # whatever the filesystem's library raises
        raise url_error(url, "list", exc) from None
    if not entries:
        raise TraceError(url, "no file matches this pattern")
    for path, info in sorted(entries.items()):
        full = f"{protocol}://{path.lstrip('/')}" if protocol != "file" else path
        if directory and not _is_trace_name(path):
            skipped.append(full)
            continue
        meta = delivery_info(full)
        size = info.get("size")
        found[full] = Source(
            full,
            meta.size if meta.size is not None else size,
            meta.account,
            meta.region,
            meta.stamp,
            meta.count,
        )
