"""The decision trie: every rule's action patterns in one character trie, globs included.

``build`` inserts each pattern (lowercased: RAM matches actions case-insensitively) with
``*`` and ``?`` as edges of their own. ``lookup`` walks the trie as an NFA, carrying the set of
live nodes one character at a time: the work is len(action) × live nodes, so no pattern can
make it exponential. Each distinct action string is walked once; after that its answer comes
from a memo, and an action with no conditional rule gets a ready-made ``Decision``.

Resources (issue 10) are matched the same way, case-sensitively: each distinct Resource list
of the rules is a small glob trie of its own, walked as an NFA (never a regex on user globs),
its answers memoised per resource string. NotAction rules sit in a second trie of their
exceptions: a NotAction rule covers an action when none of its exceptions match it.
``resource=None`` means the request's resource is unknown: a rule whose Resource is not ``*``
does not match, and the Decision lists it under ``resource_unknown`` when everything else
about it matched.

``all_rules`` is the index switched off — a plain scan of every rule — kept as the oracle the
property tests compare ``lookup`` against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from compiler.model.conditions import Test, compile_conjunction
from compiler.model.glob import glob_match
from compiler.model.ir import Rule

_STAR = "*"
_ONE = "?"
# The memo holds one entry per distinct action string; a trace of random junk must not grow
# it without bound, so past this size it starts over.
_MEMO_LIMIT = 1 << 16


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a request, as the ``decide`` contract reports it."""

    policy: str
    file: str
    line: int
    rule: str

    def to_dict(self) -> dict:
        return {"policy": self.policy, "file": self.file, "line": self.line, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class Decision:
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


class _Node:
    __slots__ = ("children", "closure", "entries", "one", "star")

    def __init__(self, star: bool = False) -> None:
        self.children: dict[str, _Node] = {}
        self.entries: list[int] = []
        self.star = star
        """Reached through a `*` edge: stays live on any character."""
        # Filled in by ``_seal`` once every pattern is in: the `?` child, and the nodes live
        # as soon as this one is (itself plus what `*` edges reach without a character).
        self.one: _Node | None = None
        self.closure: tuple[_Node, ...] = ()


class _GlobTrie:
    """Glob patterns in one character trie; ``match`` walks it as an NFA over the text."""

    def __init__(self) -> None:
        self.root = _Node()
        self.node_count = 1

    def insert(self, pattern: str) -> _Node:
        """The node a pattern ends at, created as needed."""
        while "**" in pattern:  # `**` means what `*` means
            pattern = pattern.replace("**", "*")
        node = self.root
        for ch in pattern:
            children = node.children
            nxt = children.get(ch)
            if nxt is None:
                nxt = children[ch] = _Node(star=ch == _STAR)
                self.node_count += 1
            node = nxt
        return node

    def nodes(self) -> list[_Node]:
        out, stack = [], [self.root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node.children.values())
        return out

    def seal(self) -> None:
        for node in self.nodes():
            node.one = node.children.get(_ONE)
            chain = [node]
            star = node.children.get(_STAR)
            while star is not None:  # `**` is folded on insert, so this runs at most once
                chain.append(star)
                star = star.children.get(_STAR)
            node.closure = tuple(chain)

    def match(self, text: str) -> set[int]:
        """Entries of every pattern matching ``text`` exactly as given (fold case first for
        case-insensitive matching)."""
        live: tuple[_Node, ...] | list[_Node] = self.root.closure
        for ch in text:
            step: list[_Node] = []
            glob_char = ch == _STAR or ch == _ONE  # in the text these are plain characters
            for node in live:
                nxt = None if glob_char else node.children.get(ch)
                if nxt is not None:
                    step.extend(nxt.closure)
                if node.one is not None:
                    step.extend(node.one.closure)
                if node.star:
                    step.append(node)  # a `*` swallows this character too
            if not step:
                return set()
            # The live set stays small; de-duplicate only when paths have met.
            live = list(dict.fromkeys(step)) if len(step) > 1 else step
        found: set[int] = set()
        for node in live:
            found.update(node.entries)
        return found


class _ResourceMatcher:
    """One rule's Resource patterns (case-sensitive), answers memoised per resource."""

    __slots__ = ("memo", "trie")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.trie = _GlobTrie()
        for pattern in patterns:
            entries = self.trie.insert(pattern).entries
            if not entries:
                entries.append(0)
        self.trie.seal()
        self.memo: dict[str, bool] = {}

    def __call__(self, resource: str) -> bool:
        hit = self.memo.get(resource)
        if hit is None:
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            hit = self.memo[resource] = bool(self.trie.match(resource))
        return hit


@dataclass(frozen=True, slots=True)
class _Leaf:
    """What one action string resolves to: rules that always match it, rules whose
    conditions decide, rules scoped to resources, and — when there are only the first —
    the finished Decision."""

    unconditional: tuple[int, ...]
    conditional: tuple[tuple[int, Test], ...]
    scoped: tuple[tuple[int, _ResourceMatcher, Test | None], ...]
    decision: Decision | None
    decisions: dict[tuple[int, ...], Decision]
    """Conditional hits → their Decision: building one costs more than the whole lookup,
    and an action sees only a few distinct combinations."""


class DecisionTrie:
    def __init__(self, rules: Iterable[Rule]):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_index = {r.index: r for r in self.rules}
        self._matches = {r.index: Match(r.policy, r.file, r.line, r.text) for r in self.rules}
        self._tests: dict[int, Test] = {}
        for r in self.rules:
            if not r.unconditional:
                tests = tuple(compile_conjunction(c) for c in r.conditions)
                self._tests[r.index] = (
                    tests[0] if len(tests) == 1 else (lambda ctx, ts=tests: any(t(ctx) for t in ts))
                )
        matchers: dict[tuple[str, ...], _ResourceMatcher] = {}
        self._resources: dict[int, _ResourceMatcher] = {}
        for r in self.rules:
            if not r.any_resource:
                matcher = matchers.get(r.resources)
                if matcher is None:
                    matcher = matchers[r.resources] = _ResourceMatcher(r.resources)
                self._resources[r.index] = matcher
        self._actions = _GlobTrie()
        self._excepts = _GlobTrie()
        self._not_action_rules = tuple(r.index for r in self.rules if r.not_actions)
        # Rules share most of their patterns (`ecs:runinstances` in many rules): walk each
        # distinct pattern once and hang every rule that has it on its end node.
        for trie, not_actions in ((self._actions, False), (self._excepts, True)):
            by_pattern: dict[str, list[int]] = {}
            for r in self.rules:
                if r.not_actions == not_actions:
                    for pattern in r.actions:
                        by_pattern.setdefault(pattern.lower(), []).append(r.index)
            for pattern, indexes in by_pattern.items():
                entries = trie.insert(pattern).entries
                entries.extend(i for i in dict.fromkeys(indexes) if i not in entries)
            trie.seal()
        self.root = self._actions.root
        self.node_count = self._actions.node_count
        self._memo: dict[str, _Leaf] = {}
        # Actions whose answer needs no context, straight to their Decision: the warm path is
        # one dict lookup (DESIGN.md: at most 3x a bare dict.get).
        self._ready: dict[str, Decision] = {}

    def __reduce__(self):
        # Pickled as its rules: the tries, compiled tests (closures) and memo are rebuilt
        # where it is unpickled, so a replay worker gets the trie without the sender's memo.
        return (DecisionTrie, (self.rules,))

    def nodes(self) -> list[_Node]:
        return self._actions.nodes()

    @property
    def except_root(self) -> _Node | None:
        """Root of the NotAction rules' exception patterns; None when there are none."""
        return self._excepts.root if self._not_action_rules else None

    def read_back(self) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Each rule's (action patterns, resource patterns) as the built tries hold them — the
        paths from the roots to the nodes carrying the rule — for exact analysis
        (``analysis/prove.py``), which must see a trie-construction bug rather than the rule
        list. Action patterns come back lowercased; NotAction rules give their exceptions."""
        actions: dict[int, list[str]] = {r.index: [] for r in self.rules}
        for trie in (self._actions, self._excepts):
            for path, node in _paths(trie.root):
                for i in node.entries:
                    actions[i].append(path)
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
        if not self._not_action_rules:
            return sorted(found)
        if self._not_action_rules:
            excepted = self._excepts.match(low)
            found.update(i for i in self._not_action_rules if i not in excepted)
        return sorted(found)

    def _leaf(self, action: str) -> _Leaf:
        indexes = self.match_indexes(action)
        tests, resources = self._tests, self._resources
        scoped: tuple[tuple[int, _ResourceMatcher, Test | None], ...] = ()
        if resources:
            scoped = tuple((i, resources[i], tests.get(i)) for i in indexes if i in resources)
            indexes = [i for i in indexes if i not in resources]
        unconditional = tuple(i for i in indexes if i not in tests)
        conditional = tuple((i, tests[i]) for i in indexes if i in tests)
        decision = None
        if not conditional and not scoped:
            decision = self._decision(action, unconditional)
        leaf = _Leaf(unconditional, conditional, scoped, decision, {})
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
            self._ready.clear()
        self._memo[action] = leaf
        if decision is not None:
            self._ready[action] = decision
        return leaf

    def _decision(
        self, action: str, indexes: Iterable[int], unknown: Iterable[int] = ()
    ) -> Decision:
        ordered = tuple(sorted(indexes))
        matches = self._matches
        return Decision(
            action,
            "deny" if ordered else "allow",
            tuple([matches[i] for i in ordered]),
            ordered,
            tuple([matches[i] for i in sorted(unknown)]) if unknown else (),
        )

    def decide(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> Decision:
        """The Decision for ``action`` on ``resource`` (None: unknown) in ``context``."""
        ready = self._ready.get(action)
        if ready is not None:
            return ready
        return self._decide_leaf(action, context, resource)

    def decider(self) -> Callable[..., Decision]:
        """``decide`` as a plain function for hot loops: the warm path is one closure call and
        one dict lookup, with no bound method or attribute lookups."""
        ready_get = self._ready.get
        slow = self._decide_leaf

        def decide(
            action: str,
            context: Mapping[str, object] | None = None,
            resource: str | None = None,
        ) -> Decision:
            ready = ready_get(action)
            if ready is not None:
                return ready
            return slow(action, context, resource)

        return decide

    def _decide_leaf(
        self, action: str, context: Mapping[str, object] | None, resource: str | None = None
    ) -> Decision:
        # Kept out of ``decide``: a smaller function is measurably cheaper to call, and the
        # warm path above is all most requests run.
        leaf = self._memo.get(action) or self._leaf(action)
        if leaf.decision is not None:
            return leaf.decision
        ctx = context or {}
        conditional = leaf.conditional
        if len(conditional) == 1:  # the common case, without a comprehension's frame
            index, test = conditional[0]
            hits: tuple[int, ...] = (index,) if test(ctx) else ()
        else:
            hits = tuple([i for i, test in conditional if test(ctx)])
        unknown: tuple[int, ...] = ()
        if leaf.scoped:
            scoped_hits, unknown = self._scoped(leaf, ctx, resource)
            hits += scoped_hits
        key = (hits, unknown) if unknown else hits
        decision = leaf.decisions.get(key)
        if decision is None:
            decision = leaf.decisions[key] = self._decision(
                action, (*leaf.unconditional, *hits), unknown
            )
        return decision

    @staticmethod
    def _scoped(
        leaf: _Leaf, ctx: Mapping[str, object], resource: str | None
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(matching resource-scoped rules, rules undecided for want of a resource)."""
        if resource is None:
            return (), tuple(i for i, _, test in leaf.scoped if test is None or test(ctx))
        return (
            tuple(
                i
                for i, matches, test in leaf.scoped
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
        """The yes/no answer alone, for replay loops that need no Decision object."""
        leaf = self._memo.get(action) or self._leaf(action)
        if leaf.unconditional:
            return True
        ctx = context or {}
        if any(test(ctx) for _, test in leaf.conditional):
            return True
        if leaf.scoped and resource is not None:
            return bool(self._scoped(leaf, ctx, resource)[0])
        return False

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
