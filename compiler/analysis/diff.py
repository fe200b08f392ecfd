"""Exact semantic difference of two deny policies: which requests change decision, and how.

Built on the exact engine (``prove``). Either side is compiled rules (the trie's patterns read
back, decided by the trie) or RAM documents (the evaluator's parse, decided by the
evaluator). The request space — every action and resource string, every region of every
condition key's values — is a finite product of classes and every class is visited, so the
answer is a proof, never a sample:

1. action classes (``globsets`` over both sides' action patterns, case-folded) are grouped by
   the statements they make active on each side: every string of a group is decided alike by
   both sides under every resource and context;
2. per group and resource class the condition search asks twice — a context the new side
   denies and the old one does not (newly denied), and the reverse (no longer denied) — each
   answer the fewest-keys context;
3. every catalog action is run through the same automaton to find its group, so each change
   lists the catalog actions it affects; the witness's action is the group's shortest catalog
   action (any member is decided alike; a real name is one a user can paste), else the
   group's shortest string;
4. every witness is confirmed by both sides' real ``decide``; one that is not makes the
   answer "unknown" (exit 1), never a difference or an equality. Past the engine's budgets
   the answer is "unknown" too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from compiler.analysis import collector
from compiler.analysis.globsets import Undecided, classes
from compiler.analysis.prove import (
    ConditionSearch,
    Decider,
    Stmt,
    Witness,
    action_automaton,
    from_documents,
    patterns_by_owner,
    readable_action,
    request_resource,
)
from compiler.analysis.prove import from_trie as _from_trie
from compiler.catalog import Catalog, default_catalog
from compiler.policy import compile_rules
from compiler.ram import RamEvaluator

NEWLY = "newly_denied"
NO_LONGER = "no_longer_denied"
CLASSES = (NEWLY, NO_LONGER)
_WANT = {NEWLY: (False, True), NO_LONGER: (True, False)}
"""(old denies, new denies) that each kind of change looks for."""


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a diff: the engine's view, where it came from, and whether it is rules
    (so that a ``ramguard decide --rules`` command reproduces its decisions)."""

    decider: Decider
    label: str
    rules: bool
    policy: object | None = None
    """The compiled rules (a ``compiler.Policy``) when ``rules``: their allow lists are
    compared by ``diff_allows``."""
    files: tuple[Path, ...] = ()
    """The JSON documents when not ``rules``: their Allow statements are the allow lists
    ``diff_allows`` compares."""


def load_side(path: str | Path, catalog: Catalog | None = None) -> Side:
    """A rules file or directory, or RAM policy JSON (a ``.json`` file, or a directory holding
    ``*.json`` and no ``*.rules``). Raises CompileError or PolicyDocumentError."""
    path = Path(path)
    jsons: list[Path] = []
    if path.is_dir():
        found = sorted(p for p in path.glob("*.json") if p.is_file())
        if found and not any(path.rglob("*.rules")):
            jsons = found
    elif path.suffix.lower() == ".json":
        jsons = [path]
    if jsons:
        decider = from_documents(str(path), RamEvaluator.from_files(jsons))
        return Side(decider, str(path), False, files=tuple(jsons))
    policy = compile_rules([path], catalog)
    return Side(from_trie(str(path), policy), str(path), True, policy)


def from_trie(name: str, policy) -> Decider:
    """The engine's view of compiled rules (``prove.from_trie`` on the policy's trie)."""
    return _from_trie(name, policy.trie)


@dataclass(frozen=True, slots=True)
class Change:
    """One group of requests whose decision changed one way."""

    kind: str
    """``newly_denied`` or ``no_longer_denied``."""
    witness: Witness
    """A concrete request (confirmed by both sides): a = old, b = new."""
    shortest_action: str
    """The group's shortest action string (the witness's action when no catalog one is)."""
    old_statements: tuple[Stmt, ...]
    """The old side's statements that apply to the witness's action and resource."""
    new_statements: tuple[Stmt, ...]
    catalog_actions: tuple[str, ...]
    """Every catalog action in the group (decided like the witness's action)."""

    def to_dict(self) -> dict:
        w = self.witness
        return {
            "kind": self.kind,
            "witness": {
                "action": w.action,
                "resource": w.resource,
                "context": dict(w.context),
                "old": _word(w.a_denies),
                "new": _word(w.b_denies),
            },
            "shortest_action": self.shortest_action,
            "old_statements": [_stmt_dict(s) for s in self.old_statements],
            "new_statements": [_stmt_dict(s) for s in self.new_statements],
            "catalog_actions": {
                "count": len(self.catalog_actions),
                "list": list(self.catalog_actions),
            },
        }


def _stmt_dict(stmt: Stmt) -> dict:
    return {"where": stmt.label, "text": stmt.text}


@dataclass(frozen=True, slots=True)
class DiffResult:
    old: str
    new: str
    status: str
    """``equal`` (proved), ``different`` (every change confirmed) or ``unknown``."""
    changes: tuple[Change, ...] = ()
    reason: str = ""
    action_classes: int = 0
    catalog_size: int = 0

    @property
    def changed(self) -> bool:
        return self.status == "different"

    def of(self, kind: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    def catalog_affected(self, kind: str) -> list[str]:
        return sorted(
            {a for c in self.of(kind) for a in c.catalog_actions}, key=lambda a: (a.lower(), a)
        )

    @property
    def verdict(self) -> str:
        """``tightens`` (only newly denied), ``loosens`` (only no longer denied), ``both``,
        ``equivalent`` or ``unknown``."""
        if self.status != "different":
            return "equivalent" if self.status == "equal" else "unknown"
        tight, loose = bool(self.of(NEWLY)), bool(self.of(NO_LONGER))
        return "both" if tight and loose else "tightens" if tight else "loosens"

    def to_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "status": self.status,
            "equivalent": self.status == "equal",
            "verdict": self.verdict,
            "reason": self.reason,
            "action_classes": self.action_classes,
            "catalog_actions": self.catalog_size,
            "summary": {
                kind: {
                    "changes": len(self.of(kind)),
                    "catalog_actions": len(self.catalog_affected(kind)),
                }
                for kind in CLASSES
            },
            **{kind: [c.to_dict() for c in self.of(kind)] for kind in CLASSES},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _listed(action: str) -> tuple[str, str]:
    return (action.lower(), action)


def _action_key(action: str) -> tuple[int, str, str]:
    return (len(action), action.lower(), action)


def _word(denied: bool) -> str:
    return "deny" if denied else "allow"


@dataclass(frozen=True, slots=True)
class _Found:
    kind: str
    group: frozenset[int]
    shortest: str
    resource: str | None
    context: dict[str, str]
    active: tuple[int, ...]


def semantic_diff(
    old: Decider,
    new: Decider,
    catalog: Catalog | None = None,
    *,
    state_budget: int = 200_000,
    node_budget: int = 2_000_000,
) -> DiffResult:
    """Every change between ``old`` and ``new``, exactly (see the module docstring)."""
    catalog = catalog or default_catalog()
    with collector.paused():
        return _semantic_diff(old, new, catalog, state_budget, node_budget)


def _semantic_diff(
    old: Decider, new: Decider, catalog: Catalog, state_budget: int, node_budget: int
) -> DiffResult:
    stmts = [*old.stmts, *new.stmts]
    n_old = len(old.stmts)
    act_pats, act_owner, res_pats, res_owner = patterns_by_owner(stmts)
    # A NotAction statement is active exactly where none of its exceptions match.
    negated = frozenset(i for i, st in enumerate(stmts) if st.not_actions)

    n_pats = len(act_pats)

    def group_of(accepted: frozenset[int]) -> frozenset[int]:
        # An id past the patterns is ACTION_SHAPE's (``action_automaton``), no statement's.
        return frozenset({act_owner[p] for p in accepted if p < n_pats}) ^ negated

    found: list[_Found] = []
    try:
        dfa, act_classes = action_automaton(act_pats, state_budget)
        res_classes: list[tuple[frozenset[int], str | None]] = (
            list(classes(res_pats, fold=False, budget=state_budget))
            if res_pats
            else [(frozenset(), None)]
        )
        search = ConditionSearch(stmts, node_budget)
        groups: dict[frozenset[int], str] = {}
        for acc, action in act_classes:  # BFS order: the first is the group's shortest
            groups.setdefault(group_of(acc), action)
        formulas: dict[frozenset[int], object] = {}

        def formula(active: frozenset[int]):
            f = formulas.get(active)
            if f is None:
                f = formulas[active] = search.formula([stmts[i] for i in sorted(active)])
            return f

        answers: dict[tuple[frozenset[int], frozenset[int], str], dict[str, str] | None] = {}
        for group, shortest in groups.items():
            for kind in CLASSES:
                for racc, resource in res_classes:
                    rhit = {res_owner[p] for p in racc}
                    active = tuple(
                        i for i in sorted(group) if stmts[i].resources is None or i in rhit
                    )
                    ka = frozenset(i for i in active if i < n_old)
                    kb = frozenset(i for i in active if i >= n_old)
                    key = (ka, kb, kind)
                    if key not in answers:
                        answers[key] = search.witness(formula(ka), formula(kb), _WANT[kind])
                    ctx = answers[key]
                    if ctx is not None:
                        found.append(_Found(kind, group, shortest, resource, ctx, active))
                        break
        members: dict[frozenset[int], list[str]] = {f.group: [] for f in found}
        seen: set[str] = set()
        actions = catalog.actions()
        for action in actions:
            low = action.lower()
            if low in seen:
                continue
            seen.add(low)
            bucket = members.get(group_of(dfa.run(action)))
            if bucket is not None:
                bucket.append(action)
    except Undecided as exc:
        return DiffResult(old.name, new.name, "unknown", reason=str(exc))
    changes: list[Change] = []
    for f in found:
        listed = tuple(sorted(members[f.group], key=_listed))
        # No catalog action in the change: a readable one outside the catalog (`x:Y`) that
        # the two sides decide alike, else the class's own shortest action-shaped string.
        action = (
            min(listed, key=_action_key)
            if listed
            else readable_action(old, new, f.shortest, f.resource, f.context)
        )
        resource = request_resource(old, new, action, f.resource, f.context)
        da = old.denies(action, resource, f.context)
        db = new.denies(action, resource, f.context)
        w = Witness(action, resource, f.context, da, db)
        if (da, db) != _WANT[f.kind]:
            return DiffResult(
                old.name,
                new.name,
                "unknown",
                reason=f"the policies agree on the engine's witness {w}",
                action_classes=len(act_classes),
            )
        changes.append(
            Change(
                f.kind,
                w,
                f.shortest,
                tuple(stmts[i] for i in f.active if i < n_old),
                tuple(stmts[i] for i in f.active if i >= n_old),
                listed,
            )
        )
    changes.sort(key=lambda c: (CLASSES.index(c.kind), _action_key(c.witness.action)))
    return DiffResult(
        old.name,
        new.name,
        "different" if changes else "equal",
        tuple(changes),
        action_classes=len(act_classes),
        catalog_size=len(seen),
    )
