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

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from compiler.analysis.diff import NEWLY, NO_LONGER, DiffResult, Side, semantic_diff
from compiler.analysis.prove import Decider, from_documents, from_trie
from compiler.catalog import Catalog
from compiler.decide.trie import DecisionTrie
from compiler.ram import RamEvaluator

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
    return _diffs(_of_rules(old), _of_rules(new), catalog)


def side_allow_list_diffs(old: Side, new: Side, catalog: Catalog | None = None) -> list:
    """``allow_list_diffs`` for the sides of a ``diff``, rules or JSON: a JSON side's allow
    list per policy is its documents' Allow statements, the policy named by the file as
    ``compile`` writes it (``prod.json``, ``prod.1.json`` … are policy ``prod``). Without
    this a narrowed allow list diffed against the deployed JSON as equivalent."""
    olds, news = _of_side(old), _of_side(new)
    if len(olds) == len(news) == 1 and olds.keys() != news.keys() and not (old.rules and new.rules):
        # One allow list each side, a JSON file named as it was downloaded (`cp.json`): the
        # same policy, compared under the rules' name (the Deny diff compares wholes too).
        name = next(iter(news if new.rules else olds))
        olds, news = {name: next(iter(olds.values()))}, {name: next(iter(news.values()))}
    return _diffs(olds, news, catalog)


# Policy name → a function of a label giving that allow list's Decider.
_Lists = dict[str, Callable[[str], Decider]]


def _of_rules(policy) -> _Lists:
    return {
        p.name: lambda label, allows=p.allows: from_trie(label, DecisionTrie(allows))
        for p in policy.policies
        if p.allows
    }


_PART = re.compile(r"\.[0-9]+\Z")


def _of_side(side: Side) -> _Lists:
    if side.policy is not None:
        return _of_rules(side.policy)
    groups: dict[str, list[Path]] = {}
    for path in side.files:
        name = _PART.sub("", path.name[: -len(path.suffix)] if path.suffix else path.name)
        groups.setdefault(name, []).append(path)
    out: _Lists = {}
    for name, paths in groups.items():
        evaluator = RamEvaluator.from_files(paths)
        if any(st.effect == "Allow" for doc in evaluator.documents for st in doc.statements):
            out[name] = lambda label, ev=evaluator: from_documents(label, ev, effect="Allow")
    return out


def _diffs(olds: _Lists, news: _Lists, catalog: Catalog | None) -> list[AllowListDiff]:
    out = []
    for name in sorted(set(olds) | set(news)):
        result = semantic_diff(
            olds.get(name, _EMPTY)(f"{name} (old allow list)"),
            news.get(name, _EMPTY)(f"{name} (new allow list)"),
            catalog,
        )
        if result.status != "equal":
            out.append(AllowListDiff(name, result))
    return out


def _EMPTY(label: str) -> Decider:
    return from_trie(label, DecisionTrie(()))


def whole_verdict(deny: DiffResult, allows: list[AllowListDiff], chains=None) -> str:
    """The verdict of the whole comparison, Deny statements and allow lists together:
    ``tightens`` (fewer requests pass: newly denied, or no longer allowed), ``loosens``
    (newly allowed, or no longer denied), ``both``, ``equivalent`` (both parts proved) or
    ``unknown``. A changed allow list never reads "equivalent" because the Deny part is;
    with ``chains`` (an org), an account's chain deciding a request differently counts too
    (an org.toml change alone can change them)."""
    if deny.status == "unknown" or any(a.result.status == "unknown" for a in allows):
        return "unknown"
    tight = bool(deny.of(NEWLY)) or any(a.result.of(NO_LONGER) for a in allows)
    loose = bool(deny.of(NO_LONGER)) or any(a.result.of(NEWLY) for a in allows)
    if chains is not None:  # a ``diff_chain.ChainDiff``: what the accounts see
        if chains.status == "unknown":
            return "unknown"
        tight = tight or bool(chains.of(NEWLY))
        loose = loose or bool(chains.of(NO_LONGER))
    if tight and loose:
        return "both"
    return "tightens" if tight else "loosens" if loose else "equivalent"
