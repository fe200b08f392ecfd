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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    """A URL opened for reading bytes through fsspec."""
    return _fsspec().open(url, "rb").open()


# --- the delivery layout -------------------------------------------------------------------


def delivery_info(path: str) -> Source:
    """``path`` with what an ActionTrail delivery path says (region, account, stamp, count);
    a path of another shape is returned bare. Plain string work: planning reads 10⁵ names."""
    name = path.rsplit("/", 1)[-1]
    if not (name.startswith("Actiontrail_") and name.endswith(".gz")):
        return Source(path)
    parts = name[: -len(".gz")].split("_")
    # Actiontrail, region, stamp, 1002, count, size, md5 (a region never holds `_`).
    if len(parts) != 7 or not (parts[2].isdigit() and len(parts[2]) == 14):
        return Source(path)
    region, stamp, count, size = parts[1], parts[2], parts[4], parts[5]
    account = None
    dirs = path.split("/")[:-1]
    if "AliyunLogs" in dirs:
        after = dirs[len(dirs) - dirs[::-1].index("AliyunLogs") :]
        # <type>/<region>/<YYYY>/<MM>/<DD> or <type>/<rd_id>/<accountid>/<region>/…
        if len(after) == 7 and after[3] == region and after[2].isdigit():
            account = after[2]
    return Source(
        path,
        int(size) if size.isdigit() else None,
        account,
        region,
        stamp,
        int(count) if count.isdigit() else None,
    )


def stamp_time(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def prune(
    sources: Iterable[Source], since: datetime | None, until: datetime | None
) -> tuple[list[Source], int]:
    """(sources that may hold events in [since, until), how many were pruned by name)."""
    kept: list[Source] = []
    pruned = 0
    low = since - PRUNE_SLACK if since is not None else None
    high = until + PRUNE_SLACK if until is not None else None
    for s in sources:
        when = stamp_time(s.stamp) if s.stamp else None
        if when is not None and ((low and when < low) or (high and when > high)):
            pruned += 1
            continue
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
    an input that does not exist or matches nothing (a typo must not replay nothing)."""
    found: dict[str, Source] = {}
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
                _walk(d, found, skipped)
            if not matches:
                raise TraceError(text, "no file matches this pattern")
            for m in files:
                _add_local(m, found)
        elif os.path.isdir(text):
            _walk(text, found, skipped)
        elif os.path.exists(text):
            _add_local(text, found)
        else:
            raise TraceError(text, "no such file")
    return Expanded([found[k] for k in sorted(found)], sorted(skipped))


def _add_local(path: str, found: dict[str, Source]) -> None:
    info = delivery_info(path.replace(os.sep, "/"))
    if info.size is None or info.count is None:
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise TraceError(path, f"cannot open: {exc.strerror or exc}") from None
        info = Source(path, size, info.account, info.region, info.stamp, info.count)
    elif info.path != path:
        info = Source(path, info.size, info.account, info.region, info.stamp, info.count)
    found[path] = info


def _walk(root: str, found: dict[str, Source], skipped: list[str]) -> None:
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop, or two links to one directory
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if _is_trace_name(name):
                _add_local(path, found)
            else:
                skipped.append(path)


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
    except (OSError, ValueError) as exc:
        raise TraceError(url, f"cannot list: {exc}") from None
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
