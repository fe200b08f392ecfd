"""``prove`` on allow lists (issue 12 item 2): the requests the ``allow`` rules of the control
policies match against the requests the documents' Allow statements match, exactly.

``prove.compare`` decides which requests a set of statements *matches*; for the Deny side that
is "denied", here it reads "allowed at the node the policy is attached to" (its words are
``allow`` and ``implicit-deny``, as the chain says them). An allow list is its policy's: two
policies attached to different nodes are two lists, so they are proved policy by policy, each
policy's ``allow`` rules against the Allow statements of its own documents:

- documents the rules emit know their policy;
- JSON given by the user (``--policy``) is named by its files as ``compile`` writes them
  (``prod.json``, ``prod.1.json`` … are policy ``prod``). When the files holding Allow
  statements name no policy of the rules (a control policy downloaded as ``cp.json``), the
  rules' one allow list is proved against the JSON's one (when each side has one), else every
  allow rule against every Allow statement together — still exact for that union, and said so
  by the policy label ``every allow list``.

A policy with ``allow`` rules and no Allow statement on the other side (or the reverse) is
proved against an empty list: some request tells them apart unless the list matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from compiler.analysis.prove import Decider, Verdict, compare, from_documents, from_trie
from compiler.decide.trie import DecisionTrie
from compiler.ram.evaluator import RamEvaluator

UNION = "every allow list"
_PART = re.compile(r"\.[0-9]+\Z")


@dataclass(frozen=True, slots=True)
class AllowListProof:
    policy: str
    """The policy whose allow list was proved (``UNION``: all of them together)."""
    allow_rules: int
    verdict: Verdict
    rules: Decider
    """The two sides as the engine saw them (to decide a witness again)."""
    json: Decider


def emitted_allow_lists(policy) -> dict[str, RamEvaluator]:
    """Per policy, the documents the rules emit for it that hold Allow statements."""
    groups: dict[str, list[tuple[str, dict]]] = {}
    for doc in policy.documents:
        groups.setdefault(doc.policy, []).append((doc.filename, doc.as_dict()))
    return _with_allows({name: RamEvaluator(docs) for name, docs in groups.items()})


def file_allow_lists(paths: Sequence[Path]) -> dict[str, RamEvaluator]:
    """Per policy named by the files (``compile``'s names), their Allow statements."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        stem = path.name[: -len(path.suffix)] if path.suffix else path.name
        groups.setdefault(_PART.sub("", stem), []).append(path)
    return _with_allows({name: RamEvaluator.from_files(ps) for name, ps in groups.items()})


def _with_allows(groups: dict[str, RamEvaluator]) -> dict[str, RamEvaluator]:
    return {
        name: ev
        for name, ev in groups.items()
        if any(st.effect == "Allow" for doc in ev.documents for st in doc.statements)
    }


def prove_allow_lists(
    policy, lists: dict[str, RamEvaluator], everything: RamEvaluator | None = None
) -> tuple[AllowListProof, ...]:
    """``policy`` a ``compiler.Policy``; ``lists`` the JSON's allow lists by policy name
    (``emitted_allow_lists`` / ``file_allow_lists``); ``everything`` the evaluator over every
    document, for the union when the JSON's names are not the rules' (see the docstring).
    Empty when neither side holds an allow list."""
    rules = {p.name: p.allows for p in policy.policies if p.allows}
    if not rules and not lists:
        return ()
    if not set(lists) <= set(rules):
        if len(rules) == len(lists) == 1:
            lists = {next(iter(rules)): next(iter(lists.values()))}
        elif everything is not None:
            allows = tuple(r for group in rules.values() for r in group)
            rules, lists = {UNION: allows}, {UNION: everything}
    out = []
    for name in sorted(set(rules) | set(lists)):
        allows = rules.get(name, ())
        mine = from_trie(f"{name} allow rules", DecisionTrie(allows))
        evaluator = lists.get(name)
        theirs: Decider = (
            from_documents(f"{name} Allow statements", evaluator, effect="Allow")
            if evaluator is not None
            else from_trie(f"{name} (no Allow statement)", DecisionTrie(()))
        )
        out.append(AllowListProof(name, len(allows), compare(mine, theirs), mine, theirs))
    return tuple(out)
