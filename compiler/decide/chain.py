"""A request decided along a Resource Directory chain (issue 12 item 2): ``Root → folders →
account``, each node with the control policies attached to it.

Resource Directory's evaluation, as documented (https://www.alibabacloud.com/help/en/oss/
user-guide/control-policy, "Evaluation logic"): from the account up to the Root, at each level
an explicit Deny ends the evaluation with a deny; otherwise a matching Allow passes the level
and evaluation continues with the parent; no Deny and no Allow is an implicit deny that ends it
too. So a request passes when no node denies it and every node allows it; which node ended
the evaluation is what ``explain`` shows. ``FullAliyunAccess``, attached to every node unless
detached (https://help.aliyun.com/en/resource-management/resource-directory/user-guide/
control-policy-overview), allows every action on every resource.

The decider is composed, not woven into the trie: each node is two ``DecisionTrie`` — one over
the Deny rules of its policies, one over their Allow rules (a trie says which rules *match*;
whether that denies or allows is this module's business) — shared by every node with the same
policies. RAM guardrails of the rule set (``for ram``) are attached to principals, not nodes:
they are decided after the chain, deny-wins, as without an org.

A resource-scoped Allow with the request's resource unknown does not match (as a Deny does
not): the level is then an implicit deny, and ``resource_unknown`` lists the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from compiler.decide.trie import Decision, DecisionTrie, Match
from compiler.model.ir import RuleSet
from compiler.model.org import FULL_ALIYUN_ACCESS, Org, OrgNode

DENY, ALLOW, IMPLICIT = "deny", "allow", "implicit-deny"


@dataclass(frozen=True, slots=True)
class NodeVerdict:
    """What one node's attached control policies say about a request."""

    node: str
    kind: str
    policies: tuple[str, ...]
    full_aliyun_access: bool
    outcome: str
    """``deny`` (an explicit Deny), ``allow`` (an Allow and no Deny) or ``implicit-deny``."""
    denied_by: tuple[Match, ...]
    allowed_by: tuple[Match, ...]
    """The Allow rules that matched (FullAliyunAccess is ``full_aliyun_access``)."""
    resource_unknown: tuple[Match, ...] = ()

    def to_dict(self) -> dict:
        out = {
            "node": self.node,
            "kind": self.kind,
            "policies": list(self.policies),
            "full_aliyun_access": self.full_aliyun_access,
            "outcome": self.outcome,
            "denied_by": [m.to_dict() for m in self.denied_by],
            "allowed_by": [m.to_dict() for m in self.allowed_by],
        }
        if self.full_aliyun_access and self.outcome != DENY:
            out["allowed_by"].insert(0, {"policy": FULL_ALIYUN_ACCESS})
        if self.resource_unknown:
            out["resource_unknown"] = [m.to_dict() for m in self.resource_unknown]
        return out


@dataclass(frozen=True, slots=True)
class ChainDecision:
    action: str
    decision: str
    """``deny`` or ``allow`` (passes every node and every RAM guardrail)."""
    account: str
    nodes: tuple[NodeVerdict, ...]
    """``Root → … → account``, as written in org.toml."""
    stopped_at: str | None
    """The node that ended the evaluation (account upwards), None when every node passed."""
    guardrails: Decision | None = None
    """The RAM guardrails' (``for ram``) Decision, when the rule set has any."""

    @property
    def denied(self) -> bool:
        return self.decision == DENY

    @property
    def matched(self) -> tuple[Match, ...]:
        """Every Deny rule that matched, chain and guardrails together."""
        out = [m for n in self.nodes for m in n.denied_by]
        if self.guardrails is not None:
            out.extend(self.guardrails.matched)
        return tuple(dict.fromkeys(out))

    def to_dict(self) -> dict:
        out = {
            "action": self.action,
            "decision": self.decision,
            "matched": [m.to_dict() for m in self.matched],
            "account": self.account,
            "stopped_at": self.stopped_at,
            "chain": [n.to_dict() for n in self.nodes],
        }
        return out


class _NodeEngine:
    __slots__ = ("allows", "denies")

    def __init__(self, ruleset: RuleSet, policies: tuple[str, ...]) -> None:
        chosen = [p for p in ruleset.policies if p.name in set(policies)]
        self.denies = DecisionTrie(r for p in chosen for r in p.rules)
        self.allows = DecisionTrie(r for p in chosen for r in p.allows)


_UNREAD = object()
_READS_LIMIT = 4096
"""(account, action) pairs whose keys ``ChainDecider.reads`` remembers at most, both
generations together (as the trie's memo: issue 15 item 2, a memo evicts, never clears)."""


class ChainDecider:
    """Decides requests of the accounts of ``org`` against ``ruleset``'s control policies."""

    def __init__(self, ruleset: RuleSet, org: Org) -> None:
        self.ruleset = ruleset
        self.org = org
        control = {p.name for p in ruleset.policies if p.deploy == "control-policy"}
        self._engines: dict[tuple[str, ...], _NodeEngine] = {}
        self._node_engine: dict[str, _NodeEngine] = {}
        for node in org.nodes:
            key = tuple(sorted(p for p in node.policies if p in control))
            engine = self._engines.get(key)
            if engine is None:
                engine = self._engines[key] = _NodeEngine(ruleset, key)
            self._node_engine[node.id] = engine
        guardrails = [r for p in ruleset.policies if p.deploy != "control-policy" for r in p.rules]
        self._guardrails = DecisionTrie(guardrails) if guardrails else None
        # Two generations, as the trie's memo: a full young one becomes the old one, and a
        # pair found there moves back, so the pairs still asked for survive the turn where a
        # wholesale clear would make every one of them walk its chain's tries again.
        self._reads: dict[tuple[str, str], tuple[str, ...] | None] = {}
        self._old_reads: dict[tuple[str, str], tuple[str, ...] | None] = {}

    def levels(self, node_id: str) -> tuple[tuple[OrgNode, DecisionTrie, DecisionTrie], ...]:
        """``Root → … → node``: each node with the tries of its Deny and its Allow rules (the
        replay walks them itself, memoised per request; KeyError for a node not described)."""
        out = []
        for node in self.chain(node_id):
            engine = self._node_engine[node.id]
            out.append((node, engine.denies, engine.allows))
        return tuple(out)

    @property
    def guardrails(self) -> DecisionTrie | None:
        """The RAM guardrails' (``for ram``) trie, decided after the chain; None: none."""
        return self._guardrails

    def reads(self, account: str, action: str) -> tuple[str, ...] | None:
        """The context keys a decision of ``account``'s ``action`` reads along its chain (the
        Deny and Allow rules of every node, then the guardrails), sorted; None when none of
        them can change its answer with the context or the resource (``DecisionTrie.reads``).
        KeyError when the org does not describe ``account``.

        Remembered per (account, action), up to a bound: walking the chain's tries on every
        call made ``Policy.decide_chain`` with a context 1.24x what it cost when it checked
        every key (min of 9 rounds, 15 requests of examples/org-allowlist, both in one
        process, load 7-8); remembered, 0.94x."""
        pair = (account, action)
        known = self._reads.get(pair, _UNREAD)
        if known is not _UNREAD:
            return known  # type: ignore[return-value]
        known = self._old_reads.get(pair, _UNREAD)
        if known is _UNREAD:
            tries = [t for _, denies, allows in self.levels(account) for t in (denies, allows)]
            if self._guardrails is not None:
                tries.append(self._guardrails)
            found = [keys for keys in (trie.reads(action) for trie in tries) if keys is not None]
            known = tuple(sorted(frozenset().union(*found))) if found else None
        if len(self._reads) >= _READS_LIMIT // 2:
            # Rules and org are fixed: a pair dropped with the old generation is rebuilt alike.
            self._old_reads = self._reads
            self._reads = {}
        self._reads[pair] = known  # type: ignore[assignment]
        return known  # type: ignore[return-value]

    def chain(self, account: str) -> tuple[OrgNode, ...]:
        """KeyError when the org does not describe ``account``."""
        return self.org.chain(account)

    def node_verdict(
        self,
        node: OrgNode,
        action: str,
        context: Mapping[str, object] | None,
        resource: str | None,
    ) -> NodeVerdict:
        engine = self._node_engine[node.id]
        denied = engine.denies.decide(action, context, resource)
        allowed = engine.allows.decide(action, context, resource)
        if denied.denied:
            outcome = DENY
        elif allowed.denied or node.full_aliyun_access:  # `denied`: an Allow rule matched
            outcome = ALLOW
        else:
            outcome = IMPLICIT
        unknown = tuple(dict.fromkeys(denied.resource_unknown + allowed.resource_unknown))
        return NodeVerdict(
            node.id,
            node.kind,
            node.policies,
            node.full_aliyun_access,
            outcome,
            denied.matched,
            allowed.matched,
            unknown,
        )

    def decide(
        self,
        account: str,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> ChainDecision:
        """``context`` is RAM-keyed (``Policy.decide_chain`` normalises)."""
        nodes = self.chain(account)
        verdicts = tuple(self.node_verdict(n, action, context, resource) for n in nodes)
        stopped = next((v.node for v in reversed(verdicts) if v.outcome != ALLOW), None)
        guardrails = None
        if self._guardrails is not None:
            guardrails = self._guardrails.decide(action, context, resource)
        denied = stopped is not None or (guardrails is not None and guardrails.denied)
        return ChainDecision(
            action, DENY if denied else ALLOW, account, verdicts, stopped, guardrails
        )

    def denies(
        self,
        account: str,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | None = None,
    ) -> bool:
        return self.decide(account, action, context, resource).denied
