"""Replay recorded ActionTrail events through both engines and count what they decide.

The replay is split so that it can later run on a cluster unchanged:

    plan(sources)               → [Split]           pure: sorted inputs → byte ranges
    replay_split(split, engines) → PartialReport     streams one split in constant memory
    PartialReport.merge(other)  → PartialReport     associative and commutative

One process folds the splits in order (``simulate``). Everything a PartialReport holds merges
exactly: integer counts, fixed-bucket latency histograms, and the first N examples chosen by
input position (source index, line), never by arrival order.

Timing: two clock reads cost more than a warm trie decision, so decisions are timed in
batches (decisions/s) and only every ``SAMPLE_EVERY``-th one is timed alone (p50/p99), with
the clock's own cost subtracted. Reading and parsing are outside every timer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from compiler.catalog import Catalog, default_catalog
from compiler.policy import Policy
from compiler.ram import RamEvaluator
from compiler.replay import Malformed, TraceEvent, read_jsonl_range, split_points

EXAMPLES = 20
SAMPLE_EVERY = 16
BATCH = 2048
SPLIT_BYTES = 64 * 1024 * 1024
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


@dataclass(frozen=True, slots=True, order=True)
class Split:
    source: int
    """Index of the input in the sorted source list."""
    path: str
    start: int
    end: int
    first_line: int


def plan(sources: Sequence[str], split_bytes: int = SPLIT_BYTES) -> list[Split]:
    """Cut the (sorted) inputs into splits; big uncompressed JSON-lines files into byte ranges
    that start on a line."""
    out: list[Split] = []
    for index, path in enumerate(sorted(sources)):
        for start, end, first in split_points(path, split_bytes):
            out.append(Split(index, str(path), start, end, first))
    return out


@dataclass
class EngineStats:
    decisions: int = 0
    batch_ns: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * _BUCKETS)

    def merge(self, other: EngineStats) -> EngineStats:
        return EngineStats(
            self.decisions + other.decisions,
            self.batch_ns + other.batch_ns,
            [a + b for a, b in zip(self.histogram, other.histogram, strict=True)],
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
    mismatches: int = 0
    malformed_examples: list[tuple] = field(default_factory=list)
    """(source, line, reason), the first by position."""
    mismatch_examples: list[tuple] = field(default_factory=list)
    """(source, line, event_id, action, trie, ram)."""
    recorded: dict[tuple[str, str], int] = field(default_factory=dict)
    """(recorded outcome, predicted decision) → count."""
    by_rule: dict[int, int] = field(default_factory=dict)
    by_access_key: dict[str, list[int]] = field(default_factory=dict)
    """access key → [events, denied]."""
    engines: dict[str, EngineStats] = field(
        default_factory=lambda: {name: EngineStats() for name in ENGINES}
    )

    def merge(self, other: PartialReport) -> PartialReport:
        def add(a: dict, b: dict) -> dict:
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + v
            return out

        keys = dict(self.by_access_key)
        for k, (n, d) in other.by_access_key.items():
            mine = keys.get(k, [0, 0])
            keys[k] = [mine[0] + n, mine[1] + d]
        return PartialReport(
            events=self.events + other.events,
            malformed=self.malformed + other.malformed,
            decided=self.decided + other.decided,
            denied=self.denied + other.denied,
            allowed=self.allowed + other.allowed,
            unmapped=self.unmapped + other.unmapped,
            mismatches=self.mismatches + other.mismatches,
            malformed_examples=_first(self.malformed_examples, other.malformed_examples),
            mismatch_examples=_first(self.mismatch_examples, other.mismatch_examples),
            recorded=add(self.recorded, other.recorded),
            by_rule=add(self.by_rule, other.by_rule),
            by_access_key=keys,
            engines={n: self.engines[n].merge(other.engines[n]) for n in ENGINES},
        )


class StrictModeError(Exception):
    """A malformed event under ``--strict``."""

    def __init__(self, path: str, line: int, reason: str):
        shown = "<stdin>" if path == "-" else path
        super().__init__(f"{shown}:{line}: error: malformed event: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass
class Engines:
    """The two deciders the replay compares: the trie and the RAM evaluator on JSON."""

    policy: Policy
    ram: RamEvaluator
    catalog: Catalog = field(default_factory=default_catalog)

    @classmethod
    def for_policy(cls, policy: Policy, documents: Sequence[tuple[str, dict]] | None = None):
        docs = documents
        if docs is None:
            docs = [(d.filename, d.as_dict()) for d in policy.documents]
        return cls(policy, RamEvaluator(docs))


def clock_overhead() -> int:
    """The cost of one ``perf_counter_ns`` pair, subtracted from each timed sample."""
    clock = time.perf_counter_ns
    best = 1 << 62
    for _ in range(2000):
        t0 = clock()
        t1 = clock()
        best = min(best, t1 - t0)
    return best


def replay_split(
    split: Split,
    engines: Engines,
    *,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PartialReport:
    """Replay one split. Memory is bounded by the batch size, not by the split's length."""
    report = PartialReport()
    overhead = clock_overhead()
    stream = read_jsonl_range(
        split.path, split.source, split.start, split.end, split.first_line, engines.catalog
    )
    batch: list[TraceEvent] = []
    for item in stream:
        report.events += 1
        if isinstance(item, Malformed):
            if strict:
                raise StrictModeError(split.path, item.line, item.reason)
            report.malformed += 1
            if len(report.malformed_examples) < EXAMPLES:
                report.malformed_examples.append((item.source, item.line, item.reason))
            continue
        batch.append(item)
        if len(batch) >= BATCH:
            _decide_batch(batch, engines, report, overhead)
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        _decide_batch(batch, engines, report, overhead)
        if progress is not None:
            progress(len(batch))
    return report


def _decide_batch(
    batch: list[TraceEvent], engines: Engines, report: PartialReport, overhead: int
) -> None:
    clock = time.perf_counter_ns
    trie_decide = engines.policy.trie.decider()
    ram_decide = engines.ram.decide

    t0 = clock()
    trie_out = [trie_decide(ev.action, ev.context) for ev in batch]
    t1 = clock()
    ram_out = [ram_decide(ev.action, ev.context) for ev in batch]
    t2 = clock()
    trie_stats, ram_stats = report.engines["trie"], report.engines["ram"]
    trie_stats.batch_ns += t1 - t0
    ram_stats.batch_ns += t2 - t1
    trie_stats.decisions += len(batch)
    ram_stats.decisions += len(batch)

    # Latency samples: every SAMPLE_EVERY-th event, each engine timed alone.
    trie_hist, ram_hist = trie_stats.histogram, ram_stats.histogram
    for ev in batch[::SAMPLE_EVERY]:
        a = clock()
        trie_decide(ev.action, ev.context)
        b = clock()
        ram_decide(ev.action, ev.context)
        c = clock()
        trie_hist[bucket_of(b - a - overhead)] += 1
        ram_hist[bucket_of(c - b - overhead)] += 1

    recorded = report.recorded
    by_rule = report.by_rule
    by_key = report.by_access_key
    for ev, decision, ram in zip(batch, trie_out, ram_out, strict=True):
        report.decided += 1
        denied = decision.decision == "deny"
        if denied:
            report.denied += 1
            for index in decision.rule_indexes:
                by_rule[index] = by_rule.get(index, 0) + 1
        else:
            report.allowed += 1
        if ev.service is None:
            report.unmapped += 1
        if decision.decision != ram:
            report.mismatches += 1
            if len(report.mismatch_examples) < EXAMPLES:
                report.mismatch_examples.append(
                    (ev.source, ev.line, ev.event_id, ev.action, decision.decision, ram)
                )
        slot = (ev.recorded, decision.decision)
        recorded[slot] = recorded.get(slot, 0) + 1
        if ev.access_key is not None:
            counts = by_key.get(ev.access_key)
            if counts is None:
                counts = by_key[ev.access_key] = [0, 0]
            counts[0] += 1
            counts[1] += denied


def simulate(
    sources: Sequence[str],
    engines: Engines,
    *,
    strict: bool = False,
    split_bytes: int = SPLIT_BYTES,
    progress: Callable[[int], None] | None = None,
) -> PartialReport:
    """Plan, replay every split in order, fold the partial reports."""
    total = PartialReport()
    for split in plan(sources, split_bytes):
        total = total.merge(replay_split(split, engines, strict=strict, progress=progress))
    return total


def report_dict(report: PartialReport, sources: Sequence[str], engines: Engines) -> dict:
    """The ``--report`` JSON: DESIGN.md's contract fields and a few more."""
    ordered = sorted(sources)

    def where(source: int) -> str:
        return ordered[source] if 0 <= source < len(ordered) else "?"

    rules = {r.index: r for r in engines.policy.rules}
    outcomes = ("deny", "allow", "error")
    confusion = {
        rec: {pred: report.recorded.get((rec, pred), 0) for pred in ("deny", "allow")}
        for rec in outcomes
    }
    matched_deny = confusion["deny"]["deny"]
    return {
        "sources": [os.fspath(Path(s)) for s in ordered],
        "policies": [p.name for p in engines.policy.policies],
        "events": report.events,
        "malformed": {
            "count": report.malformed,
            "first": [
                {"file": where(s), "line": line, "reason": reason}
                for s, line, reason in report.malformed_examples
            ],
        },
        "decided": report.decided,
        "denied": report.denied,
        "allowed": report.allowed,
        "unmapped": report.unmapped,
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
        "engines": {name: report.engines[name].to_dict() for name in ENGINES},
    }
