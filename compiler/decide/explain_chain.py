"""Why a request of a member account is denied or not along its Resource Directory chain:
per node (Root first), which attached policy's rule denied or allowed it, FullAliyunAccess,
and which node ended the evaluation (issue 12 item 2).

Each node's rules are traced by ``explain``'s own tracer (``trace_rule``: actions, resource,
every condition with its value and reason); the verdict per node and for the chain is the one
``ChainDecider`` makes, and the tests hold the two to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from compiler.decide.chain import ALLOW, DENY, IMPLICIT, ChainDecision
from compiler.decide.explain import RuleTrace, condition_keys, trace_rule
from compiler.model.keys import fold_keys, normalise_context
from compiler.model.org import FULL_ALIYUN_ACCESS, Org


@dataclass(frozen=True, slots=True)
class NodeTrace:
    node: str
    kind: str
    policies: tuple[str, ...]
    full_aliyun_access: bool
    outcome: str
    denies: tuple[RuleTrace, ...]
    """The node's Deny rules whose actions match (their conditions traced)."""
    allows: tuple[RuleTrace, ...]
    """The node's Allow rules whose actions match."""
    reason: str

    def to_dict(self) -> dict:
        return {
            "node": self.node,
            "kind": self.kind,
            "policies": list(self.policies),
            "full_aliyun_access": self.full_aliyun_access,
            "outcome": self.outcome,
            "reason": self.reason,
            "deny_rules": [r.to_dict() for r in self.denies],
            "allow_rules": [r.to_dict() for r in self.allows],
        }


@dataclass(frozen=True, slots=True)
class ChainExplanation:
    action: str
    account: str
    context: tuple[tuple[str, str], ...]
    decision: ChainDecision
    nodes: tuple[NodeTrace, ...]
    reason: str

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "account": self.account,
            "context": dict(self.context),
            "decision": self.decision.decision,
            "stopped_at": self.decision.stopped_at,
            "reason": self.reason,
            "matched": [m.to_dict() for m in self.decision.matched],
            "chain": [n.to_dict() for n in self.nodes],
        }


def explain_chain(
    policy,
    org: Org,
    account: str,
    action: str,
    context: Mapping[str, object] | None = None,
    *,
    resource: str | None = None,
) -> ChainExplanation:
    """``policy`` is a ``compiler.Policy`` and ``org`` bound to it (``Policy.load_org``)."""
    ctx = fold_keys(normalise_context(context), condition_keys(policy.rules))
    decision = policy.decide_chain(org, account, action, ctx, resource)
    by_name = {p.name: p for p in policy.policies if p.deploy == "control-policy"}
    traces = []
    for node, verdict in zip(org.chain(account), decision.nodes, strict=True):
        attached = [by_name[n] for n in node.policies if n in by_name]
        denies = [trace_rule(r, action, ctx, resource) for p in attached for r in p.rules]
        allows = [trace_rule(r, action, ctx, resource) for p in attached for r in p.allows]
        traces.append(
            NodeTrace(
                node.id,
                node.kind,
                tuple(p.name for p in attached),
                node.full_aliyun_access,
                verdict.outcome,
                tuple(t for t in denies if t.actions_matched),
                tuple(t for t in allows if t.actions_matched),
                _node_reason(verdict.outcome, denies, allows, node.full_aliyun_access),
            )
        )
    return ChainExplanation(
        action,
        account,
        tuple(sorted((k, str(v)) for k, v in ctx.items())),
        decision,
        tuple(traces),
        _chain_reason(decision),
    )


def _node_reason(outcome: str, denies: list[RuleTrace], allows: list[RuleTrace], full: bool) -> str:
    if outcome == DENY:
        hits = [t.location for t in denies if t.denies]
        return "denied by " + ", ".join(hits)
    if outcome == ALLOW:
        hits = [t.location for t in allows if t.denies]  # `denies`: the rule matched
        named = hits + ([FULL_ALIYUN_ACCESS] if full else [])
        return "allowed by " + ", ".join(named)
    unknown = [t.location for t in allows if t.resource_unknown]
    if unknown:
        return "no Allow matches without the request's resource: " + ", ".join(unknown)
    matched = [t.location for t in allows if t.actions_matched]
    if matched:
        return "the matching Allow rules' conditions do not hold: " + ", ".join(matched)
    return f"no Allow rule matches and {FULL_ALIYUN_ACCESS} is detached"


def _chain_reason(decision: ChainDecision) -> str:
    stopped = decision.stopped_at
    if stopped is not None:
        outcome = next(n.outcome for n in decision.nodes if n.node == stopped)
        how = "an explicit Deny" if outcome == DENY else "an implicit deny (no Allow)"
        return f"evaluation (account upwards) ends at `{stopped}`: {how}"
    if decision.guardrails is not None and decision.guardrails.denied:
        return "every node allows; a RAM guardrail (for ram) denies"
    return "every node from the account up to the Root allows, none denies"


__all__ = ["IMPLICIT", "ChainExplanation", "NodeTrace", "explain_chain"]
