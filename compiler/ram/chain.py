"""Resource Directory control policies decided the way Resource Directory does, over policy
JSON alone (the second opinion against ``compiler.decide.chain``; it imports nothing from the
project outside this package).

A chain is the list of nodes ``Root → folders → account``, each given as its id, whether the
system policy FullAliyunAccess is still attached, and the documents of the control policies
attached to it. Evaluation ("Evaluation logic",
https://www.alibabacloud.com/help/en/oss/user-guide/control-policy): from the account up, at
each node an explicit Deny ends it (deny); an Allow passes the node; neither is an implicit
deny that ends it too. FullAliyunAccess allows every action on every resource
(https://help.aliyun.com/en/resource-management/resource-directory/user-guide/
control-policy-overview), so it is evaluated as the document below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compiler.ram.evaluator import Evaluation, RamEvaluator

FULL_ALIYUN_ACCESS = "FullAliyunAccess"
FULL_ALIYUN_ACCESS_DOCUMENT = {
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True, slots=True)
class ChainNode:
    id: str
    full_aliyun_access: bool
    documents: tuple[tuple[str, dict], ...]
    """(name, parsed JSON) of every control-policy document attached to the node."""


@dataclass(frozen=True, slots=True)
class NodeEvaluation:
    node: str
    evaluation: Evaluation
    """The node's three-way answer: ``Deny``, ``Allow`` or ``ImplicitDeny``."""


@dataclass(frozen=True, slots=True)
class ChainEvaluation:
    nodes: tuple[NodeEvaluation, ...]
    stopped_at: str | None

    @property
    def decision(self) -> str:
        return "allow" if self.stopped_at is None else "deny"


class ChainEvaluator:
    """One evaluator per node, built once; ``evaluate`` walks the chain."""

    __slots__ = ("_nodes",)

    def __init__(self, chain: Sequence[ChainNode]) -> None:
        nodes = []
        for node in chain:
            documents = list(node.documents)
            if node.full_aliyun_access:
                documents.append((FULL_ALIYUN_ACCESS, FULL_ALIYUN_ACCESS_DOCUMENT))
            nodes.append((node.id, RamEvaluator(documents)))
        self._nodes = tuple(nodes)

    def evaluate(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | Sequence[str] | None = None,
    ) -> ChainEvaluation:
        results = tuple(
            NodeEvaluation(node, evaluator.evaluate(action, context, resource))
            for node, evaluator in self._nodes
        )
        stopped = next((r.node for r in reversed(results) if r.evaluation.effect != "Allow"), None)
        return ChainEvaluation(results, stopped)

    def decide(
        self,
        action: str,
        context: Mapping[str, object] | None = None,
        resource: str | Sequence[str] | None = None,
    ) -> str:
        """``evaluate(...).decision``, walking from the account up and stopping at the first
        node that does not allow (the replay's hot path: the nodes above are not asked)."""
        for _node, evaluator in reversed(self._nodes):
            if evaluator.evaluate(action, context, resource).effect != "Allow":
                return "deny"
        return "allow"
