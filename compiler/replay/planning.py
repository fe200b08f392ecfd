"""The replay's plan: sorted inputs cut into ``Split``\\ s, a pure function of the inputs.

Splits are sized in events, not files: an ActionTrail delivery file's name gives its event
count; other files are estimated from their size (``_BYTES_PER_EVENT``). Consecutive files
(in sorted order) are grouped until a split holds about ``SPLIT_EVENTS``; a big uncompressed
JSON-lines file is cut into byte ranges that start on a line. Nothing depends on the number
of workers, so the same inputs always give the same splits.

An organisation's trail is 10⁵-10⁶ delivery files, and the plan is made in one process
before any worker can start, so it is written as whole-list operations: the names sorted
once as strings, parsed by one regular expression over all of them (``sources``), grouped
by bisecting running sums, and ``Part`` a named tuple (built and pickled by C code, where a
frozen dataclass costs a Python ``__init__`` per file).
"""

from __future__ import annotations

import gc
import os
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from itertools import accumulate, repeat
from operator import itemgetter
from typing import NamedTuple

from compiler.replay.reader import cut_points, split_points
from compiler.replay.sources import Fields, Source, delivery_fields, names_columns

SPLIT_EVENTS = 25_000
"""About this many events to a split: about half a second of one core. Small, so that
workers taking splits as they go finish within half a split of each other (the last split
alone at the end was a tenth of a 2-process run at 100,000); big enough that what a split
costs besides its events (opening, a task message, the clock's calibration) is noise, and
that 10⁹ events are 4·10⁴ Dask tasks (seconds of scheduler time)."""
SPLIT_BYTES = 16 * 1024 * 1024
"""The byte ranges a big uncompressed JSON-lines file is cut into: ~20,000 events."""
MAX_PARTS = 2_000
"""Files in one split at most: a task's arguments stay small."""
# Measured on generated traces (~770 B an event as JSON, ~130 B gzip'd); only for sizing.
_BYTES_PER_EVENT = 770
_GZIP_BYTES_PER_EVENT = 130


class Part(NamedTuple):
    """One file, or one byte range of a big uncompressed JSON-lines file (immutable, ordered
    by its fields; a named tuple because a plan holds one per file, see the module)."""

    source: int
    """Index of the input in the sorted source list."""
    path: str
    start: int
    end: int
    """-1: the whole file, read as it is (gzip, array, stream…)."""
    first_line: int
    account: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True, order=True)
class Split:
    index: int
    parts: tuple[Part, ...]
    events: int
    """Estimated events (from names or sizes): for progress and for sizing only."""


def _estimate(path: str, size: int | None, count: int | None) -> int:
    if count is not None:
        return count
    if size is None:
        return SPLIT_EVENTS  # stdin: unknown, one split of its own
    per = _GZIP_BYTES_PER_EVENT if path.endswith(".gz") else _BYTES_PER_EVENT
    return max(1, size // per)


def sorted_fields(sources: Sequence[str | os.PathLike | Source]) -> list[Fields]:
    """Every input as ``Source``'s fields, sorted by path: plain paths parsed by name (and
    stat'ed when the name does not give size and count), ``Source`` values as they are."""
    return list(zip(*_columns(sources), strict=True))


def _columns(sources: Sequence[str | os.PathLike | Source]) -> tuple[Sequence, ...]:
    """``sorted_fields`` as columns: (paths, sizes, accounts, regions, stamps, counts)."""
    if all(map(isinstance, sources, repeat(str))):
        names = sorted(sources)  # equal paths give equal fields: sorting names sorts rows
        columns = names_columns(names)  # type: ignore[arg-type]
        if columns is not None:
            return columns
        rows = [delivery_fields(n) for n in names]  # type: ignore[arg-type]
    else:
        rows = [
            (s.path, s.size, s.account, s.region, s.stamp, s.count)
            if isinstance(s, Source)
            else delivery_fields(os.fspath(s))
            for s in sources
        ]
        rows.sort(key=itemgetter(0))
        # The same path twice (rare) falls back to the full order, as ``Source`` orders.
        if len({row[0] for row in rows}) < len(rows):
            rows.sort()
    if None in map(_SIZE, rows) or None in map(_COUNT, rows):
        for i, row in enumerate(rows):
            path, size, account, region, stamp, count = row
            if (size is None or count is None) and path != "-" and "://" not in path:
                rows[i] = (path, os.stat(path).st_size, account, region, stamp, count)
    return tuple(zip(*rows, strict=True)) if rows else ((),) * 6


_SIZE, _COUNT = itemgetter(1), itemgetter(5)


def as_sources(sources: Sequence[str | os.PathLike | Source]) -> list[Source]:
    """Sorted ``Source`` values; plain paths are stat'ed here (``sources.expand`` lists
    directories, globs and URLs)."""
    return [Source(*row) for row in sorted_fields(sources)]


LINE_UNKNOWN = 0
"""``Part.first_line`` of a byte range planned with ``count_lines=False``: the number of its
first line is known once the range before it has been read."""


def plan(
    sources: Sequence[str | os.PathLike | Source],
    split_bytes: int = SPLIT_BYTES,
    split_events: int = SPLIT_EVENTS,
    *,
    count_lines: bool = True,
) -> list[Split]:
    """Cut the sorted inputs into splits of about ``split_events`` events: consecutive
    small files grouped, big uncompressed JSON-lines files cut into byte ranges (of about
    ``split_bytes``) that start on a line. A pure function of the inputs and the two sizes.

    ``count_lines=False``: the same splits, but a byte range after a file's first has
    ``first_line`` ``LINE_UNKNOWN`` and the file is not read through to count its lines
    (``reader.cut_points``): for a caller that reads the ranges in order and numbers each
    from where the one before ended (``simulate`` in one process)."""
    with _collector_paused():
        return _plan(sources, split_bytes, split_events, count_lines)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Planning allocates a few tuples per file and no reference cycle; on 10⁵ files the
    cyclic collector's passes over them (hundreds, a few full ones) cost as much as the
    planning itself. Paused, then resumed as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _plan(sources, split_bytes: int, split_events: int, count_lines: bool) -> list[Split]:
    paths, sizes, accounts, regions, _stamps, counts = _columns(sources)
    if not paths:
        return []
    # A trail: every name says how many events its file holds.
    estimates = list(map(_estimate, paths, sizes, counts)) if None in counts else counts
    big = []
    if max(filter(None, sizes), default=0) > split_bytes:
        big = [
            i
            for i, (path, size) in enumerate(zip(paths, sizes, strict=True))
            if size is not None
            and size > split_bytes
            and not path.endswith(".gz")
            and "://" not in path
        ]
    splits: list[Split] = []
    start = 0
    for i in big:
        if count_lines:
            ranges = split_points(paths[i], split_bytes)
        else:
            cuts = cut_points(paths[i], split_bytes)
            ranges = [(b, e, 1 if b == 0 else LINE_UNKNOWN) for b, e in cuts]
        if len(ranges) == 1:
            continue  # one range: grouped with its neighbours like any small file
        _group(splits, start, i, paths, accounts, regions, estimates, split_events)
        for begin, end, first in ranges:
            part = Part(i, paths[i], begin, end, first, accounts[i], regions[i])
            splits.append(Split(len(splits), (part,), max(1, (end - begin) // _BYTES_PER_EVENT)))
        start = i + 1
    _group(splits, start, len(paths), paths, accounts, regions, estimates, split_events)
    return splits


# ``Part(*fields)`` without a Python call per part: the named tuple's own ``_make`` is Python.
_new_part = partial(tuple.__new__, Part)


def _group(splits, lo, hi, paths, accounts, regions, estimates, split_events) -> None:
    """Whole files ``lo``…``hi - 1`` into splits: each takes the next files while its
    estimate stays within ``split_events`` (at least one file, at most ``MAX_PARTS``), found
    by bisecting the running sums."""
    totals = [0, *accumulate(estimates[lo:hi])]
    i = 0
    n = hi - lo
    while i < n:
        j = bisect_right(totals, totals[i] + split_events, i + 1) - 1
        j = max(i + 1, min(j, i + MAX_PARTS))
        a, b = lo + i, lo + j
        parts = tuple(
            map(
                _new_part,
                zip(
                    range(a, b),
                    paths[a:b],
                    repeat(0),
                    repeat(-1),
                    repeat(1),
                    accounts[a:b],
                    regions[a:b],
                ),
            )
        )
        splits.append(Split(len(splits), parts, totals[j] - totals[i]))
        i = j
