"""What a change does to the allow lists of control policies (issue 12 item 2), exactly.

``semantic_diff`` compares what two rule sets *deny*; an ``allow`` rule denies nothing on its
own (without an org every node keeps FullAliyunAccess), so a change to an allow list would
pass it unseen. Allow lists are compared here, policy by policy (a policy's allow list is
what the nodes it is attached to let through): the ``allow`` rules of a policy on each side,
as a ``DecisionTrie``, through the same exact engine — "denied" there reading "matched by an
``allow`` rule", so ``newly_denied`` is *newly allowed* and ``no_longer_denied`` *no longer
allowed*. A policy on one side only compares against an empty allow list.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.analysis.diff import NEWLY, NO_LONGER, DiffResult, semantic_diff
from compiler.analysis.prove import from_trie
from compiler.catalog import Catalog
from compiler.decide.trie import DecisionTrie

NEWLY_ALLOWED = "newly_allowed"
NO_LONGER_ALLOWED = "no_longer_allowed"
RENAMED = {NEWLY: NEWLY_ALLOWED, NO_LONGER: NO_LONGER_ALLOWED}


@dataclass(frozen=True, slots=True)
class AllowListDiff:
    policy: str
    result: DiffResult

    def to_dict(self) -> dict:
        data = self.result.to_dict()
        return {
            "policy": self.policy,
            "status": data["status"],
            "reason": data["reason"],
            **{RENAMED[kind]: data[kind] for kind in (NEWLY, NO_LONGER)},
        }


def allow_list_diffs(old, new, catalog: Catalog | None = None) -> list[AllowListDiff]:
    """Per policy with ``allow`` rules on either side (``old``/``new``: compiled Policies),
    the exact difference of its allow list; policies whose allow lists are equal are left
    out."""
    olds = {p.name: p.allows for p in old.policies}
    news = {p.name: p.allows for p in new.policies}
    out = []
    for name in sorted(set(olds) | set(news)):
        before, after = olds.get(name, ()), news.get(name, ())
        if not before and not after:
            continue
        result = semantic_diff(
            from_trie(f"{name} (old allow list)", DecisionTrie(before)),
            from_trie(f"{name} (new allow list)", DecisionTrie(after)),
            catalog,
        )
        if result.status != "equal":
            out.append(AllowListDiff(name, result))
    return out
