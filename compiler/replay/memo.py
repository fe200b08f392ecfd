"""Both engines' answers per distinct decision-relevant request, for the replay's hot loop.

A decision depends only on the action, the resource ARN(s) and the values of the context keys
that some condition tests. The trie reads its rules' keys; the RAM evaluator reads the keys its
Deny statements' conditions name (case-insensitively); a baseline reads its own. Their union
is the *projection* of a request: two requests with the same projection get the same answer
from each engine, because each engine is a pure function of it. So the replay asks each
engine once per distinct projection and reuses the answers for the events that repeat it.

This stays exact, and the engine-mismatch check keeps its meaning: the RAM evaluator really
decides every distinct projection (never only the trie), and an event counts as a mismatch
exactly when its projection's two answers differ — as it would if each event were decided
alone. On the seed (no conditions, no resources) a trace of 10⁶ events has a few hundred
distinct projections: the RAM evaluator's ~2 µs then runs a few hundred times, not 10⁶.

A context holding a key outside the normaliser's spellings (``KNOWN``) whose folded name is
relevant is decided alone, uncached: the projection would not see it. The table is bounded
(two generations of ``LIMIT`` entries), so a trace whose conditions test nearly unique values
(``acs:CurrentTime``) keeps constant memory and only loses the reuse.

When no rule and no statement has a condition (the seed), no engine reads a context at all:
then a batch read as columns gives the deciders the event's action with an empty context
(``Request``), not the event's TraceEvent, whose building cost more than both engines'
first decisions (``Memo.request``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from operator import attrgetter, is_
from types import MappingProxyType
from typing import NamedTuple

from compiler.model.keys import LANGUAGE_KEYS
from compiler.replay.columns import Batch, value_of
from compiler.replay.events import TraceEvent

LIMIT = 1 << 15
"""Entries in the young generation; at most twice this many are kept."""
KNOWN = frozenset(ram for ram, _ in LANGUAGE_KEYS.values())
"""Context keys as the normaliser spells them."""

_ACTION = attrgetter("action")
_CONTEXT = attrgetter("context")


def relevant_keys(rule_sets: Sequence, evaluators: Sequence) -> frozenset[str]:
    """Folded names of every context key a condition tests: in the rules of each ``Policy``
    (the trie reads these) and in the statements of each ``RamEvaluator``'s documents."""
    keys: set[str] = set()
    for policy in rule_sets:
        for rule in policy.rules:
            for conj in rule.conditions:
                keys.update(c.key.lower() for c in conj)
    for ram in evaluators:
        for document in ram.documents:
            for statement in document.statements:
                if statement.condition is not None:
                    keys.update(t.key.lower() for t in statement.condition.tests)
    return frozenset(keys)


def reads_context(rule_sets: Sequence, evaluators: Sequence) -> bool:
    """Whether any engine may read a request's context: a rule of some ``Policy`` with a
    condition (the trie tests contexts at those rules' leaves only) or a statement of some
    ``RamEvaluator``'s documents with one (``RamEvaluator.decide`` folds and reads the
    context only for a statement whose ``condition`` is set)."""
    return any(
        any(conj for conj in rule.conditions) for policy in rule_sets for rule in policy.rules
    ) or any(
        statement.condition is not None
        for ram in evaluators
        for document in ram.documents
        for statement in document.statements
    )


class Request(NamedTuple):
    """What a decider reads of an event (``.action``, ``.context``) when no engine reads a
    context: the action and an empty context."""

    action: str
    context: Mapping[str, object]


NO_CONTEXT: Mapping[str, object] = MappingProxyType({})

_value = value_of


@dataclass
class Memo:
    """``answers(batch, arns)`` → one tuple per event: each decider's answer, in order.

    ``deciders`` take ``(event, arns)`` and are called only for projections not yet seen;
    ``misses`` counts those projections (each decider ran once on each), ``spent[i]`` the
    nanoseconds decider ``i`` took; the caller reads and resets both."""

    deciders: tuple[Callable[[TraceEvent, tuple[str, ...] | None], object], ...]
    keys: frozenset[str]
    misses: int = 0
    context_free: bool = False
    """True only when no decider reads a context (``reads_context`` is False for every rule
    set and evaluator behind them): then ``request`` need not build events."""

    def __post_init__(self) -> None:
        self.spent = [0] * len(self.deciders)
        self._young: dict = {}
        self._old: dict = {}
        self._spellings = tuple(sorted(k for k in KNOWN if k.lower() in self.keys))

    def _keys(self, batch, arns: Sequence | None) -> list:
        if batch.__class__ is Batch:
            if batch.events is None:
                return self._column_keys(batch, arns)
            batch = batch.events
        if not self.keys:
            actions = list(map(_ACTION, batch))
            return actions if arns is None else list(zip(actions, arns, strict=True))
        spell = self._spellings
        out: list = []
        append = out.append
        for i, ev in enumerate(batch):
            ctx = ev.context
            # A key outside KNOWN (another spelling, a tag key) matters only when relevant.
            if not KNOWN.issuperset(ctx) and _odd(ctx, self.keys):
                append(None)  # decided alone, never cached
                continue
            get = ctx.get
            values = tuple([None if (v := get(k)) is None else _value(v) for k in spell])
            append((ev.action, None if arns is None else arns[i], values))
        return out

    def _column_keys(self, batch: Batch, arns: Sequence | None) -> list:
        """``_keys`` of a batch read as columns: the same keys, from the fields the
        normaliser would put in each context (it writes no key outside ``KNOWN``)."""
        actions = batch.action
        if not self.keys:
            return actions if arns is None else list(zip(actions, arns, strict=True))
        values = list(zip(*[batch.context_column(k) for k in self._spellings], strict=True))
        if not self._spellings:
            values = [()] * len(actions)
        where = [None] * len(actions) if arns is None else arns
        return list(zip(actions, where, values, strict=True))

    def answers(self, batch: Sequence[TraceEvent] | Batch, arns: Sequence | None) -> list[tuple]:
        keys = self._keys(batch, arns)
        young, old = self._young, self._old
        out = list(map(young.get, keys))
        # Python only where the young generation missed.
        for i in compress(range(len(out)), map(is_, out, repeat(None))):
            key = keys[i]
            hit = None
            if key is not None:
                # Seen earlier in this batch (after the bulk lookup), or in the old generation.
                hit = young.get(key) or old.get(key)
            if hit is None:
                hit = self._decide(self.request(batch, i), None if arns is None else arns[i])
            if key is not None:
                if len(young) >= LIMIT:
                    self._old, self._young = young, {}
                    old, young = self._old, self._young
                young[key] = hit
            out[i] = hit
        return out

    def request(self, batch: Sequence[TraceEvent] | Batch, i: int) -> TraceEvent | Request:
        """Event ``i`` as the deciders are given it: its TraceEvent; or, when no decider
        reads a context (``context_free``) and the batch was read as columns, its action
        with an empty context — the same answers (every decider reads only the action, the
        ARNs and, in conditions, the context), without building a TraceEvent (~7 µs)."""
        if self.context_free and batch.__class__ is Batch and batch.events is None:
            return Request(batch.action[i], NO_CONTEXT)
        return batch[i]

    def _decide(self, ev: TraceEvent | Request, on: tuple[str, ...] | None) -> tuple:
        clock = time.perf_counter_ns
        spent = self.spent
        out = []
        for n, decide in enumerate(self.deciders):
            t0 = clock()
            out.append(decide(ev, on))
            spent[n] += clock() - t0
        self.misses += 1
        return tuple(out)


def _odd(ctx: dict, relevant: frozenset[str]) -> bool:
    """Whether ``ctx`` has a relevant key the projection does not read."""
    return any(k not in KNOWN and k.lower() in relevant for k in ctx)
