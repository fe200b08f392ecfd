"""Who the rules would block, what a change of rules would change, and what a trace covers.

The replay's second set of tallies (issue 13), folded like the rest of ``PartialReport``:

- **who**: every decided event counted by caller (``Who``: type, account, name, principal
  ARN), AccessKey, source IP, region and action, each with its first example and its first
  denied example by input position; the per-rule first examples (counts are ``by_rule``).
- **plan**: with a ``Baseline``, every event whose decision differs under the baseline,
  grouped by (newly / no longer denied, caller, action, region, the rule(s) that now deny it
  or used to), with the first examples.
- **recorded**: per reason a call was recorded as denied (error code, leaked AccessKey,
  ``AccessDeniedDetail``), how many the rules predict; which rule explains each; the first
  recorded denies no rule explains.

Merging is exact and order-free: counts add, a "first" example is the least by (source,
line) — unique per event — and example lists are the first N by position; so the report is
the same bytes for any number of workers. Tables hold one row per distinct value (caller,
key, address, region, action), not per event: memory grows with the trace's variety, not
with its length. The report's sections are drawn from these by ``impact_report``.

Over 400 lines: every attribution table with its associative merge next to it; a table and its
merge must change together.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import add, attrgetter, eq, itemgetter, mul, ne, neg
from typing import Any

from compiler.policy import Policy
from compiler.ram import RamEvaluator
from compiler.replay.columns import Batch
from compiler.replay.events import TraceEvent
from compiler.replay.sketch import DistinctCount

EXAMPLES = 20
TOP = 20
"""Rows per table in the JSON report unless asked otherwise (``--top``)."""
SOURCE_IPS = 256
"""Source addresses counted exactly per split before the table is bounded (``BoundedTable``):
a trace's clients repeat, a random address per call must not make memory grow with it."""
DIMENSIONS = (
    "principal",
    "type",
    "account",
    "name",
    "access_key",
    "source_ip",
    "region",
    "service",
    "operation",
    "rule",
)
_TIME = "acs:CurrentTime"

# A rule as reports name it: (kind, file, number, text); kind "rule" (number: its line) or
# "statement" (a RAM document's 1-based statement).
RuleRef = tuple[str, str, int, str]


def example(ev: TraceEvent) -> tuple:
    """(source, line, event id, time, principal key, action), all comparable: ordered by
    input position, then by the rest — a compact JSON array holds many events on one line,
    and the least must not depend on which split was merged first. Absent is ``""``."""
    who = ev.who
    time = ev.context.get(_TIME)
    return (
        ev.source,
        ev.line,
        ev.event_id,
        time if isinstance(time, str) else "",
        "" if who is None else who.key,
        ev.action,
    )


def example_at(batch: Batch | Sequence[TraceEvent], i: int) -> tuple:
    """``example`` of event ``i`` of a batch, read from its columns: building the event's
    TraceEvent (its context dict, ARN inputs) to read six fields cost more than the rest of
    a first sighting. A list of TraceEvents is read as ``example`` reads one."""
    if batch.__class__ is not Batch:
        return example(batch[i])
    source, line, event_id = batch.origin(i)
    who = batch.who[i]
    time = batch.time[i]
    return (
        source,
        line,
        event_id,
        time if time.__class__ is str else "",
        "" if who is None else who.key,
        batch.action[i],
    )


def least(a: tuple | None, b: tuple | None) -> tuple | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a <= b else b


def _add(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def _first(a: list[tuple], b: list[tuple], key=None) -> list[tuple]:
    return sorted([*a, *b], key=key)[:EXAMPLES]


def _plan_position(e: tuple) -> tuple:
    """A plan example's order: position, then its comparable fields (see ``example``)."""
    source, line, sign, event_id, time, caller, action, region, _rules = e
    who = "" if caller is None else caller.key
    return (source, line, event_id, time, action, sign, region or "", who)


class Table:
    """Calls and denied calls per value of one attribute, with the first call and the first
    denied call of each. Counted a batch at a time in C (``Counter.update`` over ``map``,
    first positions by ``dict(zip(reversed…))``): a Python loop per event per table would
    cost more than both engines' decisions."""

    __slots__ = ("denied", "events", "first", "first_denied", "keep_first")

    def __init__(self, keep_first: bool = True) -> None:
        self.events: Counter = Counter()
        self.denied: Counter = Counter()
        self.first: dict = {}
        self.first_denied: dict = {}
        # False: only the first *denied* call of each value is kept. For keys whose variety
        # grows with the trace (source addresses: a random one on a sixth of generated calls)
        # an example per value would make memory grow with the trace.
        self.keep_first = keep_first

    def add(
        self, keys: list, denied_keys: list, batch: Batch | Sequence[TraceEvent], denied_at
    ) -> list[int]:
        """Count a batch; returns the batch indexes of the first events of values not seen
        before (when first examples are kept)."""
        events = self.events
        before = len(events)
        events.update(keys)
        new = []
        if self.keep_first and len(events) > before:
            new = _firsts(self.first, _taken_in(events, before), keys, batch, None)
        if denied_keys:
            denied = self.denied
            before = len(denied)
            denied.update(denied_keys)
            if len(denied) > before:
                fresh = _taken_in(denied, before)
                _firsts(self.first_denied, fresh, denied_keys, batch, denied_at)
        return new

    def merge(self, other: Table) -> Table:
        out = Table(self.keep_first)
        out.events = self.events + other.events
        out.denied = self.denied + other.denied
        out.first = _least_of(self.first, other.first)
        out.first_denied = _least_of(self.first_denied, other.first_denied)
        return out

    def rows(self) -> dict:
        """key → [events, denied, first, first denied], as the report reads them."""
        denied, fd = self.denied, self.first_denied
        first = self.first
        return {k: [n, denied.get(k, 0), first.get(k), fd.get(k)] for k, n in self.events.items()}

    def __reduce__(self):
        state = (dict(self.events), dict(self.denied), self.first, self.first_denied)
        return (_table, (*state, self.keep_first))


class BoundedTable(Table):
    """A ``Table`` that keeps at most ``2 * limit`` values: for keys whose variety grows with
    the trace (source addresses). Past that, the values with the fewest denied calls, then
    calls (ties by key), are dropped down to ``limit``; a value's counts are then lower
    bounds: exact since it was (last) taken in, and ``slack`` says how many calls (and
    denied calls) it may have had before — at most the largest counts dropped (``floor``).

    Deterministic: a split is counted in file order, and the merge of two tables (counts
    and slack added; a value one side lacks gets that side's ``floor`` as slack) is
    associative and commutative — so the same bytes for any number of workers. ``total``
    and ``total_denied`` (every call counted, None — no value — included) stay exact. A
    table that never dropped a value (``floor == (0, 0)``) is exact, as a ``Table`` is.
    """

    __slots__ = ("floor", "limit", "seen", "slack", "total", "total_denied")

    def __init__(self, limit: int = 256) -> None:
        super().__init__(keep_first=False)
        self.limit = limit
        self.slack: dict = {}
        """value → (calls, denied calls) it may have had beyond its counts."""
        self.floor = (0, 0)
        self.total = 0
        self.total_denied = 0
        self.seen = DistinctCount()
        """How many distinct values were counted, kept or not (exact, or a stated estimate)."""

    @property
    def approximate(self) -> bool:
        return self.floor != (0, 0)

    def add(self, keys, denied_keys, batch, denied_at) -> list[int]:
        events = self.events
        before = len(events)
        self.total += len(keys)
        events.update(keys)
        if len(events) > before:
            new = _taken_in(events, before)
            # A value kept is already counted; one dropped and back is counted again (a set).
            self.seen.update(new)
            if self.floor != (0, 0):
                self.slack.update(zip(new, repeat(self.floor)))
        fresh = ()
        if denied_keys:
            self.total_denied += len(denied_keys)
            denied = self.denied
            before = len(denied)
            denied.update(denied_keys)
            if len(denied) > before:
                fresh = _taken_in(denied, before)
        if len(events) > 2 * self.limit:
            self._prune()
        if fresh:
            # First examples only of the values the prune kept: most new addresses are
            # dropped in the batch that brought them, and their examples with them.
            kept = list(filter(self.denied.__contains__, fresh))
            _firsts(self.first_denied, kept, denied_keys, batch, denied_at)
        return []

    def _prune(self) -> None:
        events, denied, slack, limit = self.events, self.denied, self.slack, self.limit
        keys = list(events)
        n = len(keys)
        if n <= limit:
            return
        calls = list(events.values())
        denies = list(map(denied.get, keys, repeat(0)))
        if slack:
            more = list(map(slack.get, keys, repeat((0, 0))))
            calls = list(map(add, calls, map(itemgetter(0), more)))
            denies = list(map(add, denies, map(itemgetter(1), more)))
        # Kept: the ``limit`` first by most denied calls, then most calls, then repr (unique:
        # addresses or None). One int per value ranks the counts (denied calls, then calls),
        # so the sort compares ints, not tuples; a stable sort leaves ties in table order,
        # and repr is worked out only for the values tied across the cut.
        width = max(calls) + 1
        rank = list(map(neg, map(add, map(mul, denies, repeat(width)), calls)))
        order = sorted(range(n), key=rank.__getitem__)
        cut = rank[order[limit]]
        if limit and rank[order[limit - 1]] == cut:
            ranks = list(map(rank.__getitem__, order))
            lo, hi = bisect_left(ranks, cut), bisect_right(ranks, cut)
            tied = order[lo:hi]
            names = list(map(repr, map(keys.__getitem__, tied)))
            tied = list(map(tied.__getitem__, sorted(range(len(tied)), key=names.__getitem__)))
            gone_at = tied[limit - lo :] + order[hi:]
        else:
            gone_at = order[limit:]
        gone = list(map(keys.__getitem__, gone_at))
        self.floor = (
            max(self.floor[0], *map(calls.__getitem__, gone_at)),
            max(self.floor[1], *map(denies.__getitem__, gone_at)),
        )
        list(map(events.pop, gone))
        for table in (denied, slack, self.first_denied):
            list(map(table.pop, gone, repeat(None)))

    def merge(self, other: Table) -> BoundedTable:
        assert isinstance(other, BoundedTable)
        out = BoundedTable(self.limit)
        out.events = self.events + other.events
        out.denied = self.denied + other.denied
        out.first_denied = _least_of(self.first_denied, other.first_denied)
        mine, theirs = self.floor, other.floor
        zero = (0, 0)
        slack = {}
        for key in out.events:
            a = self.slack.get(key, zero) if key in self.events else mine
            b = other.slack.get(key, zero) if key in other.events else theirs
            if a != zero or b != zero:
                slack[key] = (a[0] + b[0], a[1] + b[1])
        out.slack = slack
        out.floor = (mine[0] + theirs[0], mine[1] + theirs[1])
        out.total = self.total + other.total
        out.total_denied = self.total_denied + other.total_denied
        out.seen = self.seen.merge(other.seen)
        return out

    def summary(self) -> dict:
        """What the report says of the table as a whole (its rows are ``rows()``)."""
        kept = sum(self.events.values())
        kept_denied = sum(self.denied.values())
        out = {
            "calls": self.total,
            "denied": self.total_denied,
            "approximate": self.approximate,
            **self.seen.summary(),
        }
        if self.approximate:
            out |= {
                "kept_values": len(self.events),
                "max_uncounted_calls": self.floor[0],
                "max_uncounted_denied": self.floor[1],
                "other": {"calls": self.total - kept, "denied": self.total_denied - kept_denied},
            }
        return out

    def __reduce__(self):
        state = (dict(self.events), dict(self.denied), self.first_denied, self.slack)
        return (
            _bounded,
            (*state, self.floor, self.total, self.total_denied, self.limit, self.seen),
        )


def _bounded(events, denied, first_denied, slack, floor, total, total_denied, limit, seen):
    t = BoundedTable(limit)
    t.events, t.denied = Counter(events), Counter(denied)
    t.first_denied, t.slack, t.floor = first_denied, slack, floor
    t.total, t.total_denied = total, total_denied
    t.seen = seen
    return t


def _table(
    events: dict, denied: dict, first: dict, first_denied: dict, keep_first: bool = True
) -> Table:
    t = Table(keep_first)
    t.events, t.denied = Counter(events), Counter(denied)
    t.first, t.first_denied = first, first_denied
    return t


def _taken_in(counts: dict, before: int) -> list:
    """The values a dict took in since it held ``before``, in the order they came: a dict
    keeps insertion order (deletions too), so they are its last entries — found without
    walking the batch or the table."""
    new = list(islice(reversed(counts), len(counts) - before))
    new.reverse()
    return new


def _firsts(
    firsts: dict, new: list, keys: list, batch: Batch | Sequence[TraceEvent], at
) -> list[int]:
    """The first example of each value of ``new`` (values of ``keys`` not seen before, in the
    order of their first occurrence; ``at[j]``: the batch index of ``keys[j]``); returns
    their batch indexes.

    Each is found by ``list.index`` (C) from just past the one before: one pass over
    ``keys`` at most, and none in a batch that brings no new value (the common case, once a
    trace's callers, actions and regions have been seen)."""
    at_index = keys.index
    found = []
    j = -1
    for key in new:
        j = at_index(key, j + 1)
        i = j if at is None else at[j]
        firsts[key] = example_at(batch, i)
        found.append(i)
    return found


def _least_of(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, ex in b.items():
        out[k] = least(out.get(k), ex)
    return out


_VERDICT = attrgetter("decision")
_RULE_INDEXES = attrgetter("rule_indexes")
TABLES = ("who", "access_key", "source_ip", "region", "action")


@dataclass
class Impact:
    tables: dict[str, Table] = field(
        default_factory=lambda: {
            n: BoundedTable(SOURCE_IPS) if n == "source_ip" else Table() for n in TABLES
        }
    )
    """Per attribute (``TABLES``): the caller (``Who``), AccessKey, source IP, region and
    action."""
    facts: dict[str, tuple] = field(default_factory=dict)
    """action → (service, operation)."""
    rule_first: dict[int, tuple] = field(default_factory=dict)
    """rule index → its first denied example."""
    rule_actions: dict[tuple[int, str], int] = field(default_factory=dict)
    """(rule index, action) → calls of that action the rule denied: which of a rule's
    patterns denied (coverage), bounded by rules × actions, not by the trace's length."""
    scope_actions: dict[tuple[int, str], int] = field(default_factory=dict)
    """(rule index, action) → calls of that action whose resource matched the rule's
    ``on`` / ``in region`` scope, for resource-scoped rules (``coverage.tally_scopes``):
    coverage tells "resource never matched" from "condition never held" by it."""
    plan: dict[tuple, list] = field(default_factory=dict)
    """(sign, who, action, region, rules) → [calls, first example]; sign ``+`` newly denied,
    ``-`` no longer denied."""
    plan_examples: list[tuple] = field(default_factory=list)
    """(source, line, sign, event id, time, who, action, region, rules)."""
    reasons: dict[str, list[int]] = field(default_factory=dict)
    """why recorded as denied → [recorded denies, of which the rules deny]."""
    explained: dict[int, int] = field(default_factory=dict)
    """rule index → recorded denies it denies too."""
    unexplained: list[tuple] = field(default_factory=list)
    """The first recorded denies no rule denies: example + (why, error code)."""
    baseline_mismatches: int = 0
    """Events the baseline's two engines (its trie, the RAM evaluator on its JSON) decide
    differently: an error, as a mismatch of the new rules' engines is."""
    baseline_mismatch_examples: list[tuple] = field(default_factory=list)
    """(source, line, event id, action, trie, ram), the first by position."""
    chain: Any = None
    """With an org.toml: ``chain_replay.ChainTally`` (where each chain denied, unplaced
    accounts); None without one."""

    def hold_bounded(self) -> dict[str, BoundedTable]:
        """Swap fresh tables in for the bounded ones (returned): a split counted into a
        report that holds others must be bounded on its own and merged, as its own report
        would be — a bounded table of two splits is not the table of their events."""
        held = {n: t for n, t in self.tables.items() if isinstance(t, BoundedTable)}
        for name, table in held.items():
            self.tables[name] = BoundedTable(table.limit)
        return held

    def fold_bounded(self, held: dict[str, BoundedTable]) -> None:
        for name, table in held.items():
            self.tables[name] = table.merge(self.tables[name])

    @property
    def who(self) -> dict:
        return self.tables["who"].rows()

    @property
    def action(self) -> dict:
        """action → [events, denied, first, first denied, service, operation]."""
        facts = self.facts
        return {k: [*row, *facts[k]] for k, row in self.tables["action"].rows().items()}

    def rows(self, name: str) -> dict:
        return self.tables[name].rows()

    def keep_first_examples(
        self,
        unexplained: list[tuple],
        plan_examples: list[tuple],
        baseline_mismatches: list[tuple] = (),
    ) -> None:
        """Fold example lists of splits counted earlier into this one's, as ``merge`` does."""
        self.unexplained = _first(unexplained, self.unexplained)
        self.plan_examples = _first(plan_examples, self.plan_examples, _plan_position)
        self.baseline_mismatch_examples = _first(
            list(baseline_mismatches), self.baseline_mismatch_examples
        )

    def merge(self, other: Impact) -> Impact:
        plan = {k: list(v) for k, v in self.plan.items()}
        for key, (calls, ex) in other.plan.items():
            mine = plan.get(key)
            plan[key] = [calls, ex] if mine is None else [mine[0] + calls, least(mine[1], ex)]
        reasons = {k: list(v) for k, v in self.reasons.items()}
        for why, (n, d) in other.reasons.items():
            mine = reasons.setdefault(why, [0, 0])
            mine[0] += n
            mine[1] += d
        return Impact(
            tables={n: self.tables[n].merge(other.tables[n]) for n in TABLES},
            facts={**other.facts, **self.facts},
            rule_first=_least_of(self.rule_first, other.rule_first),
            rule_actions=_add(self.rule_actions, other.rule_actions),
            scope_actions=_add(self.scope_actions, other.scope_actions),
            plan=plan,
            plan_examples=_first(self.plan_examples, other.plan_examples, _plan_position),
            reasons=reasons,
            explained=_add(self.explained, other.explained),
            unexplained=_first(self.unexplained, other.unexplained),
            baseline_mismatches=self.baseline_mismatches + other.baseline_mismatches,
            baseline_mismatch_examples=_first(
                self.baseline_mismatch_examples, other.baseline_mismatch_examples
            ),
            chain=other.chain if self.chain is None else self.chain.merge(other.chain),
        )


def tally(
    impact: Impact,
    batch: Batch | Sequence[TraceEvent],
    decisions: Sequence,
    baseline: Sequence[str] | None = None,
    new_rules: Callable[[Any], tuple[RuleRef, ...]] | None = None,
    old_rules: Callable[[int], tuple[RuleRef, ...]] | None = None,
    baseline_ram: Sequence[str] | None = None,
    shared: Sequence | None = None,
    *,
    verdicts: list[str] | None = None,
    denied_at: list[int] | None = None,
) -> None:
    """Count one decided batch (``columns.Batch``). ``decisions`` are the trie's;
    ``baseline`` the baseline's ``deny``/``allow`` per event (by its trie), with
    ``new_rules`` naming the rules of a trie decision (given the decision) and
    ``old_rules(i)`` the baseline's rules that deny event ``i`` (asked once per changed
    decision-relevant request); ``baseline_ram`` the baseline's RAM evaluator's answers,
    counted against ``baseline`` as the baseline's engine mismatches; ``shared[i]`` is the
    memo's answer object of event ``i``: events that share one share their projection
    (``replay.memo``). ``verdicts`` (each decision's ``decision``) and ``denied_at`` (the
    indexes of the denied ones), when the caller has them already (``simulate._count``).

    Per event only C loops run (``map``, ``compress``, ``Counter``); Python loops run over
    distinct values, distinct (decision, action) pairs, the examples and values not seen
    before; ``batch[i]`` (a TraceEvent built on demand) only for those. A list of
    TraceEvents (the chain replay's) is read through ``Batch.of_events``."""
    if batch.__class__ is not Batch:
        batch = Batch.of_events(list(batch))
    n = len(batch)
    if verdicts is None or denied_at is None:
        verdicts = list(map(_VERDICT, decisions))
        denied_at = list(compress(range(n), map(eq, verdicts, repeat("deny"))))
    for name in TABLES:
        keys = getattr(batch, name)
        picked = list(map(keys.__getitem__, denied_at)) if denied_at else []
        new = impact.tables[name].add(keys, picked, batch, denied_at)
        if name == "action":
            for i in new:
                impact.facts[keys[i]] = (batch.service[i], batch.event_name[i])
    if denied_at:
        _tally_rules(impact, batch, decisions, denied_at)
    recorded_at = list(compress(range(n), map(eq, batch.recorded, repeat("deny"))))
    if recorded_at:
        _tally_recorded(impact, batch, decisions, verdicts, recorded_at)
    if baseline is None:
        return
    if baseline_ram is not None:
        odd = list(compress(range(n), map(ne, baseline, baseline_ram)))
        impact.baseline_mismatches += len(odd)
        room = EXAMPLES - len(impact.baseline_mismatch_examples)
        for i in odd[: max(room, 0)]:
            ev = batch[i]
            impact.baseline_mismatch_examples.append(
                (ev.source, ev.line, ev.event_id, ev.action, baseline[i], baseline_ram[i])
            )
    changed = list(compress(range(n), map(ne, verdicts, baseline)))
    if changed:
        _tally_plan(impact, batch, decisions, changed, new_rules, old_rules, shared)


def _tally_rules(impact: Impact, batch: Batch, decisions: Sequence, denied_at: list) -> None:
    """Per rule its first denied example; per (rule, action) the calls it denied."""
    indexes = list(map(_RULE_INDEXES, map(decisions.__getitem__, denied_at)))
    pairs = impact.rule_actions
    actions = batch.action
    for (rule_indexes, action), k in Counter(
        zip(indexes, map(actions.__getitem__, denied_at), strict=True)
    ).items():
        for index in rule_indexes:
            pair = (index, action)
            pairs[pair] = pairs.get(pair, 0) + k
    firsts = impact.rule_first
    missing = {i for ri in set(indexes) for i in ri if i not in firsts}
    if not missing:
        return
    for i, rule_indexes in zip(denied_at, indexes, strict=True):
        for index in rule_indexes:
            if index in missing:
                firsts[index] = example_at(batch, i)
                missing.discard(index)
        if not missing:
            return


def _tally_recorded(impact, batch: Batch, decisions, verdicts: list, recorded_at: list) -> None:
    """Recorded denies per reason, those the rules deny too (per rule), the first not."""
    reasons, explained = impact.reasons, impact.explained
    whys = [why or "?" for why in map(batch.why.__getitem__, recorded_at)]
    predicted = list(map(verdicts.__getitem__, recorded_at))
    for (why, verdict), k in Counter(zip(whys, predicted, strict=True)).items():
        counts = reasons.get(why)
        if counts is None:
            counts = reasons[why] = [0, 0]
        counts[0] += k
        if verdict == "deny":
            counts[1] += k
    both = [i for i, v in zip(recorded_at, predicted, strict=True) if v == "deny"]
    for rule_indexes, k in Counter(map(_RULE_INDEXES, map(decisions.__getitem__, both))).items():
        for index in rule_indexes:
            explained[index] = explained.get(index, 0) + k
    room = EXAMPLES - len(impact.unexplained)
    if room <= 0 or len(both) == len(recorded_at):
        return
    for i, why, verdict in zip(recorded_at, whys, predicted, strict=True):
        if verdict != "deny":
            impact.unexplained.append((*example_at(batch, i), why, batch.error_code[i]))
            room -= 1
            if not room:
                return


def _tally_plan(impact, batch: Batch, decisions, changed: list, new_rules, old_rules, shared):
    """The plan's lines: changed calls grouped by (sign, caller, action, region, rules).

    A line's sign, action and rules are functions of the event's decision-relevant request,
    so they are worked out once per memo answer (``shared``), not per call; lines are met in
    the order of their first call, so each keeps its first example by position."""
    whos, regions = batch.who, batch.region
    # The memo's answer is per (action, resource, relevant context): calls sharing one share
    # the line's sign, action and rules. Without it nothing says two calls do (a decision
    # object, such as the chain's one outcome for "every level allows", is shared by calls
    # of every action and context), so each call is its own token.
    tokens = changed if shared is None else list(map(id, map(shared.__getitem__, changed)))
    token_of = dict(zip(changed, tokens, strict=True))
    keys = list(
        zip(
            tokens,
            map(whos.__getitem__, changed),
            map(regions.__getitem__, changed),
            strict=True,
        )
    )
    groups = Counter(keys)
    # Each group's first changed call: later pairs overwrite, and this runs backwards.
    first = dict(zip(reversed(keys), reversed(changed), strict=True))
    lines: dict = {}  # token → (sign, action, rules)

    def line_of(i: int) -> tuple:
        answer = token_of[i]
        hit = lines.get(answer)
        if hit is None:
            if decisions[i].decision == "deny":
                rules = new_rules(decisions[i]) if new_rules else ()
                hit = ("+", batch.action[i], rules)
            else:
                hit = ("-", batch.action[i], old_rules(i) if old_rules else ())
            lines[answer] = hit
        return hit

    plan = impact.plan
    for group, k in groups.items():
        i = first[group]
        sign, action, rules = line_of(i)
        key = (sign, group[1], action, group[2], rules)
        line = plan.get(key)
        if line is None:
            plan[key] = [k, example_at(batch, i)]
        else:
            line[0] += k
    room = EXAMPLES - len(impact.plan_examples)
    for i in changed[: max(room, 0)]:
        ev = batch[i]
        sign, action, rules = line_of(i)
        impact.plan_examples.append(
            (
                ev.source,
                ev.line,
                sign,
                ev.event_id,
                ev.context.get(_TIME) or "",
                ev.who,
                ev.action,
                ev.region,
                rules,
            )
        )


def decide_on_each(decide: Callable, ev: TraceEvent, arns: tuple[str, ...] | None):
    """The trie's Decision on every ARN of the request: RAM checks each resource, so the
    first that is denied decides; None (cannot be built) decides on ``*`` rules alone."""
    if arns is None or len(arns) == 1:
        return decide(ev.action, ev.context, arns[0] if arns else None)
    first = None
    for arn in arns:
        decision = decide(ev.action, ev.context, arn)
        if decision.decision == "deny":
            return decision
        if first is None:
            first = decision
    return first


@dataclass
class Baseline:
    """What a plan compares the rules with: other rules or RAM policy documents.

    Rules are decided by both engines, as the new rules are: their trie (the plan's answer)
    and the RAM evaluator on the documents they emit (``check``), the two counted against each
    other as the baseline's engine mismatches. Documents (``--baseline-policy``) are decided
    by the RAM evaluator alone: they are the policy in place, and no rules exist to build a
    trie from that would decide every action (the importer is exact on catalog actions only,
    a trace holds others)."""

    names: tuple[str, ...]
    policy: Policy | None = None
    documents: tuple[tuple[str, dict], ...] | None = None
    ram: RamEvaluator | None = field(init=False, default=None)
    check: RamEvaluator | None = field(init=False, default=None)
    """The RAM evaluator on the baseline rules' emitted documents (rules only)."""
    scoped: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if self.documents is not None:
            self.ram = RamEvaluator(self.documents)
            self.scoped = any(
                "*" not in s.resources for d in self.ram.documents for s in d.statements
            )
        elif self.policy is not None:
            self.scoped = any(not r.any_resource for r in self.policy.rules)
            self.check = RamEvaluator([(d.filename, d.as_dict()) for d in self.policy.documents])

    @property
    def engines(self) -> tuple[str, ...]:
        return ("ram",) if self.ram is not None else ("trie", "ram")

    def check_decider(self) -> Callable[[TraceEvent, tuple[str, ...] | None], str] | None:
        """The second engine's ``deny`` / ``allow`` (None for documents: there is none)."""
        if self.check is None:
            return None
        ram = self.check.decide

        def by_json(ev: TraceEvent, on: tuple[str, ...] | None) -> str:
            return ram(ev.action, ev.context, on)

        return by_json

    def __reduce__(self):
        return (Baseline, (self.names, self.policy, self.documents))

    @property
    def engine(self) -> str:
        return "ram" if self.ram is not None else "trie"

    def decide(self, batch: Sequence[TraceEvent], arns: Sequence | None) -> list[str]:
        decide = self.decider()
        if arns is None:
            return [decide(ev, None) for ev in batch]
        return [decide(ev, on) for ev, on in zip(batch, arns, strict=True)]

    def decider(self) -> Callable[[TraceEvent, tuple[str, ...] | None], str]:
        """``deny`` / ``allow`` for one event and its ARNs (None: none or unknown)."""
        if self.ram is not None:
            ram = self.ram.decide

            def by_ram(ev: TraceEvent, on: tuple[str, ...] | None) -> str:
                return ram(ev.action, ev.context, on)

            return by_ram
        trie = self.policy.trie.decider()

        def by_trie(ev: TraceEvent, on: tuple[str, ...] | None) -> str:
            return decide_on_each(trie, ev, on).decision

        return by_trie

    def rules_denying(self, ev: TraceEvent, arns: tuple[str, ...] | None) -> tuple[RuleRef, ...]:
        """The baseline's rules (or statements) that deny ``ev``."""
        if self.ram is not None:
            found = self.ram.evaluate(ev.action, ev.context, arns)
            return tuple(
                ("statement", ref.document, ref.statement, "")
                for ref in found.matched
                if ref.effect == "Deny"
            )
        decision = decide_on_each(self.policy.trie.decider(), ev, arns)
        return rule_refs(self.policy, decision.rule_indexes)


def rule_refs(policy: Policy, indexes: Iterable[int]) -> tuple[RuleRef, ...]:
    by_index = rules_by_index(policy)
    return tuple(("rule", by_index[i].file, by_index[i].line, by_index[i].text) for i in indexes)


_RULES: dict[int, tuple[Policy, dict]] = {}


def rules_by_index(policy: Policy) -> dict:
    hit = _RULES.get(id(policy))
    if hit is None or hit[0] is not policy:
        if len(_RULES) > 8:
            _RULES.clear()
        hit = _RULES[id(policy)] = (policy, {r.index: r for r in policy.rules})
    return hit[1]
