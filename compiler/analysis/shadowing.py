"""Duplicate and shadowed rules (W0101, W0102): which rule of a policy covers which.

A networkx graph holds an edge B → A when rule B denies every request rule A denies; its
condensation groups rules that cover each other (duplicates) and its roots are the broadest
coverers. ``_Candidates`` is an index that keeps the pairwise ``covers`` test to a handful of
pairs per rule. The lint passes that report from it live here too; ``lint`` lists them.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from itertools import combinations

import networkx as nx

from compiler.analysis.messages import quote, warn, where
from compiler.catalog import Catalog
from compiler.language.diagnostics import Diagnostic
from compiler.model.glob import has_glob, subsumes
from compiler.model.ir import Condition, Conjunction, Rule
from compiler.policy import Policy


def _covers_actions(broad: Rule, narrow: Rule) -> bool:
    return all(any(subsumes(b, a) for b in broad.actions) for a in narrow.actions)


def _implies(specific: Conjunction, general: Conjunction) -> bool:
    """Conjunction ``specific`` holds only where ``general`` does (syntactically)."""
    return set(general) <= set(specific)


def covers(broad: Rule, narrow: Rule) -> bool:
    """Whether every request ``narrow`` denies is denied by ``broad`` (conservative)."""
    if not all(any(_implies(a, b) for b in broad.conditions) for a in narrow.conditions):
        return False
    return _covers_actions(broad, narrow)


def _glob_key(pattern: str) -> str:
    """The literal start of a glob, at most two characters past the RAM code: anything the
    glob matches, or any glob it subsumes, begins with it."""
    low = pattern.lower()
    stop = next((i for i, ch in enumerate(low) if ch in "*?"), len(low))
    colon = low.find(":")
    if 0 <= colon < stop:
        stop = min(stop, colon + 3)
    return low[:stop]


class _Candidates:
    """Which rules of one policy could cover a given rule: a cheap necessary condition, so
    that ``covers`` runs on a handful of pairs instead of all n² of them.

    A coverer needs, for each action of the narrow rule, the same literal action or a glob
    whose literal start begins that action, and, for each conjunction of the narrow rule, a
    conjunction made of a subset of its conditions.
    """

    def __init__(self, rules: Sequence[Rule]):
        self.exact: dict[str, set[int]] = {}
        self.globbed: dict[str, set[int]] = {}
        self.by_conj: dict[frozenset[Condition], set[int]] = {}
        for rule in rules:
            for action in rule.actions:
                if has_glob(action):
                    self.globbed.setdefault(_glob_key(action), set()).add(rule.index)
                else:
                    self.exact.setdefault(action.lower(), set()).add(rule.index)
            for conj in rule.conditions:
                self.by_conj.setdefault(frozenset(conj), set()).add(rule.index)
        self.longest_key = max(map(len, self.globbed), default=0)

    def _implied_by(self, conj: Conjunction) -> set[int]:
        conds = frozenset(conj)
        found: set[int] = set()
        if 2 ** len(conds) <= len(self.by_conj):
            for size in range(len(conds) + 1):
                for sub in combinations(sorted(conds), size):
                    found |= self.by_conj.get(frozenset(sub), set())
        else:
            for key, indexes in self.by_conj.items():
                if key <= conds:
                    found |= indexes
        return found

    def _covering(self, action: str) -> set[int]:
        low = action.lower()
        found = set() if has_glob(action) else set(self.exact.get(low, ()))
        for end in range(min(len(low), self.longest_key) + 1):
            found |= self.globbed.get(low[:end], set())
        return found

    def of(self, narrow: Rule) -> set[int]:
        candidates: set[int] | None = None
        for conj in narrow.conditions:
            pool = self._implied_by(conj)
            candidates = pool if candidates is None else candidates & pool
        for action in narrow.actions:
            if not candidates:
                break
            candidates &= self._covering(action)
        candidates = candidates or set()
        candidates.discard(narrow.index)
        return candidates


def subsumption_graph(policy: Policy) -> nx.DiGraph:
    """Nodes are rule indexes (attribute ``rule``); an edge B → A means B covers A.

    Edges join rules of the same policy only (policies are attached separately).
    """
    graph = nx.DiGraph()
    for p in policy.policies:
        rules = {r.index: r for r in p.rules}
        graph.add_nodes_from((r.index, {"rule": r}) for r in p.rules)
        index = _Candidates(p.rules)
        for narrow in p.rules:
            for broad in sorted(index.of(narrow)):
                if covers(rules[broad], narrow):
                    graph.add_edge(broad, narrow.index)
    return graph


# Both graph passes read the same graph; build it once per compiled policy.
_GRAPHS: weakref.WeakKeyDictionary[Policy, nx.DiGraph] = weakref.WeakKeyDictionary()


def _graph(policy: Policy) -> nx.DiGraph:
    graph = _GRAPHS.get(policy)
    if graph is None:
        graph = _GRAPHS[policy] = subsumption_graph(policy)
    return graph


def _classes(graph: nx.DiGraph) -> tuple[nx.DiGraph, dict[int, list[int]]]:
    """The condensation (a DAG of equivalence classes) and each class's rules in order."""
    dag = nx.condensation(graph)
    members = {c: sorted(dag.nodes[c]["members"]) for c in dag.nodes}
    return dag, members


# ------------------------------------------------------------------------------ passes


def check_duplicates(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    graph = _graph(policy)
    _, members = _classes(graph)
    out: list[Diagnostic] = []
    for rules in members.values():
        first = graph.nodes[rules[0]]["rule"]
        for index in rules[1:]:
            rule = graph.nodes[index]["rule"]
            help = "both rules deny the same requests; delete one"
            if rule.version != first.version:
                help += " (RAM cannot see API versions, so the versions do not tell them apart)"
            out.append(
                warn(
                    policy,
                    "W0101",
                    f"rule duplicates `{quote(first.text)}` at {where(first)}",
                    rule.span,
                    help,
                )
            )
    return out


def check_shadowed(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    graph = _graph(policy)
    dag, members = _classes(graph)
    out: list[Diagnostic] = []
    for cls in sorted(dag.nodes, key=lambda c: members[c][0]):
        above = nx.ancestors(dag, cls)
        if not above:
            continue
        # The broadest coverers are the classes above with nothing above them; ties go to
        # the rule written first.
        roots = [c for c in above if dag.in_degree(c) == 0]
        broadest = graph.nodes[min(members[c][0] for c in roots)]["rule"]
        # Later members of an equivalence class are reported once, as duplicates (W0101).
        rule = graph.nodes[members[cls][0]]["rule"]
        out.append(
            warn(
                policy,
                "W0102",
                f"rule is shadowed by `{quote(broadest.text)}` at {where(broadest)}",
                rule.span,
                "every request this rule denies is already denied by the broader rule; "
                "delete this rule or narrow the broader one",
            )
        )
    return out
