"""The decision trie: every rule's action patterns indexed for lookup, globs included.

Patterns are lowercased (RAM matches actions case-insensitively) and indexed by shape in
``compiler.decide.matcher``: exact names in a dict, each RAM code's prefix globs in a dict
and its other globs in a lazily built DFA, so a first sighting costs about a dict lookup
(issue 15) and no pattern can make a lookup more than linear in the action. Each distinct
action string is looked up once; after that its answer comes from a memo of two bounded
generations (a hot action is promoted, never dropped wholesale). An action whose answer no
context can change is remembered as its finished ``Decision``; one with conditional rules as
a leaf whose Decisions are memoised on the values of the context keys its conditions test.

Resources (issue 10) are matched the same way, case-sensitively: each distinct Resource list
of the rules is a small glob trie of its own, run as a lazy DFA (never a regex on user
globs), its answers memoised per resource string. NotAction rules sit in a second index of
their exceptions: a NotAction rule covers an action when none of its exceptions match it.
``resource=None`` means the request's resource is unknown: a rule whose Resource is not ``*``
does not match, and the Decision lists it under ``resource_unknown`` when everything else
about it matched. The character trie of all patterns (what ``graph`` draws) is built only
when asked for.

``all_rules`` is the index switched off — a plain scan of every rule — kept as the oracle the
property tests compare ``lookup`` against.

Over 400 lines: the decision contract (``Decision``/``Match``), the memo and its
generations, conditions, resources and the oracle read best side by side; the matching
itself lives in ``matcher``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import msgspec

from compiler.decide.matcher import GlobTrie, LazyDfa, PatternIndex
from compiler.decide.matcher import Node as _Node
from compiler.decide.warm import (
    conditional_checked_decider,
    conditional_decider,
    free_checked_decider,
    free_decider,
    too_long,
)
from compiler.model.conditions import Test, compile_conjunction
from compiler.model.glob import MAX_ACTION, glob_match
from compiler.model.ir import Rule
from compiler.model.keys import checked_context, note_read_keys

# Per-action tables (leaf memo, ready Decisions, per-resource answers) and the memo of
# conditional Decisions by the values their conditions read hold at most this many entries in
# two generations: when the young one fills it becomes the old one and the oldest answers go,
# so a trace of random junk cannot grow them and a hot answer is never dropped wholesale (it
# is promoted back on its next sighting).
_MEMO_LIMIT = 1 << 16
_EMPTY: Mapping = {}
"""The context of a request without one, and a leaf's first old generation: a plain dict
(a mappingproxy's ``get`` is a method call on the dict behind it, several times slower),
which nothing here ever changes."""
_SLOW: tuple[None, None, Callable[[object], None]] = (None, None, _EMPTY.get)
"""The warm entry of a leaf ``decider`` cannot answer inline: no key, a memo that holds
nothing, so the closure's conditional path finds no Decision and takes ``_decide_leaf``."""


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a request, as the ``decide`` contract reports it."""

    policy: str
    file: str
    line: int
    rule: str

    def to_dict(self) -> dict:
        return {"policy": self.policy, "file": self.file, "line": self.line, "rule": self.rule}


class Decision(msgspec.Struct, frozen=True, gc=False):
    """The answer for one request. A frozen ``msgspec.Struct`` rather than a frozen
    dataclass: the same immutable value with ``==``, ``hash`` and ``repr``, built in a tenth
    of the time — and one is built on every first sighting of an action (issue 15: ≤ 1 µs).
    ``gc=False``: it holds strings and tuples of ``Match``, never a cycle."""

    action: str
    decision: str
    """``deny``, or ``allow`` meaning: not denied by these rules."""
    matched: tuple[Match, ...]
    rule_indexes: tuple[int, ...] = ()
    resource_unknown: tuple[Match, ...] = ()
    """Rules that would have matched had the request's resource been known."""

    @property
    def denied(self) -> bool:
        return self.decision == "deny"

    def to_dict(self) -> dict:
        out = {
            "action": self.action,
            "decision": self.decision,
            "matched": [m.to_dict() for m in self.matched],
        }
        if self.resource_unknown:
            out["resource_unknown"] = [m.to_dict() for m in self.resource_unknown]
        return out


class _ResourceMatcher:
    """One rule's Resource patterns (case-sensitive) as a lazy DFA, answers memoised per
    resource in two bounded generations."""

    __slots__ = ("dfa", "memo", "old", "trie")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.trie = GlobTrie()
        for pattern in patterns:
            entries = self.trie.insert(pattern).entries
            if not entries:
                entries.append(0)
        self.trie.seal()
        self.dfa = LazyDfa(self.trie)
        self.memo: dict[str, bool] = {}
        self.old: dict[str, bool] = {}

    def __call__(self, resource: str) -> bool:
        hit = self.memo.get(resource)
        if hit is None:
            hit = self.old.get(resource)
            if hit is None:
                hit = bool(self.dfa.match(resource))
            if len(self.memo) >= _MEMO_LIMIT // 2:
                self.old, self.memo = self.memo, {}
            self.memo[resource] = hit
        return hit


class _Shape:
    """What a set of matching rules means, whichever action matched them (``found`` by the
    action index): rules that always match, rules whose conditions decide, rules scoped to
    resources, the keys the conditions test, and the parts of a Decision per combination of
    hits. Built once per distinct set (actions share them: `ecs:Delete*` covers many), so a
    first sighting of an action costs its lookup and a leaf, not this."""

    __slots__ = (
        "conditional",
        "hit",
        "keys",
        "miss",
        "parts",
        "reads",
        "scoped",
        "test",
        "unconditional",
    )

    def __init__(
        self,
        unconditional: tuple[int, ...],
        conditional: tuple[tuple[Test, tuple[int, ...]], ...],
        scoped: tuple[tuple[int, _ResourceMatcher, Test | None], ...],
        keys: tuple[str, ...] | None,
        reads: tuple[str, ...],
    ) -> None:
        self.unconditional = unconditional
        self.conditional = conditional
        """Each distinct test of the conditional rules with the rules it decides."""
        self.scoped = scoped
        self.keys = keys
        """The context keys the conditional rules test (None with resource-scoped rules)."""
        self.reads = reads
        """Every context key a test of these rules reads, scoped rules' included: the values
        ``Policy.decide`` checks (``DecisionTrie._decide_checked``)."""
        self.parts: dict[object, tuple] = {}
        """Combination of hits → (decision, matched, indexes, resource_unknown), at most
        ``_PARTS_LIMIT``: a Decision is these and its action."""
        self.test: Test | None = None
        """The one test when there is one and no rule is scoped to resources (most leaves):
        ``hit`` or ``miss`` is then the Decision's parts, each built on first use. Read
        straight off the shape, which the lookup has just read, in place of the conditions
        tuple, its (test, rules) pair and ``parts`` with its key: a leaf's first sighting on
        a big rule set is bound by cache misses (10,000 rules, caches cold: 3.4 µs of a
        leaf's 7.5 µs came after its lookup, when a fixed deny's whole first sighting took
        4.1 µs), and each object not read is one miss fewer."""
        if len(conditional) == 1 and not scoped:
            self.test = conditional[0][0]
        self.hit: tuple | None = None
        self.miss: tuple | None = None


_PARTS_LIMIT = 256
"""Combinations of hits remembered per shape (2 ** conditional rules at most)."""


class _Leaf(msgspec.Struct, gc=False):
    """What one action string resolves to when context or resource can change the answer:
    its shape, and its Decisions by the values of the keys the shape's conditions test. (An
    action whose answer is fixed is remembered as its Decision instead.) A mutable msgspec
    Struct: built on every first sighting of such an action, in C, without a Python frame;
    ``gc=False``: nothing it holds refers back to it."""

    shape: _Shape
    memo: dict[object, Decision]
    """The young generation of this leaf's Decisions by the values of ``shape.keys`` (the
    key is ``_values_key``'s); ``_UNBUILT`` until the action's second sighting, then its own
    dict, never rebound again: ``warm`` holds its ``get``. With resource-
    scoped rules: the Decision per combination of hits instead (a few)."""
    old: Mapping[object, Decision] = _EMPTY
    """The previous generation, promoted from on a hit (``_remember_values``); replaced,
    never changed in place."""
    warm: tuple[str | None, str | None, Callable[[object], Decision | None]] = _SLOW
    """(first key, second key or None, ``memo.get``) for a leaf testing one or two keys:
    what ``decider`` reads to answer a warm conditional action without another call;
    ``_SLOW`` for any other leaf (more keys, resource-scoped rules)."""


def _values_key(keys: tuple[str, ...], ctx: Mapping[str, object]) -> object:
    """A leaf memo's key for ``ctx``: the value of a single key, else the tuple of values.

    A str, None (absent and None read alike: every test reads its key with ``get``) or a
    bool stands as itself; an int or float as (type, repr), since True == 1 and 0.0 == -0.0
    hash alike and the operators read them differently; any other type gives ``_UNKEYED``
    (not memoised: its equality is not ours to vouch for). So a lookup by a str, None or bool
    can only ever find an entry stored for that very value — what lets ``decider`` look such
    values up as they are."""
    if len(keys) == 1:
        value = ctx.get(keys[0])
        cls = type(value)
        if cls is str or value is None or cls is bool:
            return value
        if cls is int or cls is float:
            return (cls, repr(value))
        return _UNKEYED
    out: list[object] = []
    for value in map(ctx.get, keys):
        cls = type(value)
        if cls is str or value is None or cls is bool:
            out.append(value)
        elif cls is int or cls is float:
            out.append((cls, repr(value)))
        else:
            return _UNKEYED
    return tuple(out)


_UNKEYED = object()
_UNBUILT: dict = {}
"""The memo of a leaf seen once (``DecisionTrie._leaf``): empty, never written, replaced by
its own on the second sighting (``DecisionTrie._built``)."""


def _any_of(tests: tuple[Test, ...]) -> Test:
    """The test of conjunctions ORed (``unless A and B`` is two), without a generator for
    the common two: ``any`` over a generator cost more than the tests it ran."""
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ctx: first(ctx) or second(ctx)

    def any_test(ctx: Mapping[str, object]) -> bool:
        for test in tests:  # noqa: SIM110 — a loop, not any() over a generator: see above
            if test(ctx):
                return True
        return False

    return any_test


class DecisionTrie:
    def __init__(self, rules: Iterable[Rule]):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_index = {r.index: r for r in self.rules}
        self._matches = {r.index: Match(r.policy, r.file, r.line, r.text) for r in self.rules}
        self._tests: dict[int, Test] = {}
        shared: dict[tuple, Test] = {}
        self._keys: dict[int, frozenset[str]] = {}
        """The context keys a conditional rule's tests read (each test reads only its key)."""
        for r in self.rules:
            if not r.unconditional:
                self._keys[r.index] = frozenset(c.key for conj in r.conditions for c in conj)
                # Rules with the same conditions share one test (a rule set repeats a few
                # conditions over many actions): a leaf evaluates each distinct test once.
                test = shared.get(r.conditions)
                if test is None:
                    test = shared[r.conditions] = _any_of(
                        tuple(compile_conjunction(c) for c in r.conditions)
                    )
                self._tests[r.index] = test
        # Before any decision: a context key another spelling of these must not pass the warm
        # closure's set test as spelled (``compiler.model.keys.note_read_keys``).
        note_read_keys(frozenset().union(*self._keys.values()))
        matchers: dict[tuple[str, ...], _ResourceMatcher] = {}
        self._resources: dict[int, _ResourceMatcher] = {}
        for r in self.rules:
            if not r.any_resource:
                matcher = matchers.get(r.resources)
                if matcher is None:
                    matcher = matchers[r.resources] = _ResourceMatcher(r.resources)
                self._resources[r.index] = matcher
        self._not_action_rules = tuple(r.index for r in self.rules if r.not_actions)
        # Rules share most of their patterns (`ecs:runinstances` in many rules): each distinct
        # pattern is indexed once with every rule that has it.
        self._actions = PatternIndex(self._patterns(False))
        self._excepts = PatternIndex(self._patterns(True))
        self._char_tries: tuple[GlobTrie, GlobTrie] | None = None
        self._memo: dict[str, _Leaf | Decision] = {}
        self._old_memo: dict[str, _Leaf | Decision] = {}
        # Sets of matching rules → their shape: part of the index (what rules mean together),
        # not an answer, so ``forget`` keeps them as it keeps the DFAs' states.
        self._shapes: dict[frozenset[int], _Shape | tuple] = {}
        # What ``decider`` reads, one entry per remembered action of the young generation: the
        # Decision when no context or resource can change it (the warm path is one dict
        # subscript: DESIGN.md, at most 2x a bare dict.get), else None, and then ``_warm``
        # holds its leaf's ``warm`` tuple. None rather than the tuple itself: telling a
        # Decision from None is a pointer test, telling it from a tuple reads the object (a
        # cache miss a warm hit need not pay). Never rebound (the closures hold them): a new
        # generation clears both.
        self._hot: dict[str, Decision | None] = {}
        self._warm: dict[str, tuple] = {}
        # No rule reads the context or the resource: every leaf is a Decision, and
        # ``decider`` needs no conditional path.
        self._context_free = not self._tests and not self._resources
        # The leaves' memos by values share one bound of two generations: the leaves with
        # entries in the young generation, those with entries in the old, and the young count.
        self._filled: list[_Leaf] = []
        self._filled_old: list[_Leaf] = []
        self._young_values = 0

    def _patterns(self, not_actions: bool) -> list[tuple[str, list[int]]]:
        by_pattern: dict[str, list[int]] = {}
        for r in self.rules:
            if r.not_actions == not_actions:
                for pattern in r.actions:
                    by_pattern.setdefault(pattern.lower(), []).append(r.index)
        return [(p, list(dict.fromkeys(ix))) for p, ix in by_pattern.items()]

    def forget(self) -> None:
        """Drop every remembered answer and keep the built indexes: the next request for
        each action is a first sighting again (what the benchmarks time as cold)."""
        self._memo.clear()
        self._old_memo.clear()
        self._hot.clear()
        self._warm.clear()
        self._filled, self._filled_old, self._young_values = [], [], 0

    def __reduce__(self):
        # Pickled as its rules: the indexes, compiled tests (closures) and memo are rebuilt
        # where it is unpickled, so a replay worker gets the trie without the sender's memo.
        return (DecisionTrie, (self.rules,))

    # -- the character trie: what ``graph`` draws; built only when asked for ---------------

    def _tries(self) -> tuple[GlobTrie, GlobTrie]:
        if self._char_tries is None:
            tries = (GlobTrie(), GlobTrie())
            for trie, index in zip(tries, (self._actions, self._excepts), strict=True):
                for pattern, indexes in index.items():
                    trie.insert(pattern).entries.extend(indexes)
                trie.seal()
            self._char_tries = tries
        return self._char_tries

    @property
    def root(self) -> _Node:
        return self._tries()[0].root

    @property
    def node_count(self) -> int:
        return self._tries()[0].node_count

    def nodes(self) -> list[_Node]:
        return self._tries()[0].nodes()

    @property
    def except_root(self) -> _Node | None:
        """Root of the NotAction rules' exception patterns; None when there are none."""
        return self._tries()[1].root if self._not_action_rules else None

    def read_back(self) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Each rule's (action patterns, resource patterns) as the built indexes hold them —
        the pattern tables lookups read, and the paths of each resource trie — for exact
        analysis (``analysis/prove.py``), which must see an index-construction bug rather
        than the rule list. Action patterns come back lowercased (runs of `*` folded);
        NotAction rules give their exceptions."""
        actions: dict[int, list[str]] = {r.index: [] for r in self.rules}
        for index in (self._actions, self._excepts):
            for pattern, indexes in index.items():
                for i in indexes:
                    actions[i].append(pattern)
        resources: dict[int, tuple[str, ...]] = {}
        for i, matcher in self._resources.items():
            resources[i] = tuple(
                sorted(path for path, node in _paths(matcher.trie.root) if node.entries)
            )
        return {i: (tuple(sorted(pats)), resources.get(i, ("*",))) for i, pats in actions.items()}

    # -- lookup ---------------------------------------------------------------------------

    def match_indexes(self, action: str) -> list[int]:
        """Indexes of rules whose actions cover ``action`` (case-insensitive): an Action
        pattern matches it, or a NotAction rule has no exception matching it."""
        low = action.lower()
        found = self._actions.match(low)
        if self._not_action_rules:
            excepted = self._excepts.match(low)
            found = found.union(i for i in self._not_action_rules if i not in excepted)
        return sorted(found) if found else []

    def reads(self, action: str) -> tuple[str, ...] | None:
        """The context keys a decision of ``action`` reads (the conditions of the rules
        covering it, as the rules spell them), sorted; None when no context or resource can
        change its answer. What ``unknown_key`` lets through besides the keys it knows."""
        leaf = self._known(action)
        return None if leaf.__class__ is Decision else leaf.shape.reads  # type: ignore[union-attr]

    def _leaf(self, action: str) -> _Leaf | Decision:
        """What ``action`` resolves to: its Decision when no context or resource can change
        it, else a leaf; remembered either way."""
        low = action.lower()
        found = self._actions.match(low)
        if self._not_action_rules:
            excepted = self._excepts.match(low)
            found = found.union(i for i in self._not_action_rules if i not in excepted)
        if not found:  # most first sightings: an action no rule names
            decision = Decision(action, "allow", ())
            if len(action) <= MAX_ACTION and len(self._memo) < _MEMO_LIMIT // 2:
                # ``_remember``'s common case written out: one call fewer on the commonest
                # first sighting.
                self._memo[action] = self._hot[action] = decision
                return decision
            return self._remember(action, decision)
        shape = self._shapes.get(found)
        if shape is None:
            shape = self._shape(found)
        if shape.__class__ is tuple:  # a fixed deny: (matched, indexes)
            decision = Decision(action, "deny", shape[0], shape[1])
            if len(action) <= MAX_ACTION and len(self._memo) < _MEMO_LIMIT // 2:
                self._memo[action] = self._hot[action] = decision  # as above
                return decision
            return self._remember(action, decision)
        # A leaf whose memo and warm entry are built on its second sighting (``_built``):
        # most actions of a trace are seen once, and at 10,000 rules these were a fifth of a
        # conditional first sighting (the growth row, issue 15 item 2).
        leaf = _Leaf(shape, _UNBUILT)
        if len(action) <= MAX_ACTION and len(self._memo) < _MEMO_LIMIT // 2:
            self._memo[action] = leaf  # ``_remember``, written out as above
            self._warm[action] = _SLOW
            self._hot[action] = None
            return leaf
        return self._remember(action, leaf)

    def _built(self, action: str, leaf: _Leaf) -> None:
        """Give a leaf seen before its memo by values and its warm entry (``_leaf`` leaves
        them out), and the closures that entry if the action is this generation's."""
        memo: dict[object, Decision] = {}
        leaf.memo = memo
        keys = leaf.shape.keys
        if keys is not None and len(keys) <= 2:
            leaf.warm = (keys[0], keys[1] if len(keys) == 2 else None, memo.get)
            if self._memo.get(action) is leaf:
                self._warm[action] = leaf.warm

    def _shape(self, found: frozenset[int]) -> _Shape | tuple:
        """``found``'s shape, or (matched, indexes) when no context or resource can change
        what it means; kept per distinct set, up to a bound."""
        indexes = sorted(found)
        tests, resources = self._tests, self._resources
        scoped: tuple[tuple[int, _ResourceMatcher, Test | None], ...] = ()
        if resources:
            scoped = tuple((i, resources[i], tests.get(i)) for i in indexes if i in resources)
            indexes = [i for i in indexes if i not in resources]
        unconditional = tuple([i for i in indexes if i not in tests])
        by_test: dict[Test, list[int]] = {}
        for i in indexes:
            if i in tests:
                by_test.setdefault(tests[i], []).append(i)
        conditional = tuple([(test, tuple(ix)) for test, ix in by_test.items()])
        shape: _Shape | tuple
        own = self._keys
        reads = tuple(sorted(frozenset().union(*[own[i] for i in found if i in own])))
        if not conditional and not scoped:
            shape = self._parts(unconditional, ())[1:3]
        elif scoped:
            shape = _Shape(unconditional, conditional, scoped, None, reads)
        else:
            keys = frozenset().union(*[own[ix[0]] for _, ix in conditional])
            shape = _Shape(unconditional, conditional, (), tuple(sorted(keys)), reads)
        if len(self._shapes) < _MEMO_LIMIT:
            self._shapes[found] = shape
        return shape

    def _remember(self, action: str, known: _Leaf | Decision) -> _Leaf | Decision:
        if len(action) > MAX_ACTION:
            return known  # hostile or broken input: not worth a memo slot, and the checked
            # decider must keep seeing it to refuse it
        if len(self._memo) >= _MEMO_LIMIT // 2:
            # A new generation: the old one's entries are dropped, the young become old and
            # are promoted back when seen again (``_decide_leaf``). ``_hot`` is cleared, not
            # rebound: ``decider`` closures hold it.
            self._old_memo, self._memo = self._memo, {}
            self._hot.clear()
            self._warm.clear()
        self._memo[action] = known
        if known.__class__ is Decision:
            self._hot[action] = known  # type: ignore[assignment]
        else:
            self._warm[action] = known.warm  # type: ignore[union-attr]
            self._hot[action] = None
        return known

    def _parts(self, indexes: Iterable[int], unknown: Iterable[int]) -> tuple:
        """(decision, matched, indexes, resource_unknown): a Decision but for its action."""
        ordered = tuple(sorted(indexes))
        matches = self._matches
        return (
            "deny" if ordered else "allow",
            tuple([matches[i] for i in ordered]),
            ordered,
            tuple([matches[i] for i in sorted(unknown)]) if unknown else (),
        )

    def _decision(
        self, action: str, indexes: Iterable[int], unknown: Iterable[int] = ()
    ) -> Decision:
        return Decision(action, *self._parts(indexes, unknown))

    def decide(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> Decision:
        """The Decision for ``action`` on ``resource`` (None: unknown) in ``context``."""
        known = self._hot.get(action)
        if known is not None:
            return known
        return self._decide_leaf(action, context, resource)

    def decider(self, *, checked: bool = False) -> Callable[..., Decision]:
        """``decide`` as a plain function for hot loops. A warm action is one subscript of
        ``_hot`` — the interpreter's specialised exact-dict subscript, cheaper than calling a
        bound ``get`` — inside a ``try`` (free until it raises: only a first sighting per
        action and generation pays for the KeyError, about a tenth of its cost). A warm
        conditional action testing one or two keys is answered here too, from its leaf's memo
        by values, without another call (``_values_key`` says why looking a str, None or bool
        up as itself is exact); everything else takes ``_decide_leaf``. When no rule reads the
        context or the resource (``_context_free``: the seed) every entry is a Decision and
        the closure is the subscript alone.

        ``checked``: contexts are read as ``Policy.decide`` documents, as far as the decision
        reads them (``_decide_checked``) — keys in any spelling, the values the decision's
        conditions test converted or refused — with the check for a conditional action's
        context already in the trie's form (keys spelled as RAM keys, the values read strings)
        made inline: the closures are written out, since a flag tested on every call would
        cost the hot loops."""
        hot, warm = self._hot, self._warm
        slow = self._decide_checked if checked else self._decide_leaf
        if self._context_free:
            return free_checked_decider(hot, slow) if checked else free_decider(hot, slow)
        if checked:
            return conditional_checked_decider(hot, warm, slow)
        return conditional_decider(hot, warm, slow)

    def _decide_checked(
        self, action: str, context: Mapping[str, object] | None, resource: str | None = None
    ) -> Decision:
        """``Policy.decide``'s path for what its warm closure does not answer: an action
        over MAX_ACTION is refused (never remembered, so every call for one comes here); a
        fixed answer needs no context; otherwise the context's keys are spelled as RAM keys
        (KeyError for one key in two spellings) and the values the rules covering the action
        read are converted or refused (ValueError) before deciding. Values no such rule
        reads are not looked at: the same request gets the same answer or error whatever
        the memo holds."""
        if len(action) > MAX_ACTION:
            raise too_long(action)
        leaf = self._known(action)
        if leaf.__class__ is Decision:
            return leaf  # type: ignore[return-value]
        if context:
            context = checked_context(context, leaf.shape.reads)  # type: ignore[union-attr]
        if resource is not None and leaf.shape.scoped:  # type: ignore[union-attr]
            # Read as far as the decision reads it, as the context is: a rule scoped to
            # resources covers the action, and a string that is no ARN (`foo`, ``''``) would
            # match none of them and be answered as if it were a request on it.
            from compiler.model.resolve_resources import arn_shape_problem

            problem = arn_shape_problem(resource)
            if problem is not None:
                raise ValueError(f"resource: {problem[1]} ({problem[2]})")
        return self._decide_leaf(action, context, resource)

    def _known(self, action: str) -> _Leaf | Decision:
        """The action's leaf or fixed Decision: this generation's memo, else the last one's
        (promoted), else built."""
        leaf = self._memo.get(action)
        if leaf is None:
            leaf = self._old_memo.get(action)
            leaf = self._leaf(action) if leaf is None else self._remember(action, leaf)
        return leaf

    def _decide_leaf(
        self, action: str, context: Mapping[str, object] | None, resource: str | None = None
    ) -> Decision:
        # Kept out of ``decide``: a smaller function is measurably cheaper to call, and the
        # warm path above is all most requests run. ``_known`` written out: this runs on
        # every first sighting and every memo miss, and a leaf built here has an empty memo,
        # not worth looking the values up in.
        leaf = self._memo.get(action)
        fresh = False
        if leaf is None:
            leaf = self._old_memo.get(action)
            if leaf is None:
                leaf = self._leaf(action)
                fresh = True
            else:
                leaf = self._remember(action, leaf)
        if leaf.__class__ is Decision:
            return leaf  # type: ignore[return-value]
        if not fresh and leaf.memo is _UNBUILT:  # type: ignore[union-attr]
            self._built(action, leaf)  # type: ignore[arg-type]
        shape = leaf.shape  # type: ignore[union-attr]
        ctx = context or _EMPTY
        key: object = _UNKEYED
        keys = shape.keys
        if keys is not None and not fresh:
            # The answer depends only on the values of the keys this action's conditions
            # test: memoised on them (``_values_key`` says why this is exact; its common
            # cases, one key or two, written out here, on every memo miss). Not on a first
            # sighting: nothing is remembered for it yet.
            if len(keys) == 1:
                key = ctx.get(keys[0])
                if not (type(key) is str or key is None or type(key) is bool):
                    key = _values_key(keys, ctx)
            elif len(keys) == 2:
                v0, v1 = ctx.get(keys[0]), ctx.get(keys[1])
                kind0, kind1 = type(v0), type(v1)
                if (kind0 is str or v0 is None or kind0 is bool) and (
                    kind1 is str or v1 is None or kind1 is bool
                ):
                    key = (v0, v1)
                else:
                    key = _values_key(keys, ctx)
            else:
                key = _values_key(keys, ctx)
            if key is not _UNKEYED:
                decision = leaf.memo.get(key)  # type: ignore[union-attr]
                if decision is not None:
                    return decision
                decision = leaf.old.get(key)  # type: ignore[union-attr]
                if decision is not None:
                    return self._remember_values(leaf, key, decision)  # type: ignore[arg-type]
        test = shape.test
        if test is not None:  # one test, no resource scope: most leaves
            if test(ctx):
                parts = shape.hit
                if parts is None:
                    hits = shape.conditional[0][1]
                    parts = shape.hit = self._parts((*shape.unconditional, *hits), ())
            else:
                parts = shape.miss
                if parts is None:
                    parts = shape.miss = self._parts(shape.unconditional, ())
        else:
            conditional = shape.conditional
            if len(conditional) == 1:  # one test with resource-scoped rules, without a loop
                test, hits = conditional[0]
                if not test(ctx):
                    hits = ()
            else:
                hits = ()
                for test, indexes in conditional:
                    if test(ctx):
                        hits += indexes
            unknown: tuple[int, ...] = ()
            if shape.scoped:
                scoped_hits, unknown = self._scoped(shape, ctx, resource)
                hits += scoped_hits
                combination = (hits, unknown)
                # Scoped leaves are not memoised by values: their few Decisions are kept here.
                decision = leaf.memo.get(combination)  # type: ignore[union-attr]
                if decision is not None:
                    return decision
            else:
                combination = hits
            parts = shape.parts.get(combination)
            if parts is None:
                parts = self._parts((*shape.unconditional, *hits), unknown)
                if len(shape.parts) < _PARTS_LIMIT:
                    shape.parts[combination] = parts
        decision = Decision(action, *parts)
        if fresh:
            return decision  # remembered from the second sighting on (``_built``)
        if shape.scoped:
            if len(leaf.memo) < _PARTS_LIMIT:  # type: ignore[union-attr]
                leaf.memo[combination] = decision  # type: ignore[union-attr]
        elif key is not _UNKEYED:
            # ``_remember_values``, written out: this runs on every first sighting of a leaf.
            if self._young_values >= _MEMO_LIMIT // 2:
                self._new_values_generation()
            memo = leaf.memo  # type: ignore[union-attr]
            if not memo:
                self._filled.append(leaf)  # type: ignore[arg-type]
            memo[key] = decision
            self._young_values += 1
        return decision

    def _remember_values(self, leaf: _Leaf, key: object, decision: Decision) -> Decision:
        if self._young_values >= _MEMO_LIMIT // 2:
            self._new_values_generation()
        if not leaf.memo:  # its first entry in this generation
            self._filled.append(leaf)
        leaf.memo[key] = decision
        self._young_values += 1
        return decision

    def _new_values_generation(self) -> None:
        """A new generation across every leaf, as in ``_remember``: each young memo is
        copied out to be the old one (``warm`` holds the young one's ``get``) and the old
        ones are dropped, so all the leaves together hold at most _MEMO_LIMIT values."""
        for old in self._filled_old:
            old.old = _EMPTY
        for young in self._filled:
            young.old = dict(young.memo)
            young.memo.clear()
        self._filled_old, self._filled, self._young_values = self._filled, [], 0

    @staticmethod
    def _scoped(
        shape: _Shape, ctx: Mapping[str, object], resource: str | None
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(matching resource-scoped rules, rules undecided for want of a resource)."""
        if resource is None:
            return (), tuple(i for i, _, test in shape.scoped if test is None or test(ctx))
        return (
            tuple(
                i
                for i, matches, test in shape.scoped
                if matches(resource) and (test is None or test(ctx))
            ),
            (),
        )

    def denies(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> bool:
        """The yes/no answer alone, for replay loops: ``decide``'s memoised Decision."""
        return self.decide(action, context, resource).decision == "deny"

    # -- oracle ---------------------------------------------------------------------------

    def all_rules(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> Decision:
        """The same answer as ``decide`` by scanning every rule: no trie, no memo."""
        ctx = context or {}
        hits, unknown = [], []
        for r in self.rules:
            covered = any(glob_match(p, action) for p in r.actions)
            if covered == r.not_actions:
                continue
            if r.index in self._tests and not self._tests[r.index](ctx):
                continue
            if r.any_resource:
                hits.append(r.index)
            elif resource is None:
                unknown.append(r.index)
            elif any(glob_match(p, resource, ignore_case=False) for p in r.resources):
                hits.append(r.index)
        return self._decision(action, hits, unknown)

    def rule(self, index: int) -> Rule:
        return self._by_index[index]


def _paths(root: _Node) -> list[tuple[str, _Node]]:
    out, stack = [], [("", root)]
    while stack:
        path, node = stack.pop()
        out.append((path, node))
        stack.extend((path + ch, child) for ch, child in node.children.items())
    return out
