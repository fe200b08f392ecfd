"""The replay along a Resource Directory chain (issue 12 item 2): with an ``org.toml``, each
event is decided along ``Root → folders → account`` of the account that made it.

Which account: the caller's (``userIdentity.accountId``, else the delivery path's account, as
the normaliser fills ``Who.account``), since control policies bind the RAM identities of a
member account. An event whose account org.toml does not describe (or that names none) is
decided along the Root's chain alone — as an account directly below the Root that keeps
FullAliyunAccess and has nothing else attached — and counted as *unplaced*, by account, in the
report's ``org`` section: never silently.

Control policies bound "what RAM users and roles within member accounts can do"
(https://help.aliyun.com/en/resource-management/resource-directory/user-guide/
control-policy-overview): a call by the account itself (``userIdentity.type`` ``root-account``)
is not evaluated along the chain. It is counted as *exempt* and decided by the RAM guardrails
alone (``for ram`` policies, as every call is without an org).

Both engines walk the chain, independently, as ``ramguard test`` does for an ``account``:

- the trie: per node the ``DecisionTrie`` of its Deny rules and of its Allow rules
  (``ChainDecider.levels``), walked from the account up; an explicit Deny ends it (``deny``
  at that node, by those rules), a node without FullAliyunAccess and with no Allow matching
  ends it too (``implicit-deny``: not allowed at that node); then the RAM guardrails (``for
  ram`` policies), deny-wins;
- the RAM evaluator: ``ram.chain.ChainEvaluator`` over the emitted documents of each node's
  policies, then a ``RamEvaluator`` over the guardrails' documents.

A request on several resources is decided on each (RAM checks every resource): denied when the
chain denies any. Answers are memoised per node (``ChainMemo``: one ``replay.memo.Memo`` per
node events are placed at, so an account's projection never reuses another chain's answer);
the tables are bounded as each ``Memo`` is, times the nodes of org.toml that events reach.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import attrgetter, eq, is_, itemgetter, not_

import msgspec

from compiler.decide.trie import Match
from compiler.model.glob import glob_match
from compiler.model.org import Org
from compiler.policy import Policy
from compiler.ram import RamEvaluator
from compiler.ram.chain import ChainEvaluator
from compiler.ram.glob import GlobPattern
from compiler.replay.events import TraceEvent
from compiler.replay.impact import (
    Impact,
    RuleRef,
    decide_on_each,
    example,
    least,
    rule_refs,
    tally,
)
from compiler.replay.memo import Memo, relevant_keys

DENY, ALLOW, IMPLICIT, GUARDRAIL = "deny", "allow", "implicit-deny", "guardrail"
EXEMPT = ""
"""The node key of calls no control policy binds (an org id is never empty)."""
OWNER = "root-account"


class ChainOutcome(msgspec.Struct, frozen=True, gc=False):
    """The trie's answer along a chain, shaped as a ``Decision`` for the replay's counters
    (``decision``, ``rule_indexes``, ``resource_unknown``) plus where the evaluation ended."""

    decision: str
    rule_indexes: tuple[int, ...]
    resource_unknown: tuple[Match, ...]
    outcome: str
    """``allow``; ``deny`` (an explicit Deny at ``node``); ``implicit-deny`` (no Allow at
    ``node``, FullAliyunAccess detached); ``guardrail`` (the chain passed, a RAM guardrail
    denied)."""
    node: str | None = None
    allowed_by: tuple[int, ...] = ()
    """Indexes of the Allow rules that let the call pass a node without FullAliyunAccess
    (the allow lists' coverage)."""


_ALLOWED = ChainOutcome(ALLOW, (), (), ALLOW)


def _trie_chain(policy: Policy, org: Org, node_id: str) -> Callable:
    """``(action, context, resource) -> ChainOutcome`` along ``node_id``'s chain."""
    chooser = policy.chain_decider(org)
    # From the account up: the first node that does not pass ends the evaluation (no node
    # for a call control policies do not bind: the guardrails alone).
    levels = [
        (node.id, node.full_aliyun_access, denies.decider(), allows.decider())
        for node, denies, allows in reversed(chooser.levels(node_id) if node_id else ())
    ]
    guard = chooser.guardrails.decider() if chooser.guardrails is not None else None

    def decide(action: str, context, resource=None) -> ChainOutcome:
        unknown: tuple[Match, ...] = ()
        allowed: tuple[int, ...] = ()
        stop = None
        for node, full_access, denies, allows in levels:
            d = denies(action, context, resource)
            unknown += d.resource_unknown
            if d.decision == "deny":
                stop = (DENY, node, d.rule_indexes)
                break
            if full_access:
                continue
            a = allows(action, context, resource)  # "deny" here: an Allow rule matched
            if a.decision != "deny":
                unknown += a.resource_unknown
                stop = (IMPLICIT, node, ())
                break
            allowed += a.rule_indexes
        if guard is not None:
            g = guard(action, context, resource)
            unknown += g.resource_unknown
            if g.decision == "deny":
                if stop is None:
                    return ChainOutcome(DENY, g.rule_indexes, unknown, GUARDRAIL, None, allowed)
                outcome, node, indexes = stop
                both = indexes + g.rule_indexes
                return ChainOutcome(DENY, both, unknown, outcome, node, allowed)
        if stop is None:
            if unknown or allowed:
                return ChainOutcome(ALLOW, (), unknown, ALLOW, None, allowed)
            return _ALLOWED
        outcome, node, indexes = stop
        return ChainOutcome(DENY, indexes, unknown, outcome, node, allowed)

    return decide


def _ram_chain(policy: Policy, org: Org, node_id: str) -> Callable:
    """``(event, arns) -> "deny" | "allow"`` along the chain, from the JSON documents."""
    chain = ChainEvaluator(policy.chain_nodes(org, node_id) if node_id else ())
    guard_docs = policy.guardrail_documents()
    guard = RamEvaluator(guard_docs).decide if guard_docs else None
    walk = chain.decide

    def decide(ev: TraceEvent, on: tuple[str, ...] | None) -> str:
        for arn in on or (None,):
            if walk(ev.action, ev.context, arn) == "deny":
                return "deny"
        if guard is not None:
            return guard(ev.action, ev.context, on)
        return "allow"

    return decide


@dataclass
class ChainRules:
    """One rule set bound to the org: both engines' deciders per node, built on first use."""

    policy: Policy
    org: Org
    _built: dict[str, tuple[Callable, Callable]] = field(default_factory=dict, repr=False)
    _readers: dict[str, Callable[[str], bool]] = field(default_factory=dict, repr=False)
    _statements: list | None = field(default=None, repr=False)

    def reads_context(self, node_id: str) -> Callable[[str], bool]:
        """``action -> bool``: whether a condition may be tested for the action along
        ``node_id``'s chain — a conditional Deny or Allow rule of one of its nodes, or of
        the guardrails, covers it (the trie), or a conditional statement of any of the
        emitted documents does (the RAM evaluator; every document, not only the chain's:
        more is only less reuse). When none does, neither engine reads the call's context:
        both answer on the action and the resource alone."""
        hit = self._readers.get(node_id)
        if hit is not None:
            return hit
        chooser = self.policy.chain_decider(self.org)
        levels = chooser.levels(node_id) if node_id else ()
        tries = [trie for _node, denies, allows in levels for trie in (denies, allows)]
        if chooser.guardrails is not None:
            tries.append(chooser.guardrails)
        # Per trie, its conditional rules; a trie without one never reads a context.
        conditional = [(t, {r.index for r in t.rules if not r.unconditional}) for t in tries]
        conditional = [(t, found) for t, found in conditional if found]
        if self._statements is None:
            self._statements = [
                (tuple(GlobPattern(a, ignore_case=True) for a in s.actions), s.not_action)
                for d in RamEvaluator(self._documents()).documents
                for s in d.statements
                if s.condition is not None
            ]
        statements = self._statements

        def reads(action: str) -> bool:
            for trie, found in conditional:
                if not found.isdisjoint(trie.match_indexes(action)):
                    return True
            for patterns, not_action in statements:
                if any(p.matches(action) for p in patterns) != not_action:
                    return True
            return False

        self._readers[node_id] = reads
        return reads

    def deciders(self, node_id: str) -> tuple[Callable, Callable]:
        """(trie: ``(event, arns) -> ChainOutcome``, ram: ``(event, arns) -> str``)."""
        hit = self._built.get(node_id)
        if hit is None:
            one = _trie_chain(self.policy, self.org, node_id)

            def trie(ev: TraceEvent, on):
                return decide_on_each(one, ev, on)

            hit = self._built[node_id] = (trie, _ram_chain(self.policy, self.org, node_id))
        return hit

    def keys(self) -> frozenset[str]:
        """Context keys some condition tests: Deny and Allow rules, and the documents."""
        keys = set(relevant_keys([self.policy], [RamEvaluator(self._documents())]))
        for p in self.policy.policies:
            for rule in p.allows:
                for conj in rule.conditions:
                    keys.update(c.key.lower() for c in conj)
        return frozenset(keys)

    def _documents(self) -> list[tuple[str, dict]]:
        return [(d.filename, d.as_dict()) for d in self.policy.documents]

    def refs(self, outcome: ChainOutcome) -> tuple[RuleRef, ...]:
        """The rules that denied, or the node that did not allow (``("node", id, 0, "")``)."""
        refs = rule_refs(self.policy, outcome.rule_indexes)
        if outcome.outcome == IMPLICIT:
            refs = (("node", outcome.node or "?", 0, ""), *refs)
        return refs


_WHO = attrgetter("who")
_ACTION = attrgetter("action")
_ACTIONS_KEPT = 1 << 15
"""Actions whose reading of the context is remembered per node before the table restarts."""
_ALLOWED_BY = attrgetter("allowed_by")
_OUTCOME = attrgetter("outcome")
_NODE = attrgetter("node")


def account_of(ev: TraceEvent) -> str | None:
    who = ev.who
    if who is not None and who.account:
        return who.account
    where = ev.where
    return where.account if where is not None else None


class ChainMemo:
    """``replay.memo.Memo``'s interface (``answers``, ``spent``, ``misses``) over one memo per
    node events are placed at. ``last`` holds the batch's placement for the tallies."""

    def __init__(self, replay: OrgReplay) -> None:
        self.replay = replay
        self.memos: dict[str, Memo] = {}
        self.bare: dict[str, Memo] = {}
        """Per node, the memo of actions no condition covers there (``ChainRules.
        reads_context``, of the rules and of the baseline): keyed on action and resource
        alone. The relevant keys are those of every rule, so a trace's principals (``unless
        principal like`` on a few actions) made nearly every call its own projection."""
        n = 2 + 2 * (replay.baseline is not None)
        self.spent = [0] * n
        self.misses = 0
        self.last: tuple[list, list[str]] = ([], [])

    def _memo(self, node: str, bare: bool = False) -> Memo:
        memos = self.bare if bare else self.memos
        memo = memos.get(node)
        if memo is None:
            r = self.replay
            deciders = list(r.rules.deciders(node))
            if r.baseline is not None:
                trie, ram = r.baseline.deciders(node)
                deciders += [lambda ev, on, t=trie: t(ev, on).decision, ram]
            memo = memos[node] = Memo(tuple(deciders), frozenset() if bare else r.keys)
        return memo

    def answers(self, batch: Sequence[TraceEvent], arns: Sequence | None) -> list[tuple]:
        accounts = list(map(account_of, batch))
        nodes = list(map(self.replay.node_of, batch, accounts))
        self.last = (accounts, nodes)
        groups: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            groups.setdefault(node, []).append(i)
        actions = list(map(_ACTION, batch))
        out: list = [None] * len(batch)
        for node, at in groups.items():
            reads = self.replay.reads_context(node, list(map(actions.__getitem__, at)))
            for bare, part in (
                (False, list(compress(at, reads))),
                (True, list(compress(at, map(not_, reads)))),
            ):
                if not part:
                    continue
                if len(part) == len(batch):  # one memo answers the whole batch
                    return self._ask(self._memo(node, bare), batch, arns)
                sub = list(map(batch.__getitem__, part))
                sub_arns = None if arns is None else list(map(arns.__getitem__, part))
                got = self._ask(self._memo(node, bare), sub, sub_arns)
                for i, answer in zip(part, got, strict=True):
                    out[i] = answer
        return out

    def _ask(self, memo: Memo, batch, arns) -> list[tuple]:
        got = memo.answers(batch, arns)
        for n, spent in enumerate(memo.spent):
            self.spent[n] += spent
        self.misses += memo.misses
        memo.spent, memo.misses = [0] * len(memo.spent), 0
        return got

    def sample(self, ev: TraceEvent, on) -> tuple[int, int]:
        """One event timed alone along its chain, each engine (ns, clock cost included)."""
        trie, ram = self.replay.rules.deciders(self.replay.node_of(ev, account_of(ev)))
        clock = time.perf_counter_ns
        a = clock()
        trie(ev, on)
        b = clock()
        ram(ev, on)
        c = clock()
        return b - a, c - b


@dataclass
class ChainTally:
    """What the chain decided, folded like the rest of the report (counts add, first
    examples are the least by position)."""

    placed: int = 0
    exempt: list[int] = field(default_factory=lambda: [0, 0])
    """[events, denied] of calls no control policy binds (the account's own)."""
    unplaced: dict[str | None, list[int]] = field(default_factory=dict)
    """account (None: the event names none) → [events, denied], for accounts not in org.toml."""
    outcomes: dict[str, int] = field(default_factory=dict)
    """``deny`` / ``implicit-deny`` / ``guardrail`` → denied events."""
    stops: dict[tuple, list] = field(default_factory=dict)
    """(outcome, node, rule indexes) → [calls, first example]."""
    allow_rules: dict[int, int] = field(default_factory=dict)
    """Allow rule index → calls it let pass a node whose FullAliyunAccess is detached."""
    allow_actions: dict[tuple[int, str], int] = field(default_factory=dict)
    """(Allow rule index, action) → those calls per action: which of the rule's patterns
    allowed (coverage), bounded by rules × actions."""
    allow_reached: dict[tuple[int, str], int] = field(default_factory=dict)
    """(Allow rule index, action) → calls of an action the rule matches whose evaluation
    asked the allow list holding it (a node it is attached to, FullAliyunAccess detached,
    reached before the chain stopped): the calls an allow rule could have let pass."""
    allow_scope: dict[tuple[int, str], int] = field(default_factory=dict)
    """The same for a resource-scoped Allow rule, counting only calls whose resource was in
    its scope."""
    deny_reached: dict[tuple[int, str], int] = field(default_factory=dict)
    """(Deny rule index, action) → calls of an action a control policy's Deny rule matches
    whose evaluation asked a node it is attached to (the chain not stopped below it)."""
    deny_scope: dict[tuple[int, str], int] = field(default_factory=dict)
    """The same for a resource-scoped Deny rule, counting only calls in its scope."""

    def merge(self, other: ChainTally | None) -> ChainTally:
        if other is None:
            return self
        unplaced = {k: list(v) for k, v in self.unplaced.items()}
        for k, (n, d) in other.unplaced.items():
            mine = unplaced.setdefault(k, [0, 0])
            mine[0] += n
            mine[1] += d
        outcomes = dict(self.outcomes)
        for k, n in other.outcomes.items():
            outcomes[k] = outcomes.get(k, 0) + n
        stops = {k: list(v) for k, v in self.stops.items()}
        for k, (n, ex) in other.stops.items():
            mine = stops.get(k)
            stops[k] = [n, ex] if mine is None else [mine[0] + n, least(mine[1], ex)]
        exempt = [self.exempt[0] + other.exempt[0], self.exempt[1] + other.exempt[1]]
        allows = dict(self.allow_rules)
        for k, n in other.allow_rules.items():
            allows[k] = allows.get(k, 0) + n
        return ChainTally(
            self.placed + other.placed,
            exempt,
            unplaced,
            outcomes,
            stops,
            allows,
            _added(self.allow_actions, other.allow_actions),
            _added(self.allow_reached, other.allow_reached),
            _added(self.allow_scope, other.allow_scope),
            _added(self.deny_reached, other.deny_reached),
            _added(self.deny_scope, other.deny_scope),
        )


def _added(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def merge_chain(a: ChainTally | None, b: ChainTally | None) -> ChainTally | None:
    if a is None:
        return b
    return a.merge(b)


@dataclass
class OrgReplay:
    """The org bound to the rules (and to the baseline's rules, for a plan)."""

    rules: ChainRules
    path: str
    baseline: ChainRules | None = None
    keys: frozenset[str] = field(init=False)
    placed: frozenset[str] = field(init=False)
    """Ids of the accounts org.toml describes."""
    _context: dict[str, dict[str, bool]] = field(init=False, default_factory=dict, repr=False)
    """node → action → whether a condition may be tested for it there (``reads_context``):
    kept for the process, not per split (working it out is a first sighting's cost)."""
    attached: bool = field(init=False)
    """Whether some node holds a control policy (whose rules coverage counts per chain)."""
    _asked_cache: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        keys = self.rules.keys()
        if self.baseline is not None:
            keys |= self.baseline.keys()
        self.keys = keys
        self.placed = frozenset(n.id for n in self.rules.org.accounts)
        names = {p.name for p in self.rules.policy.policies if p.deploy == "control-policy"}
        self.attached = any(names.intersection(n.policies) for n in self.org.nodes)

    @property
    def org(self) -> Org:
        return self.rules.org

    def reads_context(self, node: str, actions: list[str]) -> list[bool]:
        """Per action, whether a condition of the rules or of the baseline may be tested for
        it along ``node``'s chain (``ChainRules.reads_context``); remembered."""
        known = self._context.get(node)
        if known is None:
            known = self._context[node] = {}
        out = list(map(known.get, actions))
        if None in out:
            readers = [self.rules.reads_context(node)]
            if self.baseline is not None:
                readers.append(self.baseline.reads_context(node))
            if len(known) >= _ACTIONS_KEPT:  # bounded, as the memos are
                known.clear()
            for i in compress(range(len(out)), map(is_, out, repeat(None))):
                action = actions[i]
                hit = known.get(action)
                if hit is None:
                    hit = known[action] = any(reads(action) for reads in readers)
                out[i] = hit
        return out

    def node_of(self, ev: TraceEvent, account: str | None) -> str:
        """The node whose chain decides ``ev``: its account's, the Root's for an account
        org.toml does not describe, ``EXEMPT`` for the account's own call."""
        who = ev.who
        if who is not None and who.kind == OWNER:
            return EXEMPT
        return account if account in self.placed else self.rules.org.root.id

    @property
    def scoped(self) -> bool:
        """Whether an Allow rule is scoped to resources (then ARNs must be built)."""
        sets = [self.rules] + ([self.baseline] if self.baseline is not None else [])
        return any(not r.any_resource for c in sets for p in c.policy.policies for r in p.allows)

    def memo(self) -> ChainMemo:
        return ChainMemo(self)

    def count(self, impact: Impact, memo: ChainMemo, batch, arns, decisions, answers) -> None:
        """The batch's attribution, plan and chain tallies (``simulate._decide_batch``)."""
        _count(self, impact, memo, batch, arns, decisions, answers)

    def __reduce__(self):
        base = None if self.baseline is None else (self.baseline.policy, self.baseline.org)
        return (_rebuild, (self.rules.policy, self.rules.org, self.path, base))

    def tally(
        self,
        tally: ChainTally,
        memo: ChainMemo,
        batch: Sequence[TraceEvent],
        decisions: Sequence,
        denied_at: Sequence[int],
        arns: Sequence | None = None,
    ) -> None:
        """Count one decided batch: placement (every event, C loops), where each denied
        event's evaluation ended (a Python loop over denied events only) and which allow
        lists each call's evaluation asked (a Python step per distinct request shape)."""
        accounts, nodes = memo.last
        self._reached(tally, nodes, batch, decisions, arns)
        root = self.org.root.id
        n_root, n_exempt = nodes.count(root), nodes.count(EXEMPT)
        tally.placed += len(nodes) - n_root - n_exempt
        if n_exempt:
            tally.exempt[0] += n_exempt
            tally.exempt[1] += sum(1 for i in denied_at if nodes[i] == EXEMPT)
        if n_root:
            unplaced = list(compress(accounts, map(eq, nodes, repeat(root))))
            denied_accounts = [accounts[i] for i in denied_at if nodes[i] == root]
            denied = Counter(denied_accounts)
            for account, n in Counter(unplaced).items():
                row = tally.unplaced.get(account)
                if row is None:
                    row = tally.unplaced[account] = [0, 0]
                row[0] += n
                row[1] += denied.get(account, 0)
        allows, per_action = tally.allow_rules, tally.allow_actions
        # C loops per event; Python per distinct (allow rules, action) pair.
        passed = Counter(zip(map(_ALLOWED_BY, decisions), map(_ACTION, batch), strict=True))
        for (indexes, action), n in passed.items():
            for index in indexes:
                allows[index] = allows.get(index, 0) + n
                pair = (index, action)
                per_action[pair] = per_action.get(pair, 0) + n
        outcomes, stops = tally.outcomes, tally.stops
        for i in denied_at:
            d = decisions[i]
            outcomes[d.outcome] = outcomes.get(d.outcome, 0) + 1
            key = (d.outcome, d.node, d.rule_indexes)
            row = stops.get(key)
            ev = batch[i]
            if row is None:
                stops[key] = [1, example(ev)]
                continue
            row[0] += 1
            first = row[1]
            if (ev.source, ev.line) <= (first[0], first[1]):  # one JSON line, many events
                row[1] = least(first, example(ev))

    def _reached(self, tally: ChainTally, nodes, batch, decisions, arns) -> None:
        """``deny_reached`` / ``allow_reached`` and their ``_scope``s: per distinct (node,
        action, where the chain stopped, resources) — C loops per event — the control
        policies' Deny and Allow rules its evaluation asked."""
        if not self.attached:
            return
        on = arns if arns is not None else [None] * len(nodes)
        shapes = Counter(
            zip(
                nodes,
                map(_ACTION, batch),
                map(_OUTCOME, decisions),
                map(_NODE, decisions),
                on,
                strict=True,
            )
        )
        kinds = (
            (tally.deny_reached, tally.deny_scope),
            (tally.allow_reached, tally.allow_scope),
        )
        for (node, action, outcome, stop, resources), k in shapes.items():
            for (reached, scope), asked in zip(
                kinds, self._asked(node, outcome, stop, action), strict=True
            ):
                for index, patterns in asked:
                    pair = (index, action)
                    reached[pair] = reached.get(pair, 0) + k
                    if patterns is not None and _in_scope(patterns, resources):
                        scope[pair] = scope.get(pair, 0) + k

    def _asked(self, node: str, outcome: str, stop: str | None, action: str) -> tuple:
        """(Deny rules, Allow rules) matching ``action``, each with its resource patterns
        (None: every resource), of the control policies a call from ``node`` was asked by,
        given where its chain stopped. From the account up each node's Deny rules are asked,
        then, with FullAliyunAccess detached, its Allow rules, until an explicit Deny (that
        node's Allow rules not asked) or an implicit deny (asked, and nothing matched)."""
        cache = self._asked_cache
        key = (node, outcome, stop, action)
        hit = cache.get(key)
        if hit is not None:
            return hit
        by_name = {p.name: p for p in self.rules.policy.policies if p.deploy == "control-policy"}
        denies: list[tuple[int, tuple[str, ...] | None]] = []
        allows: list[tuple[int, tuple[str, ...] | None]] = []
        for level in reversed(self.org.chain(node)) if node else ():
            attached = [by_name[n] for n in level.policies if n in by_name]
            denies.extend(_matching(action, (r for p in attached for r in p.rules)))
            if outcome == DENY and level.id == stop:
                break
            if not level.full_aliyun_access:
                allows.extend(_matching(action, (r for p in attached for r in p.allows)))
            if outcome == IMPLICIT and level.id == stop:
                break
        hit = (tuple(denies), tuple(allows))
        if len(cache) >= 65536:
            cache.clear()  # bounded: a trace of made-up actions must not grow it
        cache[key] = hit
        return hit


def _matching(action: str, rules) -> list[tuple[int, tuple[str, ...] | None]]:
    return [
        (r.index, None if r.any_resource else r.resources)
        for r in rules
        if any(glob_match(x, action) for x in r.actions) != r.not_actions
    ]


def _in_scope(patterns: tuple[str, ...], resources: tuple[str, ...] | None) -> bool:
    """Some ARN of the call matches a pattern (case-sensitive, as the trie matches ARNs)."""
    return bool(resources) and any(
        glob_match(p, arn, ignore_case=False) for arn in resources for p in patterns
    )


def _rebuild(policy: Policy, org: Org, path: str, base) -> OrgReplay:
    baseline = None if base is None else ChainRules(*base)
    return OrgReplay(ChainRules(policy, org), path, baseline)


_THIRD = itemgetter(2)
_FOURTH = itemgetter(3)
_DECISION = attrgetter("decision")


def _count(
    replay: OrgReplay,
    impact: Impact,
    memo: ChainMemo,
    batch: Sequence[TraceEvent],
    arns: Sequence | None,
    decisions: Sequence[ChainOutcome],
    answers: Sequence[tuple],
) -> None:
    if impact.chain is None:
        impact.chain = ChainTally()
    denied_at = list(
        compress(range(len(batch)), map(eq, map(_DECISION, decisions), repeat("deny")))
    )
    replay.tally(impact.chain, memo, batch, decisions, denied_at, arns)
    base = replay.baseline
    if base is None:
        tally(impact, batch, decisions)
        return

    def old_rules(i: int) -> tuple[RuleRef, ...]:
        ev = batch[i]
        node = replay.node_of(ev, account_of(ev))
        return base.refs(base.deciders(node)[0](ev, None if arns is None else arns[i]))

    tally(
        impact,
        batch,
        decisions,
        list(map(_THIRD, answers)),
        new_rules=replay.rules.refs,
        old_rules=old_rules,
        baseline_ram=list(map(_FOURTH, answers)),
        # Each node's memo answers per (action, resource, relevant context), both sides.
        shared=answers,
    )
