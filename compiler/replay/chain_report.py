"""The ``org`` section of the simulate report (issue 12 item 2), from the merged
``chain_replay.ChainTally``: how many events were decided along their account's chain and how
many (of which accounts) along the Root's alone, and where the chain stopped the denied ones —
an explicit Deny at a node (by which rules) apart from an allow list's implicit deny at a node,
and RAM guardrails after the chain. Tables are ordered by calls, then by key."""

from __future__ import annotations

from collections.abc import Callable

from compiler.policy import Policy
from compiler.replay.chain_replay import DENY, GUARDRAIL, IMPLICIT, ChainTally, OrgReplay
from compiler.replay.impact import rules_by_index
from compiler.replay.impact_report import _example_dict


def _where(policy: Policy, index: int) -> dict:
    r = rules_by_index(policy)[index]
    return {"where": f"{r.file}:{r.line}", "policy": r.policy, "file": r.file, "line": r.line,
            "rule": r.text}  # fmt: skip


def org_section(
    chain: ChainTally | None, replay: OrgReplay, where: Callable[[int], str], top: int
) -> dict:
    """The report's ``org``: how many events were decided along their account's chain and how
    many (of which accounts) along the Root's alone; where the denied ones were stopped — an
    explicit Deny at a node (by which rules), an implicit deny at a node whose allow list did
    not allow it, or a RAM guardrail after the chain allowed it."""
    chain = chain or ChainTally()
    org = replay.org
    nodes = {n.id: n for n in org.nodes}
    policy = replay.rules.policy
    ordered = sorted(
        chain.stops.items(),
        key=lambda kv: (-kv[1][0], kv[0][0], kv[0][1] or "", kv[0][2]),
    )
    stops = []
    for (outcome, node_id, indexes), (calls, first) in ordered:
        node = nodes.get(node_id) if node_id is not None else None
        rules = [_where(policy, i) for i in indexes]
        stops.append(
            {
                "outcome": outcome,
                "node": node_id,
                "kind": None if node is None else node.kind,
                "policies": [] if node is None else list(node.policies),
                "full_aliyun_access": None if node is None else node.full_aliyun_access,
                "rules": rules,
                "calls": calls,
                "text": stop_text(outcome, node_id, None if node is None else node.kind, rules),
                "first": _example_dict(first, where),
            }
        )
    unplaced = sorted(
        chain.unplaced.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0] is None, kv[0] or "")
    )
    root = org.root.id
    return {
        "path": replay.path,
        "root": root,
        "accounts": len(org.accounts),
        "placed": chain.placed,
        "exempt": {
            "count": chain.exempt[0],
            "denied": chain.exempt[1],
            "why": "calls by an account itself (userIdentity.type root-account): control "
            "policies bound what RAM users and roles in member accounts can do; decided by the "
            "RAM guardrails alone",
        },
        "unplaced": {
            "count": sum(n for n, _d in chain.unplaced.values()),
            "denied": sum(d for _n, d in chain.unplaced.values()),
            "distinct": len(unplaced),
            "decided_as": f"along the Root's chain alone ({root}): as an account directly "
            "below the Root that keeps FullAliyunAccess and has nothing else attached",
            "accounts": [{"account": k, "events": n, "denied": d} for k, (n, d) in unplaced[:top]],
        },
        "denied": {
            "explicit_deny": chain.outcomes.get(DENY, 0),
            "implicit_deny": chain.outcomes.get(IMPLICIT, 0),
            "guardrail": chain.outcomes.get(GUARDRAIL, 0),
        },
        "stopped": stops[:top],
        "stopped_total": len(stops),
        **allow_coverage(chain, policy),
    }


def allow_coverage(chain: ChainTally, policy: Policy) -> dict:
    """The allow lists' coverage: per Allow rule the calls it let pass a node whose
    FullAliyunAccess is detached (``allowed``) or none (``never_allowed``: no call of that
    chain matched it, or one did and its conditions or resources never held); per policy the
    share of its Allow rules that allowed a call."""
    rows, per = [], []
    for p in policy.policies:
        if not p.allows:
            continue
        used = 0
        for r in p.allows:
            n = chain.allow_rules.get(r.index, 0)
            used += n > 0
            rows.append(
                {
                    "policy": p.name,
                    "file": r.file,
                    "line": r.line,
                    "rule": r.text,
                    "status": "allowed" if n else "never_allowed",
                    "allowed": n,
                }
            )
        per.append(
            {
                "policy": p.name,
                "allow_rules": len(p.allows),
                "allowed": used,
                "never_allowed": len(p.allows) - used,
                "percent": round(100 * used / len(p.allows), 1),
            }
        )
    return {"allow_lists": per, "allow_rules": rows}


def stop_text(outcome: str, node: str | None, kind: str | None, rules: list[dict]) -> str:
    """``denied at folder fd-prod by rule prod.rules:25`` / ``not allowed at folder fd-prod``
    (the words of the plan and the summary; values are data, escaped where shown)."""
    wheres = ", ".join(r["where"] for r in rules)
    word = "rule" if len(rules) == 1 else "rules"
    at = f"{kind or 'node'} {node}"
    if outcome == DENY:
        return f"denied at {at} by {word} {wheres}"
    if outcome == IMPLICIT:
        text = f"not allowed at {at} (implicit deny: no Allow matched, FullAliyunAccess detached)"
        return text + (f"; also denied by RAM guardrail {word} {wheres}" if rules else "")
    return f"denied by RAM guardrail {word} {wheres} (the chain allowed it)"
