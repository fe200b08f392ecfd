"""Duplicate, shadowed and dead rules (W0101, W0102, E0110), decided exactly.

"Rule B covers rule A" means every request A denies — any action and resource string, any
value of every condition key — is denied by B; it is decided by the exact engine
(``prove.compare`` asking for a request A denies and B does not), on the patterns the built
trie holds (read back, as ``prove`` does), so ``when mfa = false`` and ``unless mfa = true``,
or ``ECS Run*`` and ``ecs:run*``, are seen to be the same. When the engine cannot decide
(its budgets), B is taken not to cover A: a warning is never a false alarm.

A networkx graph holds an edge B → A when B covers A; its condensation groups rules that
cover each other (duplicates) and its roots are the broadest coverers. Pairs are picked by a
*sound* filter: if B covers A, B matches a string of each of A's action patterns (the
pattern with `*` taken empty and `?` as `a`), so only the rules that match those strings
are compared (``_Candidates``). A rule that denies nothing at all (E0110, an error) covers and is
covered by nothing here: the error says it all.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import lru_cache

import networkx as nx

from compiler.analysis import collector
from compiler.analysis.globsets import Undecided, Unfoldable
from compiler.analysis.messages import quote, warn, where
from compiler.analysis.prove import (
    Atom,
    ConditionSearch,
    Stmt,
    compare,
    condition_atom,
    from_trie,
    statement_decider,
)
from compiler.catalog import Catalog
from compiler.decide.matcher import ONE, STAR, PatternIndex
from compiler.language.diagnostics import Diagnostic, Severity
from compiler.model.glob import subsumes
from compiler.policy import Policy


def _stmts(policy: Policy) -> dict[int, Stmt]:
    """Each rule's statement as the engine reads it back from the built trie."""
    trie = policy.trie
    return {
        rule.index: stmt
        for rule, stmt in zip(trie.rules, from_trie("rules", trie).stmts, strict=True)
    }


def covers(broad: Stmt, narrow: Stmt) -> bool:
    """Whether every request ``narrow`` denies is denied by ``broad`` (proved; False when
    it is not so or cannot be decided)."""
    if _plainly_covers(broad, narrow):
        return True
    verdict = compare(
        statement_decider("narrow", [narrow]),
        statement_decider("broad", [broad]),
        want=(True, False),
    )
    return verdict.status == "equal"


def _plainly_covers(broad: Stmt, narrow: Stmt) -> bool:
    """The common case without the engine (a thousand times cheaper): ``broad`` has no
    condition, takes in ``narrow``'s resources, and each of ``narrow``'s action patterns is
    covered by one of ``broad``'s (``subsumes`` is never True wrongly). False says nothing."""
    if broad.not_actions or narrow.not_actions or broad.dnf != ((),):
        return False
    if broad.resources is not None and broad.resources != narrow.resources:
        return False
    return all(any(subsumes(b, a) for b in broad.actions) for a in narrow.actions)


@lru_cache(maxsize=4096)
def _satisfiable(atom: Atom) -> bool | None:
    """Whether some value of its key (or its absence) makes ``atom`` hold; None: undecided."""
    alone = Stmt("atom", ("*",), False, None, ((atom,),))
    try:
        # The regions themselves can be past the budget (a glob's automaton).
        search = ConditionSearch([alone], node_budget=2_000_000)
        return search.witness(search.formula([alone]), frozenset(), (True, False)) is not None
    except Undecided:
        return None


def _plainly_satisfiable(stmt: Stmt) -> bool:
    """A case whose conditions test distinct keys, each of which can hold, can hold: the
    keys take their values independently. (Compile runs this for every rule, issue 16 item
    4: the full search for every rule cost half a compile of 10,000 rules.)"""
    for conj in stmt.dnf:
        keys = {a.key.lower() for a in conj}
        if len(keys) == len(conj) and all(_satisfiable(a) for a in conj):
            return True
    return False


def denies_nothing(stmt: Stmt) -> bool | None:
    """Whether no request at all is denied by ``stmt`` (proved); None: the engine could not
    decide (past its budgets, or case folding off ASCII), which is neither answer."""
    return _denies_nothing(stmt)[0]


def _denies_nothing(stmt: Stmt) -> tuple[bool | None, Undecided | None]:
    """``denies_nothing`` and, when None, what stopped the engine (for N0110's words)."""
    if not stmt.not_actions:
        if _plainly_satisfiable(stmt):
            return False, None
        # Every action or resource pattern matches some string: only the condition can make
        # the rule match nothing, and the condition search alone decides that.
        try:
            search = ConditionSearch([stmt], node_budget=2_000_000)
            return search.witness(search.formula([stmt]), frozenset(), (True, False)) is None, None
        except Undecided as exc:
            return None, exc
    verdict = compare(
        statement_decider("rule", [stmt]), statement_decider("none", []), want=(True, False)
    )
    if verdict.status != "unknown":
        return verdict.status == "equal", None
    why = Unfoldable(verdict.reason) if verdict.unfoldable else Undecided(verdict.reason)
    return None, why


def _sample(pattern: str) -> str:
    """A string ``pattern`` matches."""
    return pattern.replace("*", "").replace("?", "a")


def _shape(stmt: Stmt) -> tuple:
    """What a statement denies, without its label."""
    return (stmt.actions, stmt.not_actions, stmt.resources, stmt.dnf)


def _dead(policy: Policy, stmts: dict[int, Stmt]) -> tuple[set[int], dict[int, Undecided]]:
    """Indexes of the rules that deny nothing, and of those the engine could not decide
    (with why), each distinct statement proved once."""
    verdicts: dict[tuple, tuple[bool | None, Undecided | None]] = {}
    dead: set[int] = set()
    undecided: dict[int, Undecided] = {}
    for i, st in stmts.items():
        key = _shape(st)
        if key not in verdicts:
            verdicts[key] = _denies_nothing(st)
        verdict, why = verdicts[key]
        if verdict:
            dead.add(i)
        elif verdict is None and why is not None:
            undecided[i] = why
    return dead, undecided


class _Candidates:
    """Which of some rules match a string, as the trie's ``match_indexes`` says, for the
    sound filter's sample strings.

    The trie's matcher finds a prefix glob (`ecs:desc*`) by the first characters every
    prefix of its code shares, then a ``startswith`` for each prefix sharing them: right for
    decisions (a few prefixes a code), but nested globs (`Desc*` ⊇ `Descr*` ⊇ …) share
    those characters by the thousand, and a sample was checked against every one of them:
    ``check`` on 4,000 distinct ECS globs spent 3.5 of its 5 s there, growing with the
    square. Here a prefix glob is found by a dict probe per distinct prefix length (at most
    the string's length), whatever their number; every other pattern goes to the same
    ``PatternIndex`` the trie uses, so the answers are the trie's."""

    def __init__(self, stmts: dict[int, Stmt], rules: set[int]) -> None:
        self.prefixes: dict[str, set[int]] = {}
        rest: dict[str, list[int]] = {}
        excepts: dict[str, list[int]] = {}
        self.not_action_rules: list[int] = []
        for i in sorted(rules):
            st = stmts[i]
            if st.not_actions:
                self.not_action_rules.append(i)
                for pattern in st.actions:
                    excepts.setdefault(pattern, []).append(i)
                continue
            for pattern in st.actions:
                head = pattern[:-1]
                if pattern.endswith(STAR) and STAR not in head and ONE not in head:
                    self.prefixes.setdefault(head, set()).add(i)
                else:
                    rest.setdefault(pattern, []).append(i)
        self.lengths = sorted({len(head) for head in self.prefixes})
        self.rest = PatternIndex(rest.items())
        self.excepts = PatternIndex(excepts.items())

    def match(self, text: str) -> set[int]:
        """The rules matching ``text`` (lowercase, as the patterns read back are)."""
        found = set(self.rest.match(text))
        prefixes = self.prefixes
        for k in self.lengths:
            if k > len(text):
                break
            hit = prefixes.get(text[:k])
            if hit is not None:
                found |= hit
        if self.not_action_rules:
            excepted = self.excepts.match(text)
            found.update(i for i in self.not_action_rules if i not in excepted)
        return found


def _analysis(policy: Policy) -> tuple[nx.DiGraph, set[int]]:
    stmts = _stmts(policy)
    # Rules with the same statement (the same rule written again, issue 16 F7: 4,000 of them
    # took minutes) are proved once: a repeat is joined to the first of its policy both ways
    # (a duplicate) and is no candidate for covering others, so the proofs grow with the
    # distinct statements, not their copies.
    dead = dead_rules(policy)
    graph = nx.DiGraph()
    for p in policy.policies:
        first: dict[tuple, int] = {}
        repeats: set[int] = set()
        for r in p.rules:
            if r.index in dead:
                continue
            key = _shape(stmts[r.index])
            if key in first:
                repeats.add(r.index)
            else:
                first[key] = r.index
        mine = {r.index for r in p.rules} - repeats
        graph.add_nodes_from((r.index, {"rule": r}) for r in p.rules if r.index not in dead)
        candidates = _Candidates(stmts, mine - dead)
        pools: dict[int, set[int]] = {}
        for narrow in p.rules:
            if narrow.index in dead:
                continue
            st = stmts[narrow.index]
            if narrow.index in repeats:
                original = first[_shape(st)]
                graph.add_edge(original, narrow.index)
                graph.add_edge(narrow.index, original)
                continue
            # Start from the rules that match, not from every rule of the policy: copying
            # `mine` for each rule was itself |rules|² (issue 16 F7).
            pool: set[int] | None = None
            if not st.not_actions:
                for pattern in st.actions:
                    found = candidates.match(_sample(pattern))
                    pool = found if pool is None else pool & found
            pool = mine - dead if pool is None else pool
            pool.discard(narrow.index)
            pools[narrow.index] = pool
        _cover_edges(graph, stmts, pools)
    return graph, dead


def _cover_edges(graph: nx.DiGraph, stmts: dict[int, Stmt], pools: dict[int, set[int]]) -> None:
    """Add B → A for each candidate B in ``pools[A]`` that covers A, leaving out edges that
    proved ones already imply (issue 16 F7: 4,000 nested globs, `Desc*` ⊇ `Describe*` ⊇ …,
    are 48,000 covering pairs but 4,000 proofs when `Desc*` ⊇ `DescribeC*` follows from the
    chain).

    Covering is transitive, so an edge B → A is implied when B already reaches A; the passes
    read only reachability (the condensation's classes and each class's ancestors), which
    implied edges do not change. The order only decides how much is skipped: rules with the
    fewest candidates (usually the broadest) first, and for each rule the candidates with
    the most candidates of their own (usually the narrowest coverers) first, so that the
    broader ones are reached through them."""
    reached: dict[int, set[int]] = {}
    for narrow in sorted(pools, key=lambda i: (len(pools[i]), i)):
        st = stmts[narrow]
        above: set[int] = set()
        for broad in sorted(pools[narrow], key=lambda i: (-len(pools.get(i, ())), i)):
            if broad in above:
                continue
            if covers(stmts[broad], st):
                graph.add_edge(broad, narrow)
                above.add(broad)
                known = reached.get(broad)
                above |= known if known is not None else nx.ancestors(graph, broad)
        reached[narrow] = above


def subsumption_graph(policy: Policy) -> nx.DiGraph:
    """Nodes are rule indexes (attribute ``rule``); an edge B → A means B covers A, for
    every such pair (the transitive closure of what the passes read).

    Edges join rules of the same policy only (policies are attached separately); rules that
    deny nothing are left out.
    """
    graph = _graph(policy).graph
    closed = nx.transitive_closure(graph, reflexive=None)
    closed.add_nodes_from(graph.nodes(data=True))
    return closed


@dataclass(frozen=True, slots=True)
class _Analysis:
    """What the passes read, built once per compiled policy."""

    graph: nx.DiGraph
    """B → A when B covers A (implied edges left out, ``_cover_edges``)."""
    dead: set[int]
    dag: nx.DiGraph
    """The condensation of ``graph``: a DAG of classes of rules covering each other."""
    members: dict[int, list[int]]
    """Each class's rule indexes in order."""


# The passes read the same analysis; build it once per compiled policy.
_GRAPHS: weakref.WeakKeyDictionary[Policy, _Analysis] = weakref.WeakKeyDictionary()


_DEAD: weakref.WeakKeyDictionary[Policy, tuple[set[int], dict[int, Undecided]]] = (
    weakref.WeakKeyDictionary()
)


def dead_rules(policy: Policy) -> set[int]:
    """Indexes of the rules that deny nothing (E0110), without the rest of the analysis:
    ``compile`` refuses them too, so this stays cheap. A rule with actions (not ``except``)
    denies nothing exactly when its conditions cannot hold, which its conditions alone
    decide: no trie is built unless some rule has ``except``."""
    return _dead_rules(policy)[0]


def undecided_dead_rules(policy: Policy) -> set[int]:
    """Indexes of the rules for which the engine could not decide whether they deny
    anything (past its budgets, or case folding off ASCII: N0110): neither refused nor
    called live."""
    return set(_dead_rules(policy)[1])


def _dead_rules(policy: Policy) -> tuple[set[int], dict[int, Undecided]]:
    cached = _DEAD.get(policy)
    if cached is not None:
        return cached
    found: set[int] = set()
    undecided: dict[int, Undecided] = {}
    verdicts: dict[tuple, tuple[bool | None, Undecided | None]] = {}
    exceptions = []
    for rule in policy.rules:
        if rule.not_actions:
            exceptions.append(rule.index)
            continue
        if rule.conditions not in verdicts:
            dnf = tuple(tuple(condition_atom(c) for c in conj) for conj in rule.conditions)
            verdicts[rule.conditions] = _denies_nothing(Stmt("", ("*",), False, None, dnf))
        verdict, why = verdicts[rule.conditions]
        if verdict:
            found.add(rule.index)
        elif verdict is None and why is not None:
            undecided[rule.index] = why
    if exceptions:
        stmts = _stmts(policy)
        more, unknown = _dead(policy, {i: stmts[i] for i in exceptions})
        found |= more
        undecided.update(unknown)
    _DEAD[policy] = (found, undecided)
    return found, undecided


def undecided_note(why: Undecided) -> tuple[str, str]:
    """N0110's message and help for what stopped the engine: the note blamed `*` and `?`
    in a `like` pattern whatever the cause, also when it was an ignorecase value with
    non-ASCII letters (`straße`), which no budget would decide."""
    head = "could not decide whether this rule denies anything: "
    if isinstance(why, Unfoldable):
        return (
            head + f"{why}",
            "the rule is compiled as written; the analysis decides case-insensitive matching "
            "(`ignorecase`, actions) exactly on ASCII only, as case foldings differ off it "
            "(`ß`, `ſ`, the Kelvin sign `K`) and RAM documents none",
        )
    if "automaton states" in str(why) or "product states" in str(why):
        return (
            head + f"the analysis engine ran past its budget ({why})",
            "the rule is compiled as written; a `*` followed by a long run of `?` in a "
            "`like` pattern is the usual cause (its automaton doubles with each `?`)",
        )
    return (
        head + f"the analysis engine ran past its budget ({why})",
        "the rule is compiled as written; its conditions have more combinations of values "
        "than the search's budget",
    )


def _graph(policy: Policy) -> _Analysis:
    found = _GRAPHS.get(policy)
    if found is None:
        # The collector's full passes began once the analysis outgrew a quarter of the heap:
        # nothing at 1,000 ECS globs, a third of the analysis at 4,000 (``collector``).
        with collector.paused():
            graph, dead = _analysis(policy)
            # Both passes read the classes: one condensation, not one each.
            dag = nx.condensation(graph)
            members = {c: sorted(dag.nodes[c]["members"]) for c in dag.nodes}
        found = _GRAPHS[policy] = _Analysis(graph, dead, dag, members)
    return found


# ------------------------------------------------------------------------------ passes


def check_dead(policy: Policy, catalog: Catalog | None = None) -> list[Diagnostic]:
    """E0110 for each rule that denies nothing; N0110, a note, for each rule the engine
    could not decide. A note, not an error: the rule may well deny requests, and refusing
    it (compile stops on E0110) would block a valid rule on a limit of the analysis (an
    error is for a fault in the input, DESIGN.md). Not a warning either: ``check --strict``
    fails CI on warnings, and W01xx say "probably not what you meant", which nothing here
    shows; the note says, at the rule, that this one question was left open."""
    dead, undecided = _dead_rules(policy)
    notes = []
    for rule in policy.rules:
        if rule.index in undecided:
            message, help_text = undecided_note(undecided[rule.index])
            notes.append(
                Diagnostic(
                    "N0110",
                    Severity.NOTE,
                    message,
                    rule.span,
                    help_text,
                    policy.sources.get(rule.span.file),
                )
            )
    return notes + [
        Diagnostic(
            "E0110",
            Severity.ERROR,
            "rule denies nothing: no request — any action, resource or condition value — "
            "matches it",
            rule.span,
            "its conditions can never hold together (or its exceptions cover every action); "
            "fix or delete it",
            # The source draws the rule under the message, as every other error does.
            policy.sources.get(rule.span.file),
        )
        for rule in policy.rules
        if rule.index in dead
    ]


def check_duplicates(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    found = _graph(policy)
    graph, members = found.graph, found.members
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
    found = _graph(policy)
    graph, dag, members = found.graph, found.dag, found.members
    # The broadest coverers of a class are the classes above it with nothing above them;
    # ties go to the rule written first. One pass in topological order carries each class's
    # best root down (collecting every class's ancestors was as large as the covering pairs,
    # issue 16 F7).
    best: dict[int, int] = {}
    for cls in nx.topological_sort(dag):
        preds = list(dag.predecessors(cls))
        best[cls] = min(best[p] for p in preds) if preds else members[cls][0]
    out: list[Diagnostic] = []
    for cls in sorted(dag.nodes, key=lambda c: members[c][0]):
        if dag.in_degree(cls) == 0:
            continue
        broadest = graph.nodes[best[cls]]["rule"]
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
