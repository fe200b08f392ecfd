"""Semantic difference of two deny policies: which requests change decision.

Either side is compiled rules (decided by the trie) or RAM policy JSON (decided by
``compiler.ram``). Both are asked about every catalog action — plus any literal action a JSON
side names outside the catalog — under a finite set of request contexts built from the boundary
values found in the conditions of BOTH sides: per condition key the absent case and, per kind,
one value in each region the listed values cut out (an address inside each CIDR and one outside
all; each time threshold, just before and just after; true and false; each string and another).
Keys are combined in a product; past ``MAX_CONTEXTS`` combinations a seeded sample is taken
(after the all-absent context and every one-key variation) and the result says so.

Speed: a decision depends on the action only through which rules (or statements) match it, so
actions are grouped by that pair of signatures and each group is decided once per context —
the hundreds of actions no rule mentions form a single group.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import random
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from compiler.catalog import Catalog, default_catalog
from compiler.model.conditions import parse_time
from compiler.model.glob import has_glob
from compiler.model.keys import ram_key
from compiler.policy import Policy, compile_rules
from compiler.ram import RamEvaluator
from compiler.ram.glob import GlobPattern

MAX_CONTEXTS = 4096
_SAMPLE_SEED = 20240601
_OTHER = "ramguard-other"
_OUTSIDE_IPS = ("203.0.113.7", "198.51.100.7", "192.0.2.7", "8.8.8.8", "2001:db8::7")

CLASSES = ("newly_denied", "no_longer_denied", "conditions_changed")

Context = dict[str, str]


# --- the two kinds of side -------------------------------------------------------------------


class Decider:
    """One side of a diff: decides requests and tells which conditions it tests."""

    label: str

    def signature(self, action: str) -> Hashable:
        """Equal for two actions that every context decides alike."""
        raise NotImplementedError

    def denies(self, action: str, context: Context) -> bool:
        raise NotImplementedError

    def conditions(self) -> Iterator[tuple[str, str, tuple[object, ...]]]:
        """(operator, key, values) for every condition the side tests."""
        raise NotImplementedError

    def literal_actions(self) -> set[str]:
        return set()


class PolicyDecider(Decider):
    def __init__(self, policy: Policy, label: str = "rules"):
        self.policy = policy
        self.label = label
        self._trie = policy.trie

    def signature(self, action: str) -> Hashable:
        return tuple(self._trie.match_indexes(action))

    def denies(self, action: str, context: Context) -> bool:
        return self._trie.denies(action, context)

    def conditions(self) -> Iterator[tuple[str, str, tuple[object, ...]]]:
        for rule in self.policy.rules:
            for conj in rule.conditions:
                for cond in conj:
                    yield cond.operator, cond.key, cond.values


class RamDecider(Decider):
    def __init__(self, evaluator: RamEvaluator, label: str = "json"):
        self.evaluator = evaluator
        self.label = label
        # Only Deny statements can change `decide`; match actions with RAM's own glob.
        self._statements = [
            (s, tuple(GlobPattern(a.lower()) for a in s.actions))
            for d in evaluator.documents
            for s in d.statements
            if s.effect == "Deny"
        ]

    def signature(self, action: str) -> Hashable:
        low = action.lower()
        return tuple(
            i
            for i, (s, globs) in enumerate(self._statements)
            if any(g.source == "*" or g.matches(low) for g in globs) != s.not_action
        )

    def denies(self, action: str, context: Context) -> bool:
        return self.evaluator.decide(action, context) == "deny"

    def conditions(self) -> Iterator[tuple[str, str, tuple[object, ...]]]:
        for s, _ in self._statements:
            if s.condition is not None:
                for test in s.condition.tests:
                    yield test.operator, test.key, test.values

    def literal_actions(self) -> set[str]:
        return {a for s, _ in self._statements for a in s.actions if ":" in a and not has_glob(a)}


def load_decider(path: str | Path, catalog: Catalog | None = None) -> Decider:
    """A rules file or directory, or RAM policy JSON (a ``.json`` file, or a directory holding
    ``*.json`` and no ``*.rules``). Raises CompileError or PolicyDocumentError."""
    path = Path(path)
    if path.is_dir():
        jsons = sorted(p for p in path.glob("*.json") if p.is_file())
        if jsons and not any(path.rglob("*.rules")):
            return RamDecider(RamEvaluator.from_files(jsons), str(path))
    elif path.suffix.lower() == ".json":
        return RamDecider(RamEvaluator.from_files([path]), str(path))
    return PolicyDecider(compile_rules([path], catalog), str(path))


# --- contexts --------------------------------------------------------------------------------


class _KeyValues:
    """What the conditions on one key test against, by kind."""

    def __init__(self) -> None:
        self.networks: set = set()
        self.times: set[datetime] = set()
        self.numbers: set[Decimal] = set()
        self.strings: set[str] = set()
        self.boolean = False

    def add(self, operator: str, value: object) -> None:
        if operator in ("IpAddress", "NotIpAddress"):
            net = value if not isinstance(value, str) else _parse_network(value)
            if net is not None:
                self.networks.add(net)
        elif operator.startswith("Date"):
            when = value if isinstance(value, datetime) else parse_time(str(value))
            if when is not None:
                self.times.add(when if when.tzinfo else when.replace(tzinfo=UTC))
        elif operator.startswith("Numeric"):
            with contextlib.suppress(InvalidOperation):
                self.numbers.add(Decimal(str(value)))
        elif operator == "Bool":
            self.boolean = True
        elif isinstance(value, GlobPattern):  # StringLike / StringNotLike
            self.strings.add(value.source.replace("*", "").replace("?", "x"))
            self.strings.add(value.source.replace("*", "x").replace("?", "x"))
        else:
            self.strings.add(str(value))

    def representatives(self) -> list[str | None]:
        """None (the key absent) first, then one value per region, deterministic."""
        out: list[str | None] = [None]
        out.extend(_ip_points(self.networks))
        out.extend(_time_points(self.times))
        out.extend(str(n) for n in _number_points(self.numbers))
        if self.boolean:
            out.extend(["true", "false"])
        if self.strings:
            out.extend(sorted(self.strings))
            other = _OTHER
            while other in self.strings:
                other += "-x"
            out.append(other)
        seen: set[str | None] = set()
        return [v for v in out if not (v in seen or seen.add(v))]


def _parse_network(text: str):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _ip_points(networks: set) -> list[str]:
    nets = sorted(networks, key=lambda n: (n.version, n))
    points: list[str] = []
    for net in nets:
        inner = [o for o in nets if o != net and o.version == net.version and o.subnet_of(net)]
        # Where the network is not covered by a smaller one from the set: at one of its ends,
        # or just beside one of those smaller networks.
        candidates = [net.network_address, net.broadcast_address]
        for o in inner:
            candidates += [o.network_address - 1, o.broadcast_address + 1]
        for addr in candidates:
            if addr in net and not any(addr in o for o in inner):
                points.append(str(addr))
                break
    for text in _OUTSIDE_IPS:
        addr = ipaddress.ip_address(text)
        if not any(addr.version == n.version and addr in n for n in nets):
            points.append(text)
            break
    return points if nets else []


def _time_text(when: datetime) -> str:
    when = when.astimezone(UTC)
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_points(times: set[datetime]) -> list[str]:
    ordered = sorted(times)
    if not ordered:
        return []
    second = timedelta(seconds=1)
    points = [ordered[0] - second]
    for a, b in itertools.pairwise(ordered):
        points.append(a)
        if b - a >= 2 * second:
            points += [a + second, b - second]
        elif b - a > timedelta(microseconds=1):
            points.append(a + (b - a) / 2)
    points += [ordered[-1], ordered[-1] + second]
    return [_time_text(p) for p in points]


def _number_points(numbers: set[Decimal]) -> list[Decimal]:
    ordered = sorted(numbers)
    if not ordered:
        return []
    points = [ordered[0] - 1]
    for a, b in itertools.pairwise(ordered):
        points += [a, (a + b) / 2]
    points += [ordered[-1], ordered[-1] + 1]
    return points


def build_contexts(
    deciders: Iterable[Decider], cap: int = MAX_CONTEXTS
) -> tuple[list[Context], tuple[str, ...], bool]:
    """The request contexts to compare on, the keys they vary, and whether they are sampled."""
    by_key: dict[str, _KeyValues] = {}
    spelling: dict[str, str] = {}
    for decider in deciders:
        for operator, key, values in decider.conditions():
            canonical = ram_key(key) or key
            low = canonical.lower()
            spelling.setdefault(low, canonical)
            entry = by_key.setdefault(low, _KeyValues())
            for value in values:
                entry.add(operator, value)
    keys = sorted(spelling.values(), key=str.lower)
    reps = [by_key[k.lower()].representatives() for k in keys]
    total = 1
    for r in reps:
        total *= len(r)
    seen: set[tuple[int, ...]] = set()
    order: list[tuple[int, ...]] = []

    def push(combo: tuple[int, ...]) -> None:
        if combo not in seen and len(order) < cap:
            seen.add(combo)
            order.append(combo)

    base = tuple(0 for _ in keys)
    push(base)
    for i, r in enumerate(reps):
        for j in range(1, len(r)):
            push((*base[:i], j, *base[i + 1 :]))
    sampled = total > cap
    if not sampled:
        for combo in itertools.product(*(range(len(r)) for r in reps)):
            push(combo)
    else:
        rng = random.Random(_SAMPLE_SEED)
        attempts = cap * 8
        while len(order) < cap and attempts:
            attempts -= 1
            push(tuple(rng.randrange(len(r)) for r in reps))
    contexts = [
        {k: reps[i][j] for i, (k, j) in enumerate(zip(keys, combo, strict=True)) if j}
        for combo in order
    ]
    return contexts, tuple(keys), sampled


# --- the diff --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Example:
    """One request whose decision changed: the action, its context, both decisions."""

    action: str
    context: tuple[tuple[str, str], ...]
    old: str
    new: str

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "context": dict(self.context),
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True, slots=True)
class DiffResult:
    old: str
    new: str
    actions: int
    contexts: int
    keys: tuple[str, ...]
    sampled: bool
    newly_denied: tuple[Example, ...]
    """Allowed before, denied now, in every context compared."""
    no_longer_denied: tuple[Example, ...]
    """Denied before, allowed now, in every context compared."""
    conditions_changed: tuple[Example, ...]
    """Decided differently in some contexts (or in both directions)."""
    unchanged: int

    @property
    def changed(self) -> bool:
        return bool(self.newly_denied or self.no_longer_denied or self.conditions_changed)

    def counts(self) -> dict[str, int]:
        return {
            "newly_denied": len(self.newly_denied),
            "no_longer_denied": len(self.no_longer_denied),
            "conditions_changed": len(self.conditions_changed),
            "unchanged": self.unchanged,
        }

    def to_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "identical": not self.changed,
            "actions": self.actions,
            "contexts": self.contexts,
            "context_keys": list(self.keys),
            "sampled": self.sampled,
            "summary": self.counts(),
            **{name: [e.to_dict() for e in getattr(self, name)] for name in CLASSES},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def diff_actions(old: Decider, new: Decider, catalog: Catalog) -> list[str]:
    """Every catalog action, plus literal actions either side names outside the catalog."""
    actions = {a.lower(): a for a in catalog.actions()}
    for extra in sorted(old.literal_actions() | new.literal_actions()):
        actions.setdefault(extra.lower(), extra)
    return sorted(actions.values(), key=lambda a: (a.lower(), a))


def semantic_diff(
    old: Decider,
    new: Decider,
    catalog: Catalog | None = None,
    *,
    max_contexts: int = MAX_CONTEXTS,
) -> DiffResult:
    catalog = catalog or default_catalog()
    actions = diff_actions(old, new, catalog)
    contexts, keys, sampled = build_contexts((old, new), max_contexts)
    groups: dict[tuple[Hashable, Hashable], list[str]] = {}
    for action in actions:
        groups.setdefault((old.signature(action), new.signature(action)), []).append(action)
    old_vectors: dict[Hashable, tuple[bool, ...]] = {}
    new_vectors: dict[Hashable, tuple[bool, ...]] = {}
    found: dict[str, list[Example]] = {name: [] for name in CLASSES}
    unchanged = 0
    for (old_sig, new_sig), members in groups.items():
        rep = members[0]
        if old_sig not in old_vectors:
            old_vectors[old_sig] = _vector(old, rep, contexts)
        if new_sig not in new_vectors:
            new_vectors[new_sig] = _vector(new, rep, contexts)
        before, after = old_vectors[old_sig], new_vectors[new_sig]
        differs = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        if not differs:
            unchanged += len(members)
            continue
        every = len(differs) == len(contexts)
        if every and not any(before):
            name = "newly_denied"
        elif every and all(before):
            name = "no_longer_denied"
        else:
            name = "conditions_changed"
        first = differs[0]
        context = tuple(sorted(contexts[first].items()))
        found[name].extend(
            Example(a, context, _word(before[first]), _word(after[first])) for a in members
        )
    return DiffResult(
        old=old.label,
        new=new.label,
        actions=len(actions),
        contexts=len(contexts),
        keys=keys,
        sampled=sampled,
        unchanged=unchanged,
        **{
            name: tuple(sorted(found[name], key=lambda e: (e.action.lower(), e.action)))
            for name in CLASSES
        },
    )


def _vector(decider: Decider, action: str, contexts: Sequence[Context]) -> tuple[bool, ...]:
    return tuple(decider.denies(action, ctx) for ctx in contexts)


def _word(denied: bool) -> str:
    return "deny" if denied else "allow"
