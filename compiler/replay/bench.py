"""Decision speed as ratios: the trie against a bare ``dict.get``, the RAM evaluator and Cedar.

Absolute times differ from machine to machine and from minute to minute on a shared one;
ratios measured in one run do not. ``measure_engines`` times every engine on the same
requests (batch timers for decisions/s, single timed calls for p50/p99, the clock's own cost
subtracted, as the simulator does); ``ratio_rows`` turns the numbers into the rows of one
table, each with its target from DESIGN.md's Performance section; ``render_table`` (in
``compiler.cli.render``) lays that table out for ``ramguard bench`` and ``python -m bench`` alike.

Requests reach every engine already in its own shape (the trie and the RAM evaluator take
RAM-keyed contexts, Cedar its translated request), so the conversion is outside the timers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from compiler.policy import Policy
from compiler.ram import RamEvaluator
from compiler.replay import Malformed, TraceError, read_events
from compiler.replay.reader import _reason, typed_decoder
from compiler.replay.simulate import EngineStats, bucket_of, clock_overhead

DEFAULT_LIMIT = 100_000
SAMPLES = 2_000
_CEDAR_CHUNK = 1_000
_READ_CHUNK = 256 * 1024

# (target, higher is better): what DESIGN.md asks of each ratio.
TARGETS: dict[str, tuple[float, bool]] = {
    "trie_vs_floor": (3.0, False),
    "ram_vs_trie": (50.0, True),
    "cedar_vs_trie": (100.0, True),
    "replay_vs_decode": (0.5, True),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a ratio (or a time), its target and whether it was met."""

    name: str
    measured: float | None
    target: float | None
    higher_is_better: bool = True
    unit: str = "x"
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.measured is None or self.target is None:
            return None
        if self.higher_is_better:
            return self.measured >= self.target
        return self.measured <= self.target

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "measured": None if self.measured is None else round(self.measured, 4),
            "target": self.target,
            "higher_is_better": self.higher_is_better,
            "unit": self.unit,
            "met": self.met,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class EngineResult:
    name: str
    decisions: int
    seconds: float
    p50_ns: float | None
    p99_ns: float | None
    note: str = ""

    @property
    def per_decision_ns(self) -> float | None:
        return self.seconds * 1e9 / self.decisions if self.decisions and self.seconds else None

    @property
    def decisions_per_second(self) -> float | None:
        return self.decisions / self.seconds if self.seconds else None

    def to_dict(self) -> dict:
        rate = self.decisions_per_second
        return {
            "decisions": self.decisions,
            "seconds": round(self.seconds, 6),
            "decisions_per_second": None if rate is None else round(rate),
            "p50_ns": self.p50_ns,
            "p99_ns": self.p99_ns,
            "note": self.note,
        }


def _measure(
    name: str,
    batch: Callable[[], object],
    single: Callable[[int], object],
    n: int,
    repeat: int,
    samples: int,
) -> EngineResult:
    """Best of ``repeat`` batch runs (the least disturbed by other processes), and single
    calls on every ``n // samples``-th request for the percentiles."""
    clock = time.perf_counter_ns
    batch()  # warm: memo filled, caches primed; every engine gets the same chance
    best = 1 << 62
    for _ in range(repeat):
        t0 = clock()
        batch()
        best = min(best, clock() - t0)
    overhead = clock_overhead()
    stats = EngineStats()
    step = max(1, n // max(samples, 1))
    for i in range(0, n, step):
        a = clock()
        single(i)
        b = clock()
        stats.histogram[bucket_of(b - a - overhead)] += 1
    return EngineResult(name, n, best / 1e9, stats.percentile(0.5), stats.percentile(0.99))


def measure_engines(
    policy: Policy,
    requests: Sequence[tuple[str, dict]],
    *,
    repeat: int = 3,
    samples: int = SAMPLES,
    cedar: bool = True,
) -> dict[str, EngineResult]:
    """Time the floor (``dict.get`` on the action strings), the trie, the RAM evaluator on the
    emitted JSON and — when ``cedarpy`` is importable and the rules translate — Cedar."""
    n = len(requests)
    actions = [a for a, _ in requests]
    table = {a: a for a in actions}
    get = table.get
    decide = policy.trie.decider()
    ram = RamEvaluator([(d.filename, d.as_dict()) for d in policy.documents]).decide

    def floor() -> None:
        for a in actions:
            get(a)

    def trie() -> None:
        for a, c in requests:
            decide(a, c)

    def ram_batch() -> None:
        for a, c in requests:
            ram(a, c)

    out = {
        "floor": _measure("floor", floor, lambda i: get(actions[i]), n, repeat, samples),
        "trie": _measure("trie", trie, lambda i: decide(*requests[i]), n, repeat, samples),
        "ram": _measure("ram", ram_batch, lambda i: ram(*requests[i]), n, 1, samples),
    }
    if cedar:
        out["cedar"] = _measure_cedar(policy, requests, samples)
    return out


def _measure_cedar(policy: Policy, requests: Sequence[tuple[str, dict]], samples: int):
    from compiler.language.diagnostics import CompileError

    try:
        import cedarpy
    except ImportError:
        return EngineResult("cedar", 0, 0.0, None, None, "cedarpy is not installed")
    from compiler.emit.cedar import cedar_policies, cedar_request

    try:
        texts = cedar_policies(policy.policies, policy.sources)
    except CompileError as exc:
        return EngineResult("cedar", 0, 0.0, None, None, exc.diagnostics[0].message)
    policies = cedarpy.PolicySet.from_str("\n".join(t.text for t in texts))
    entities = cedarpy.Entities.from_json_str("[]")
    cedar_reqs = [cedar_request(a, c) for a, c in requests]
    chunks = [cedar_reqs[i : i + _CEDAR_CHUNK] for i in range(0, len(cedar_reqs), _CEDAR_CHUNK)]
    authorize = cedarpy.is_authorized
    authorize_batch = cedarpy.is_authorized_batch

    def batch() -> None:
        for chunk in chunks:
            authorize_batch(chunk, policies, entities)

    # Cedar costs ~1000x a trie decision: one timed pass and fewer samples keep it bounded.
    return _measure(
        "cedar",
        batch,
        lambda i: authorize(cedar_reqs[i], policies, entities),
        len(cedar_reqs),
        1,
        min(samples, 500),
    )


def _line_batches(path: str | Path) -> Iterator[list[bytes]]:
    """A JSON-lines file's lines, a read chunk's worth at a time (one yield per chunk, so the
    floors' per-line loops below stay bare); a last line with no newline comes alone, and
    only when it holds more than whitespace."""
    rest = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_READ_CHUNK):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield lines
    if rest.strip():
        yield [rest]


def decode_file(path: str | Path) -> int:
    """The floor for a replay: read a JSON-lines file in chunks and decode every line into
    Python objects, nothing more. Returns the line count."""
    decode = msgspec.json.Decoder().decode
    count = 0
    try:
        for lines in _line_batches(path):
            for line in lines:
                if line.strip():
                    decode(line)
                    count += 1
    except msgspec.DecodeError:
        raise _first_malformed(path, decode, skip_blank=True) from None
    return count


def typed_decode_file(path: str | Path) -> int:
    """The floor for ``simulate`` end to end (issue 15): read a JSON-lines file in chunks and
    decode every line with the reader's own typed decoder (only the fields the normaliser
    reads), nothing more. Returns the line count."""
    decode = typed_decoder().decode
    count = 0
    try:
        for lines in _line_batches(path):
            for line in lines:
                if line:
                    decode(line)
                    count += 1
    except msgspec.DecodeError:
        raise _first_malformed(path, decode, skip_blank=False) from None
    return count


def _first_malformed(path: str | Path, decode, skip_blank: bool) -> TraceError:
    """The first line ``decode`` refuses, as ``PATH:LINE:1: error: malformed event: …`` with
    the reader's reason: the floors above stop at it (a traceback, before). Found by a second,
    slow pass, so that the timed loops stay bare."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.rstrip(b"\n")
            if not (line.strip() if skip_blank else line):
                continue
            try:
                decode(line)
            except msgspec.DecodeError as exc:
                return TraceError(path, f"malformed event: {_reason(exc)}", number)
    return TraceError(path, "malformed event")


def replay_file(policy: Policy, path: str | Path, catalog) -> int:
    """A replay of one file through the trie: read, normalise, decide. Returns the denies."""
    decide = policy.trie.decider()
    denied = 0
    for ev in read_events(path, 0, catalog):
        if not isinstance(ev, Malformed) and ev.action is not None:
            denied += decide(ev.action, ev.context).decision == "deny"
    return denied


def replay_row(policy: Policy, path: str | Path, catalog, repeat: int = 3) -> Row:
    """Replay speed over decode speed on one JSON-lines file (1 = as fast as decoding)."""
    decode = min(_timed(lambda: decode_file(path)) for _ in range(repeat))
    replay = min(_timed(lambda: replay_file(policy, path, catalog)) for _ in range(repeat))
    return Row(
        "replay vs decode (speed)",
        ratio(decode, replay),
        *TARGETS["replay_vs_decode"],
        note="decoding time / replay time on the same JSON lines",
    )


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ratio(slow: float | None, fast: float | None) -> float | None:
    if slow is None or fast is None or fast <= 0:
        return None
    return slow / fast


def ratio_rows(results: dict[str, EngineResult], label: str = "") -> list[Row]:
    """The decision ratios, per decision: trie/floor, RAM/trie, Cedar/trie."""
    suffix = f" ({label})" if label else ""
    trie = results["trie"].per_decision_ns
    rows = [
        Row(
            f"trie vs bare dict.get{suffix}",
            ratio(trie, results["floor"].per_decision_ns),
            *TARGETS["trie_vs_floor"],
            note="warm decision cost / dict.get cost",
        ),
        Row(
            f"RAM evaluator vs trie{suffix}",
            ratio(results["ram"].per_decision_ns, trie),
            *TARGETS["ram_vs_trie"],
            note="how many times faster the trie is",
        ),
    ]
    if "cedar" in results:
        cedar = results["cedar"]
        rows.append(
            Row(
                f"Cedar vs trie{suffix}",
                ratio(cedar.per_decision_ns, trie),
                *TARGETS["cedar_vs_trie"],
                note=cedar.note or "how many times faster the trie is",
            )
        )
    return rows


def load_requests(
    traces: Iterable[str | Path], catalog, limit: int = DEFAULT_LIMIT
) -> tuple[list[tuple[str, dict]], int, tuple[str, int, int, str] | None]:
    """(action, RAM context) of the first ``limit`` decidable events, how many events were
    skipped (malformed, or of a service the catalog does not know), and the first malformed
    one as (path, line, column, reason) — None when none was — for the error when nothing is
    left."""
    out: list[tuple[str, dict]] = []
    skipped = 0
    first: tuple[str, int, int, str] | None = None
    for source, path in enumerate(sorted(str(t) for t in traces)):
        for ev in read_events(path, source, catalog):
            if isinstance(ev, Malformed) or ev.action is None:
                skipped += 1
                if first is None and isinstance(ev, Malformed):
                    first = (path, ev.line, ev.col, ev.reason)
                continue
            out.append((ev.action, ev.context))
            if len(out) >= limit:
                return out, skipped, first
    return out, skipped, first
