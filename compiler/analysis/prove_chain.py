"""``prove`` along a Resource Directory (issue 12 item 2): the trie's chain and the emitted
control-policy JSON decide every request of every account alike.

A chain's decision is a function of, per node, which requests its Deny statements match and
which its Allow statements match (FullAliyunAccess adds "every request" to the latter on both
sides). So it is proved node by node, exactly, with ``prove.compare``:

- the node's Deny rules (a ``DecisionTrie`` over them, read back) against the Deny
  statements of the documents emitted for the policies attached there, through the RAM
  evaluator;
- when FullAliyunAccess is detached, the node's Allow rules against the Allow statements, the
  same way (where it is attached both sides allow everything, and nothing is left to prove).

Equal at every node means equal chains for every request. A difference comes with the
request that shows it, confirmed by both engines; it is then also decided along the chain of
an account below the node (or the node itself) by both chain engines, to say whether it
changes the chain's final answer or is masked there (by a Deny or an implicit deny
elsewhere) — a difference either way, since the JSON does not mean what the rules say.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.analysis.prove import Verdict, compare, from_documents, from_trie
from compiler.decide.trie import DecisionTrie
from compiler.model.org import Org, OrgNode
from compiler.ram.chain import ChainEvaluator
from compiler.ram.evaluator import RamEvaluator


@dataclass(frozen=True, slots=True)
class NodeProof:
    node: str
    part: str
    """``deny`` or ``allow``: which statements of the node were compared."""
    verdict: Verdict
    account: str | None = None
    """With a witness: the account (or node) whose chain it was decided along."""
    chain: tuple[str, str] | None = None
    """With a witness: (trie chain decision, JSON chain decision) on it."""


@dataclass(frozen=True, slots=True)
class ChainProof:
    proofs: tuple[NodeProof, ...]

    @property
    def status(self) -> str:
        """``equal`` when every node is, ``different`` when one is, else ``unknown``."""
        statuses = {p.verdict.status for p in self.proofs}
        if "different" in statuses:
            return "different"
        return "unknown" if "unknown" in statuses else "equal"

    @property
    def first_problem(self) -> NodeProof | None:
        for wanted in ("different", "unknown"):
            for proof in self.proofs:
                if proof.verdict.status == wanted:
                    return proof
        return None


def prove_chain(policy, org: Org) -> ChainProof:
    """``policy`` a ``compiler.Policy``, ``org`` bound to it (``Policy.load_org``)."""
    by_name = {p.name: p for p in policy.policies if p.deploy == "control-policy"}
    done: dict[tuple, tuple[Verdict, ...]] = {}
    proofs: list[NodeProof] = []
    for node in org.nodes:
        attached = tuple(n for n in node.policies if n in by_name)
        key = (attached, node.full_aliyun_access)
        docs = policy.chain_nodes(org, node.id)[-1].documents
        evaluator = RamEvaluator(list(docs))
        parts = [("deny", [r for n in attached for r in by_name[n].rules], "Deny")]
        if not node.full_aliyun_access:
            parts.append(("allow", [r for n in attached for r in by_name[n].allows], "Allow"))
        if key not in done:
            done[key] = tuple(
                compare(
                    from_trie(f"rules {part}", DecisionTrie(rules)),
                    from_documents(f"json {part}", evaluator, effect),
                )
                for part, rules, effect in parts
            )
        for (part, _, _), verdict in zip(parts, done[key], strict=True):
            proofs.append(_with_chain(policy, org, node, part, verdict))
    return ChainProof(tuple(proofs))


def _with_chain(policy, org: Org, node: OrgNode, part: str, verdict: Verdict) -> NodeProof:
    w = verdict.witness
    if w is None:
        return NodeProof(node.id, part, verdict)
    below = [n.id for n in org.nodes if n.kind == "account" and node in org.chain(n.id)]
    account = below[0] if below else node.id
    # The chain alone (RAM guardrails of the set are proved by the whole-set proof).
    stopped = policy.decide_chain(org, account, w.action, w.context, w.resource).stopped_at
    trie = "allow" if stopped is None else "deny"
    json = ChainEvaluator(policy.chain_nodes(org, account)).decide(w.action, w.context, w.resource)
    return NodeProof(node.id, part, verdict, account, (trie, json))
