"""Replay recorded ActionTrail events through both engines and count what they decide.

The replay is split so that it runs anywhere unchanged:

    plan(sources)                → [Split]          pure: sorted inputs → groups of files / ranges
    replay_split(split, engines) → PartialReport    streams one split in constant memory
    PartialReport.merge(other)   → PartialReport    associative and commutative

``simulate`` plans, then runs the splits in this process, in ``--jobs`` local processes or on
Dask (``compiler.replay.cluster``), and folds the partial reports in whatever order they
finish. Everything a PartialReport holds merges exactly: integer counts, fixed-bucket latency
histograms, and the first N examples chosen by input position (source index, line), never by
arrival order — so the report is the same bytes (timing fields aside) for any number of
workers and any completion order.

``plan``, ``Split`` and ``Part`` live in ``compiler.replay.planning`` (imported here, so
they are still found in this module).

Deciding: both engines (and a baseline) answer each distinct decision-relevant request once
per split (``replay.memo``: the action, ARNs and the values of the keys some condition tests)
and the events that repeat it reuse those answers — exact, since each engine is a pure
function of that projection, and the RAM evaluator still decides every distinct one.

Timing: two clock reads cost more than a warm trie decision, so decisions are timed in
batches (decisions/s: the memo's lookups plus the engine's own calls on new requests; the
report's ``evaluated`` says how many there were) and only every ``SAMPLE_EVERY``-th one is
timed alone and unmemoised (p50/p99), with the clock's own cost subtracted. Reading and
parsing are outside every timer.

Over 400 lines: the per-event loop, its batch counters and the associative merge of a split's
counts must agree field by field, so they read best in one file; reading, attribution and the
report shape are already elsewhere.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import compress, repeat
from operator import attrgetter, eq, itemgetter, methodcaller, ne

from compiler.catalog import Catalog, default_catalog
from compiler.policy import Policy
from compiler.ram import RamEvaluator
from compiler.replay import Malformed, TraceEvent, read_events, read_jsonl_range
from compiler.replay.chain_replay import ChainMemo, OrgReplay
from compiler.replay.chain_report import org_section
from compiler.replay.columns import Batch, Batches
from compiler.replay.coverage import coverage_section, tally_scopes
from compiler.replay.impact import TOP, Baseline, Impact, decide_on_each, rule_refs, tally
from compiler.replay.impact_report import (
    plan_section,
    recorded_section,
    who_section,
)
from compiler.replay.memo import Memo, reads_context, relevant_keys
from compiler.replay.normalise import Mapper
from compiler.replay.planning import LINE_UNKNOWN, SPLIT_BYTES, SPLIT_EVENTS, Part, Split, plan
from compiler.replay.reader import Run, read_range_runs, read_runs
from compiler.replay.resources import build_resources
from compiler.replay.sources import Source

EXAMPLES = 20
SAMPLE_EVERY = 16
BATCH = 2048
ENGINES = ("trie", "ram")

# Latency histogram: 32 exact buckets for 0–31 ns, then 16 buckets per power of two (about
# 4% wide). Fixed size, so histograms from any split add up bucket by bucket.
_SUB = 16
_BUCKETS = 32 + _SUB * 60


def bucket_of(ns: int) -> int:
    if ns < 32:
        return max(ns, 0)
    shift = ns.bit_length() - 5
    return min(32 + (shift - 1) * _SUB + ((ns >> shift) - 16), _BUCKETS - 1)


def bucket_value(index: int) -> float:
    """The middle of a bucket, in ns."""
    if index < 32:
        return float(index)
    shift = (index - 32) // _SUB + 1
    low = (16 + (index - 32) % _SUB) << shift
    return low + (1 << shift) / 2


@dataclass
class EngineStats:
    decisions: int = 0
    batch_ns: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * _BUCKETS)
    evaluated: int = 0
    """Distinct decision-relevant requests the engine evaluated (``replay.memo``); the other
    decisions reused its answer for the same request. Per split, so it depends on the plan."""

    def merge(self, other: EngineStats) -> EngineStats:
        return EngineStats(
            self.decisions + other.decisions,
            self.batch_ns + other.batch_ns,
            [a + b for a, b in zip(self.histogram, other.histogram, strict=True)],
            self.evaluated + other.evaluated,
        )

    def percentile(self, q: float) -> float | None:
        total = sum(self.histogram)
        if not total:
            return None
        rank = q * total
        seen = 0
        for index, count in enumerate(self.histogram):
            seen += count
            if seen >= rank:
                return bucket_value(index)
        return bucket_value(_BUCKETS - 1)

    def to_dict(self) -> dict:
        seconds = self.batch_ns / 1e9
        return {
            "decisions": self.decisions,
            "seconds": round(seconds, 6),
            "decisions_per_second": round(self.decisions / seconds) if seconds else None,
            "p50_ns": self.percentile(0.50),
            "p99_ns": self.percentile(0.99),
            "timed_samples": sum(self.histogram),
            "evaluated": self.evaluated,
        }


def _first(examples: list[tuple], more: Iterable[tuple]) -> list[tuple]:
    return sorted([*examples, *more])[:EXAMPLES]


@dataclass
class PartialReport:
    events: int = 0
    malformed: int = 0
    decided: int = 0
    denied: int = 0
    allowed: int = 0
    unmapped: int = 0
    resource_unknown: int = 0
    """Events whose resource could not be built, for which a rule that needs one would
    otherwise have matched (decided on the ``*``-resource rules alone)."""
    mismatches: int = 0
    outside_window: int = 0
    """Events read but outside --since/--until (not in ``events``)."""
    malformed_examples: list[tuple] = field(default_factory=list)
    """(source, line, reason), the first by position."""
    mismatch_examples: list[tuple] = field(default_factory=list)
    """(source, line, event_id, action, trie, ram)."""
    recorded: dict[tuple[str, str], int] = field(default_factory=dict)
    """(recorded outcome, predicted decision) → count."""
    by_rule: dict[int, int] = field(default_factory=dict)
    by_hour: dict[str, list[int]] = field(default_factory=dict)
    """UTC hour of ``eventTime`` (``2026-12-01T05``) → [events, denied]: denials over time,
    merged by addition. Hours, not timestamps: a year of trace is at most 8,784 keys."""
    engines: dict[str, EngineStats] = field(
        default_factory=lambda: {name: EngineStats() for name in ENGINES}
    )
    impact: Impact = field(default_factory=Impact)
    """Who, the plan against a baseline, recorded denies explained (``replay.impact``)."""

    @property
    def by_access_key(self) -> dict[str, list[int]]:
        """access key → [events, denied]: the counts of the AccessKey table of ``impact``,
        which counts the same calls (read, not counted a second time per event)."""
        table = self.impact.tables["access_key"]
        denied = table.denied
        return {k: [n, denied.get(k, 0)] for k, n in table.events.items() if k is not None}

    def merge(self, other: PartialReport) -> PartialReport:
        def add(a: dict, b: dict) -> dict:
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + v
            return out

        hours = dict(self.by_hour)
        for k, (n, d) in other.by_hour.items():
            mine = hours.get(k, [0, 0])
            hours[k] = [mine[0] + n, mine[1] + d]
        return PartialReport(
            events=self.events + other.events,
            malformed=self.malformed + other.malformed,
            decided=self.decided + other.decided,
            denied=self.denied + other.denied,
            allowed=self.allowed + other.allowed,
            unmapped=self.unmapped + other.unmapped,
            resource_unknown=self.resource_unknown + other.resource_unknown,
            mismatches=self.mismatches + other.mismatches,
            outside_window=self.outside_window + other.outside_window,
            malformed_examples=_first(self.malformed_examples, other.malformed_examples),
            mismatch_examples=_first(self.mismatch_examples, other.mismatch_examples),
            recorded=add(self.recorded, other.recorded),
            by_rule=add(self.by_rule, other.by_rule),
            by_hour=hours,
            engines={n: self.engines[n].merge(other.engines[n]) for n in ENGINES},
            impact=self.impact.merge(other.impact),
        )


class StrictModeError(Exception):
    """A malformed event under ``--strict``."""

    def __init__(self, path: str, line: int, reason: str, col: int = 1):
        shown = "<stdin>" if path == "-" else path
        super().__init__(f"{shown}:{line}:{col}: error: malformed event: {reason}")
        self.path, self.line, self.reason, self.col = path, line, reason, col

    def __reduce__(self):
        return (StrictModeError, (self.path, self.line, self.reason, self.col))


@dataclass
class Engines:
    """The two deciders the replay compares: the trie and the RAM evaluator on JSON.

    Pickles as (policy, documents, catalog-or-None): the trie travels as its rules, without
    its memo (``DecisionTrie.__reduce__``), the evaluator as the JSON it was built from, and
    the packaged catalog not at all (each process loads its own). ``cluster`` sends that
    blob once per worker.
    """

    policy: Policy
    ram: RamEvaluator
    catalog: Catalog = field(default_factory=default_catalog)
    documents: tuple[tuple[str, dict], ...] | None = None
    """The (name, JSON) documents ``ram`` was built from; needed to pickle."""
    baseline: Baseline | None = None
    """The rules or documents in place, for a plan (``simulate --baseline``)."""
    org: OrgReplay | None = None
    """With an org.toml: each event decided along its account's chain (``chain_replay``)."""
    scoped: bool = field(init=False, default=False)
    """Whether a rule is scoped to resources: only then are events' ARNs built."""

    def __post_init__(self) -> None:
        self.scoped = any(not r.any_resource for r in self.policy.rules) or bool(
            self.baseline is not None and self.baseline.scoped
        )
        if self.org is not None:
            self.scoped = self.scoped or self.org.scoped

    @classmethod
    def for_policy(
        cls,
        policy: Policy,
        documents: Sequence[tuple[str, dict]] | None = None,
        baseline: Baseline | None = None,
        org: OrgReplay | None = None,
    ):
        docs = documents
        if docs is None:
            docs = [(d.filename, d.as_dict()) for d in policy.documents]
        return cls(policy, RamEvaluator(docs), documents=tuple(docs), baseline=baseline, org=org)

    def __reduce__(self):
        if self.documents is None:
            raise TypeError("Engines built without their documents cannot be pickled")
        catalog = None if self.catalog is default_catalog() else self.catalog
        state = (self.policy, self.documents, catalog, self.baseline, self.org)
        return (_rebuild_engines, state)


def _rebuild_engines(
    policy: Policy,
    documents,
    catalog: Catalog | None,
    baseline: Baseline | None = None,
    org: OrgReplay | None = None,
) -> Engines:
    engines = Engines.for_policy(policy, documents, baseline, org)
    if catalog is not None:
        engines.catalog = catalog
    return engines


def clock_overhead() -> int:
    """The cost of one ``perf_counter_ns`` pair, subtracted from each timed sample."""
    clock = time.perf_counter_ns
    best = 1 << 62
    for _ in range(2000):
        t0 = clock()
        t1 = clock()
        best = min(best, t1 - t0)
    return best


@dataclass(frozen=True, slots=True)
class Window:
    """``--since`` (inclusive) / ``--until`` (exclusive), aware datetimes; None: open."""

    since: datetime | None = None
    until: datetime | None = None

    @property
    def open(self) -> bool:
        return self.since is None and self.until is None

    def holds(self, event_time: object) -> bool:
        when = _event_time(event_time) if isinstance(event_time, str) else None
        if when is None:
            return False  # an event with no time cannot be placed in a window
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )


@lru_cache(maxsize=65536)
def _event_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)  # already checked by the reader: strict shape
    except ValueError:
        return None


_CURRENT_TIME = "acs:CurrentTime"


def _stream(part: Part, catalog, resources: bool = True) -> Iterable[TraceEvent | Malformed]:
    if part.end < 0:  # a whole file: no need to ask whether it can be cut
        return read_events(
            part.path,
            part.source,
            catalog,
            account=part.account,
            region=part.region,
            resources=resources,
        )
    return read_jsonl_range(
        part.path,
        part.source,
        part.start,
        part.end,
        part.first_line,
        catalog,
        account=part.account,
        region=part.region,
        resources=resources,
    )


def _runs(part: Part) -> Iterable[Run | Malformed]:
    # Only when no rule needs a resource (the columns' path): events without its fields.
    if part.end < 0:
        return read_runs(part.path, part.source, resources=False)
    return read_range_runs(
        part.path, part.source, part.start, part.end, part.first_line, resources=False
    )


def _noting(items: Iterator, source: int, after: dict[int, int] | None) -> Iterator:
    """``items``; what they return at the end of a byte range (the line after it) noted in
    ``after`` for ``source``."""
    if after is None:
        return items
    return _noted(items, source, after)


def _noted(items: Iterator, source: int, after: dict[int, int]) -> Iterator:
    line = yield from items
    if line is not None:
        after[source] = line


def replay_split(
    split: Split,
    engines: Engines,
    *,
    strict: bool = False,
    window: Window | None = None,
    progress: Callable[[int], None] | None = None,
    into: PartialReport | None = None,
) -> PartialReport:
    """Replay one split. Memory is bounded by the batch size, not by the split's length.

    ``into``: count into this report rather than a new one (returned). Its examples are kept
    in the order they are met, so a process may count several splits into one report only in
    plan order (each split after the ones before it): then it holds what merging their
    reports would, without building and merging one report per split."""
    with _fewer_collections():
        return _replay_split(split, engines, strict, window, progress, into)


_GC_LOCK = threading.Lock()
_GC_HELD = [0, None]  # replays running in this process, the threshold they replaced
GC_THRESHOLD = 100_000
"""CPython's first-generation threshold while a split replays (its default is 700)."""


@contextmanager
def _fewer_collections():
    """Collect the youngest generation less often while replaying: each batch allocates
    tens of thousands of short-lived tuples and lists (the tables' keys, the columns) that
    hold no cycle, and a collection every 700 of them cost ~8 % of a replay (py-spy). The
    threshold is raised, never collection switched off, and restored when the last replay
    running in the process (Dask runs several in threads) ends."""
    with _GC_LOCK:
        if _GC_HELD[0] == 0:
            _GC_HELD[1] = gc.get_threshold()
            low, *rest = _GC_HELD[1]
            gc.set_threshold(max(low, GC_THRESHOLD), *rest)
        _GC_HELD[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_HELD[0] -= 1
            if _GC_HELD[0] == 0:
                gc.set_threshold(*_GC_HELD[1])


def _replay_split(
    split: Split,
    engines: Engines,
    strict: bool,
    window: Window | None,
    progress: Callable[[int], None] | None,
    into: PartialReport | None,
    after: dict[int, int] | None = None,
) -> PartialReport:
    """``replay_split``; ``after`` (source → line), when given, notes where each byte range
    read ends: the first line of the range after it (``_numbered``)."""
    report = PartialReport() if into is None else into
    held = None if into is None else _hold_examples(into)
    bounded = None if into is None else into.impact.hold_bounded()
    overhead = clock_overhead()
    memo = memo_for(engines)
    holds = None if window is None or window.open else window.holds

    def decide(batch: Batch) -> None:
        report.events += len(batch)
        _decide_batch(batch, engines, report, overhead, memo)
        if progress is not None:
            progress(len(batch))

    def malformed(part: Part, item: Malformed) -> None:
        report.events += 1
        if strict:
            raise StrictModeError(part.path, item.line, item.reason, item.col)
        report.malformed += 1
        if len(report.malformed_examples) < EXAMPLES:
            report.malformed_examples.append((item.source, item.line, item.col, item.reason))

    if engines.scoped or engines.org is not None:
        # Rules need resources, or an org decides along chains: every event's TraceEvent is
        # built (its ARNs come from it; the chain replay reads events).
        events: list[TraceEvent] = []
        for part in split.parts:
            for item in _noting(_stream(part, engines.catalog, True), part.source, after):
                if item.__class__ is Malformed:
                    malformed(part, item)
                    continue
                if holds is not None and not holds(item.context.get(_CURRENT_TIME)):
                    report.outside_window += 1
                    continue
                events.append(item)
                if len(events) >= BATCH:
                    decide(Batch.of_events(events))
                    events = []
        if events:
            decide(Batch.of_events(events))
    else:
        # Read as columns (``replay.columns``): a TraceEvent only where one is needed.
        batches = Batches(BATCH)
        for part in split.parts:
            mapper = Mapper(
                engines.catalog, account=part.account, region=part.region, resources=False
            )
            for item in _noting(_runs(part), part.source, after):
                if item.__class__ is Malformed:
                    malformed(part, item)
                    continue
                lines, decoded, regions = item.lines, item.events, item.regions
                if holds is not None:
                    keep = list(map(holds, [ev.eventTime or None for ev in decoded]))
                    if not all(keep):
                        report.outside_window += keep.count(False)
                        lines = list(compress(lines, keep))
                        decoded = list(compress(decoded, keep))
                        regions = list(compress(regions, keep))
                for batch in batches.add(mapper, item.source, lines, decoded, regions):
                    decide(batch)
        if len(batches.pending):
            decide(batches.pending)
    if held is not None:
        _fold_examples(report, held)
    if bounded is not None:
        report.impact.fold_bounded(bounded)
    return report


def _hold_examples(report: PartialReport) -> tuple[list[tuple], ...]:
    held = (
        report.malformed_examples,
        report.mismatch_examples,
        report.impact.unexplained,
        report.impact.plan_examples,
        report.impact.baseline_mismatch_examples,
    )
    report.malformed_examples, report.mismatch_examples = [], []
    report.impact.unexplained, report.impact.plan_examples = [], []
    report.impact.baseline_mismatch_examples = []
    return held


def _fold_examples(report: PartialReport, held: tuple[list[tuple], ...]) -> None:
    """A split's example lists (its first ``EXAMPLES`` in file order) folded into those of
    the splits before it as ``merge`` folds them: by position, ties (events of one compact
    JSON line) broken by their other fields. So a report that counted several splits holds
    the lists that merging one report per split would, whoever counted which split."""
    malformed, mismatches, unexplained, plan_examples, baseline_mismatches = held
    report.malformed_examples = _first(malformed, report.malformed_examples)
    report.mismatch_examples = _first(mismatches, report.mismatch_examples)
    report.impact.keep_first_examples(unexplained, plan_examples, baseline_mismatches)


def _decide_batch(
    batch: Batch, engines: Engines, report: PartialReport, overhead: int, memo: Memo | ChainMemo
) -> None:
    clock = time.perf_counter_ns
    trie_decide = engines.policy.trie.decider()
    ram_decide = engines.ram.decide
    org = engines.org
    # ARNs are built before the timers start: building is the reader's work, not a decision.
    arns = None
    if engines.scoped:
        arns = [build_resources(ev, engines.catalog) for ev in batch.events]

    # Both engines answer each distinct decision-relevant request once (``memo``); each
    # engine's seconds are the lookups plus its own calls on the requests not seen before.
    t0 = clock()
    answers = memo.answers(batch if org is None else batch.events, arns)
    t1 = clock()
    spent = memo.spent
    shared = t1 - t0 - sum(spent)
    trie_stats, ram_stats = report.engines["trie"], report.engines["ram"]
    trie_stats.batch_ns += shared + spent[0]
    ram_stats.batch_ns += shared + spent[1]
    trie_stats.decisions += len(batch)
    ram_stats.decisions += len(batch)
    trie_stats.evaluated += memo.misses
    ram_stats.evaluated += memo.misses
    memo.spent, memo.misses = [0] * len(spent), 0

    # Latency samples: every SAMPLE_EVERY-th event, each engine timed alone and unmemoised.
    trie_hist, ram_hist = trie_stats.histogram, ram_stats.histogram
    if org is not None:  # along the event's chain
        for k in range(0, len(batch), SAMPLE_EVERY):
            t, r = memo.sample(batch[k], arns[k] if arns is not None else None)
            trie_hist[bucket_of(t - overhead)] += 1
            ram_hist[bucket_of(r - overhead)] += 1
    for k in range(0, len(batch) if org is None else 0, SAMPLE_EVERY):
        # The request both engines read: without conditions, not a whole TraceEvent.
        ev, on = memo.request(batch, k), arns[k] if arns is not None else None
        a = clock()
        if on is None:
            trie_decide(ev.action, ev.context)
        else:
            decide_on_each(trie_decide, ev, on)
        b = clock()
        ram_decide(ev.action, ev.context, on)
        c = clock()
        trie_hist[bucket_of(b - a - overhead)] += 1
        ram_hist[bucket_of(c - b - overhead)] += 1

    trie_out = list(map(_FIRST, answers))
    verdicts, denied_at = _count(batch, trie_out, list(map(_SECOND, answers)), report)
    if arns is not None:  # which resource-scoped rules' scope the calls' resources met
        tally_scopes(report.impact.scope_actions, engines.policy, batch.action, arns)
    # Attribution and the plan, outside the timers: they are the report's work.
    if org is not None:
        org.count(report.impact, memo, batch.events, arns, trie_out, answers)
        return
    baseline = engines.baseline
    if baseline is None:
        tally(report.impact, batch, trie_out, verdicts=verdicts, denied_at=denied_at)
        return
    policy = engines.policy
    tally(
        report.impact,
        batch,
        trie_out,
        list(map(_THIRD, answers)),
        new_rules=lambda d: rule_refs(policy, d.rule_indexes),
        old_rules=lambda i: baseline.rules_denying(batch[i], arns[i] if arns else None),
        baseline_ram=list(map(_FOURTH, answers)) if baseline.check is not None else None,
        shared=answers,
        verdicts=verdicts,
        denied_at=denied_at,
    )


_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_THIRD = itemgetter(2)
_FOURTH = itemgetter(3)
_VERDICT = attrgetter("decision")
_RULE_INDEXES = attrgetter("rule_indexes")
_RESOURCE_UNKNOWN = attrgetter("resource_unknown")
_SERVICE = attrgetter("service")
_RECORDED = attrgetter("recorded")
_ACCESS_KEY = attrgetter("access_key")
_WHEN = methodcaller("get", _CURRENT_TIME)
_CONTEXT = attrgetter("context")


def _count(
    batch: Batch, trie_out: list, ram_out: list[str], report: PartialReport
) -> tuple[list[str], list[int]]:
    """The report's counts for one decided batch; returns the trie's verdicts and the
    indexes of the denied events, which ``tally`` reads too. Per event only C loops run
    (``map``, ``compress``, ``Counter``): a Python loop per event cost more than both
    engines' (memoised) decisions; Python runs per denied call, mismatch and distinct key.
    Calls per AccessKey are the AccessKey table's (``PartialReport.by_access_key``)."""
    n = len(batch)
    verdicts = list(map(_VERDICT, trie_out))
    denied_at = list(compress(range(n), map(eq, verdicts, repeat("deny"))))
    denied_n = len(denied_at)
    by_rule = report.by_rule
    for indexes, k in Counter(map(_RULE_INDEXES, map(trie_out.__getitem__, denied_at))).items():
        for index in indexes:
            by_rule[index] = by_rule.get(index, 0) + k
    report.decided += n
    report.denied += denied_n
    report.allowed += n - denied_n
    report.unmapped += batch.service.count(None)
    report.resource_unknown += n - list(map(_RESOURCE_UNKNOWN, trie_out)).count(())
    mismatched = list(compress(range(n), map(ne, verdicts, ram_out)))
    report.mismatches += len(mismatched)
    room = EXAMPLES - len(report.mismatch_examples)
    for i in mismatched[: max(room, 0)]:
        ev = batch[i]
        report.mismatch_examples.append(
            (ev.source, ev.line, ev.event_id, ev.action, verdicts[i], ram_out[i])
        )
    _count_recorded(report.recorded, batch.recorded, verdicts, denied_n)
    hours = _hours(batch.time)
    _pairs(report.by_hour, Counter(hours), Counter(map(hours.__getitem__, denied_at)))
    return verdicts, denied_at


_HOUR = itemgetter(slice(0, 13))


def _hours(times: list[str | None]) -> list[str | None]:
    """The UTC hour of each event time (None: the event has none — a trace need not carry
    eventTime). A slice, not a parse, for the times ActionTrail writes (UTC, ``Z``); when
    every time of the batch is one, the slices are taken by one C-level ``map``, without a
    Python test per event."""
    try:
        utc = all(map(str.endswith, times, repeat("Z")))
    except TypeError:  # a None among them
        utc = False
    if utc:
        return list(map(_HOUR, times))
    return [None if t is None else t[:13] if t[-1:] == "Z" else _utc_hour(t) for t in times]


def _count_recorded(table: dict, recorded: list[str], verdicts: list[str], denied: int) -> None:
    """(recorded outcome, predicted decision) → count. Nearly every call was recorded as
    allowed: only the others are paired one by one, and the allowed ones split by the
    batch's deny count (``denied``) less the denies among the others. A pair per event was
    half of this function's time."""
    if denied + verdicts.count("allow") != len(verdicts):  # a verdict of another kind
        for slot, k in Counter(zip(recorded, verdicts, strict=True)).items():
            table[slot] = table.get(slot, 0) + k
        return
    others = list(compress(range(len(recorded)), map(ne, recorded, repeat("allow"))))
    denied_others = 0
    if others:
        outcomes = map(recorded.__getitem__, others)
        predicted = map(verdicts.__getitem__, others)
        for slot, k in Counter(zip(outcomes, predicted, strict=True)).items():
            table[slot] = table.get(slot, 0) + k
            if slot[1] == "deny":
                denied_others += k
    denied_allowed = denied - denied_others  # recorded as allowed, denied by the rules
    allowed = len(recorded) - len(others)
    for verdict, k in (("deny", denied_allowed), ("allow", allowed - denied_allowed)):
        if k:
            table["allow", verdict] = table.get(("allow", verdict), 0) + k


def _pairs(table: dict, events: Counter, denied: Counter) -> None:
    """Add [events, denied] per key (None: the event had none, not counted)."""
    for key, k in events.items():
        if key is None:
            continue
        counts = table.get(key)
        if counts is None:
            counts = table[key] = [0, 0]
        counts[0] += k
        counts[1] += denied.get(key, 0)


def memo_for(engines: Engines) -> Memo | ChainMemo:
    """The per-split table of both engines' (and the baseline's) answers; with an org, one
    per chain (``chain_replay.ChainMemo``)."""
    if engines.org is not None:
        return engines.org.memo()
    trie_decide = engines.policy.trie.decider()
    ram_decide = engines.ram.decide

    def trie(ev: TraceEvent, on):
        return decide_on_each(trie_decide, ev, on)

    def ram(ev: TraceEvent, on):
        return ram_decide(ev.action, ev.context, on)

    deciders = [trie, ram]
    rule_sets, evaluators = [engines.policy], [engines.ram]
    baseline = engines.baseline
    if baseline is not None:
        deciders.append(baseline.decider())
        if baseline.policy is not None:
            rule_sets.append(baseline.policy)
        if baseline.ram is not None:
            evaluators.append(baseline.ram)
        check = baseline.check_decider()
        if check is not None:  # the baseline's second engine: its JSON
            deciders.append(check)
            evaluators.append(baseline.check)
    keys = relevant_keys(rule_sets, evaluators)
    free = not keys and not reads_context(rule_sets, evaluators)
    return Memo(tuple(deciders), keys, context_free=free)


@lru_cache(maxsize=4096)
def _utc_hour(text: str) -> str:
    """``2026-12-01T13:59:59+08:00`` → ``2026-12-01T05``: the UTC hour of an event time."""
    try:
        when = datetime.fromisoformat(text).astimezone(UTC)  # the reader checked the shape
    except (ValueError, OverflowError):  # year 1 at +01:00: keep its own hour
        return text[:13]
    return when.strftime("%Y-%m-%dT%H")


def simulate(
    sources: Sequence[str | Source],
    engines: Engines,
    *,
    strict: bool = False,
    split_bytes: int = SPLIT_BYTES,
    split_events: int = SPLIT_EVENTS,
    window: Window | None = None,
    progress: Callable[[int], None] | None = None,
    runner: Callable | None = None,
) -> PartialReport:
    """Plan, replay every split, fold the partial reports. ``runner`` (from
    ``compiler.replay.cluster``) runs the splits elsewhere; by default, here, in order.

    A runner is given the plan to make (a function), so that it may start its workers while
    the plan is made: cutting a big JSON-lines file reads it through once."""
    if runner is not None:
        return runner(
            lambda: plan(sources, split_bytes, split_events),
            engines,
            strict=strict,
            window=window,
            progress=progress,
        )
    total = PartialReport()
    # In order, one report for all; a big file's ranges are numbered as they are read, so
    # planning does not read the file through first to count its lines (``count_lines``).
    after: dict[int, int] = {}
    for split in plan(sources, split_bytes, split_events, count_lines=False):
        split = _numbered(split, after)
        with _fewer_collections():
            _replay_split(split, engines, strict, window, progress, total, after)
    return total


def _numbered(split: Split, after: dict[int, int]) -> Split:
    """``split`` with each byte range's ``LINE_UNKNOWN`` first line filled in from where the
    range before it ended (``after``: source → the line after its last range read)."""
    if all(p.first_line != LINE_UNKNOWN for p in split.parts):
        return split
    parts = tuple(
        p._replace(first_line=after[p.source]) if p.first_line == LINE_UNKNOWN else p
        for p in split.parts
    )
    return Split(split.index, parts, split.events)


def report_dict(
    report: PartialReport,
    sources: Sequence[str | Source],
    engines: Engines,
    top: int = TOP,
) -> dict:
    """The ``--report`` JSON: DESIGN.md's contract fields and issue 13's ``who``, ``plan``
    (with a baseline), ``recorded`` explained and ``coverage``; tables hold ``top`` rows."""
    ordered = sorted(s.path if isinstance(s, Source) else os.fspath(s) for s in sources)

    def where(source: int) -> str:
        return ordered[source] if 0 <= source < len(ordered) else "?"

    rules = {r.index: r for r in engines.policy.rules}
    outcomes = ("deny", "allow", "error")
    confusion = {
        rec: {pred: report.recorded.get((rec, pred), 0) for pred in ("deny", "allow")}
        for rec in outcomes
    }
    matched_deny = confusion["deny"]["deny"]
    policy = engines.policy
    out = {
        "sources": ordered,
        "policies": [p.name for p in engines.policy.policies],
        "events": report.events,
        "malformed": {
            "count": report.malformed,
            "first": [
                {"file": where(s), "line": line, "col": col, "reason": reason}
                for s, line, col, reason in report.malformed_examples
            ],
        },
        "decided": report.decided,
        "denied": report.denied,
        "allowed": report.allowed,
        "unmapped": report.unmapped,
        "resource_unknown": report.resource_unknown,
        "outside_window": report.outside_window,
        "mismatches": {
            "count": report.mismatches,
            "examples": [
                {
                    "file": where(s),
                    "line": line,
                    "event_id": event_id,
                    "action": action,
                    "trie": trie,
                    "ram": ram,
                }
                for s, line, event_id, action, trie, ram in report.mismatch_examples
            ],
        },
        "recorded": {
            "matrix": confusion,
            "recorded_denies": sum(confusion["deny"].values()),
            "recorded_denies_predicted": matched_deny,
            "predicted_denies_not_recorded": confusion["allow"]["deny"],
            **recorded_section(report.impact, policy, where),
        },
        "by_rule": [
            {
                "policy": rules[i].policy,
                "file": rules[i].file,
                "line": rules[i].line,
                "rule": rules[i].text,
                "denied": n,
            }
            for i, n in sorted(report.by_rule.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "by_access_key": [
            {"access_key": k, "events": n, "denied": d}
            for k, (n, d) in sorted(
                report.by_access_key.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0])
            )
        ],
        "over_time": over_time(report.by_hour),
        "engines": {name: report.engines[name].to_dict() for name in ENGINES},
        "who": who_section(report.impact, policy, report.by_rule, where, top),
        "coverage": coverage_section(
            report.impact, policy, engines.catalog, report.by_rule, where, top
        ),
    }
    if engines.baseline is not None:
        out["plan"] = plan_section(report.impact, engines.baseline, where, top)
    if engines.org is not None:
        out["org"] = org_section(report.impact.chain, engines.org, where, top)
    return out


HOURLY_DAYS = 31
"""A trace spanning at most this many days is reported by the hour, a longer one by the day."""


def over_time(by_hour: dict[str, list[int]]) -> dict:
    """Events and denies per UTC hour (or day, for a long trace), sparse and in time order.

    Only buckets that hold an event are listed: one stray event from 1970 must not make the
    report list every day since."""
    hours = sorted(by_hour)
    bucket = "hour"
    if hours and _span_days(hours[0], hours[-1]) > HOURLY_DAYS:
        bucket = "day"
    merged: dict[str, list[int]] = {}
    for hour in hours:
        key = hour if bucket == "hour" else hour[:10]
        counts = merged.setdefault(key, [0, 0])
        counts[0] += by_hour[hour][0]
        counts[1] += by_hour[hour][1]
    suffix = ":00:00Z" if bucket == "hour" else "T00:00:00Z"
    return {
        "bucket": bucket,
        "series": [
            {"start": key + suffix, "events": n, "denied": d} for key, (n, d) in merged.items()
        ],
    }


def _span_days(first: str, last: str) -> float:
    try:
        a = datetime.strptime(first, "%Y-%m-%dT%H")
        b = datetime.strptime(last, "%Y-%m-%dT%H")
    except ValueError:
        return 0.0
    return (b - a) / timedelta(days=1)
