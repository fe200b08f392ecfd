"""Exact equivalence of two deny deciders over every request, with the shortest witness.

A decider is a list of deny statements (action patterns or NotAction exceptions, resource
patterns or any, a condition in DNF whose atoms each test one key) plus its own ``decide``.
``from_trie`` reads the patterns back from the built ``DecisionTrie`` (so a trie-construction
bug shows) and tests conditions with the trie's own compiled tests; ``from_documents`` reads
RAM documents through the independent evaluator's parse and tests with its ``KeyTest``.

The request space is a finite product, so the search is exhaustive:
1. actions: ``globsets.classes`` over every action pattern of both sides (case-folded) gives
   every way all strings can be matched, each with its shortest string — the statements active
   on a class follow; likewise resources (case-sensitive);
2. per pair of active statement sets, conditions: each key's values fall into the regions of
   ``regions.representatives``; each atom becomes its truth vector over them (evaluated by its
   own engine), so atoms that agree everywhere are the same atom. Equal residual formulas are
   equal; otherwise a search assigns keys (absent first), pruning when both sides are
   decided or their formulas coincide, deepening on the number of present keys so the witness
   has the fewest keys.
Every witness is confirmed by running both deciders' real ``decide`` on it; one that is not
confirmed makes the answer "unknown", never a difference or an equality. Past the budgets the
answer is "unknown".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from compiler.analysis import collector
from compiler.analysis.globsets import Dfa, Undecided, Unfoldable, classes, classes_of
from compiler.analysis.regions import ABSENT, representatives
from compiler.model.resolve_resources import request_arn_problem
from compiler.ram.glob import GlobPattern

AtomTest = Callable[[object], bool]
Formula = frozenset[frozenset[tuple[str, tuple[bool, ...]]]]


ACTION_SHAPE = "?*:?*"
"""Every action a request can name, as a pattern: RAM evaluates ``<ram-code>:<action-name>``
(``shared/reference/ram-policy-facts.md``) and ``decide`` refuses an action with no colon. A
class of strings outside it is no request: counting one, prove printed ``ramguard decide ''``
(``""`` is the shortest string outside ``ecs:*``) and ``*`` against ``*:*`` was a difference
only strings without a colon have."""


def action_shaped(text: str) -> bool:
    """Whether ``text`` matches ``ACTION_SHAPE``: a colon with a character either side."""
    return ":" in text[1:-1]


def action_automaton(
    act_pats: Sequence[str], budget: int
) -> tuple[Dfa, list[tuple[frozenset[int], str]]]:
    """The (case-folded) automaton of ``act_pats`` and its classes over the strings a
    request can name, each with a string of that shape (its shortest, when the shortest has
    it). A class whose shortest string has no colon (``""``, matched by no pattern, is one
    in nearly every proof) gets one of a few action-shaped strings that the automaton puts in
    the same class; only when none is, is the automaton built again with ``ACTION_SHAPE`` as
    one more pattern (more states) and the classes it does not accept dropped. ``dfa.run``
    of the second may give that pattern's id, ``len(act_pats)``: callers ignore it."""
    dfa = Dfa(act_pats, fold=True, budget=budget)
    found = classes_of(dfa)
    shaped: list[tuple[frozenset[int], str]] = []
    for acc, text in found:
        if not action_shaped(text):
            text = next((c for c in _shaped_candidates(text) if dfa.run(c) == acc), "")
            if not text:
                break
        shaped.append((acc, text))
    else:
        return dfa, shaped
    shape = len(act_pats)
    dfa = Dfa([*act_pats, ACTION_SHAPE], fold=True, budget=budget)
    return dfa, [(acc - {shape}, text) for acc, text in classes_of(dfa) if shape in acc]


def _shaped_candidates(text: str) -> list[str]:
    return [
        c for c in ("x:Y", f"{text}:Y", f"x:{text}", f"{text}Y", f"x{text}") if action_shaped(c)
    ]


@dataclass(frozen=True, slots=True)
class Atom:
    key: str
    """As written; compared case-insensitively (RAM condition keys are)."""
    operator: str
    values: tuple[str, ...]
    test: AtomTest = field(compare=False)
    """True when the condition holds for this key's value (``ABSENT``: the key is absent)."""


@dataclass(frozen=True, slots=True)
class Stmt:
    label: str
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[str, ...] | None
    """None: any resource."""
    dnf: tuple[tuple[Atom, ...], ...]
    """``((),)``: unconditional."""
    text: str = field(default="", compare=False)
    """What a report shows: the rule's source text, or the statement as the engine read it."""


@dataclass(frozen=True, slots=True)
class Decider:
    name: str
    stmts: tuple[Stmt, ...]
    denies: Callable[[str, str | None, dict], bool] = field(compare=False)


@dataclass(frozen=True, slots=True)
class Witness:
    action: str
    resource: str | None
    context: dict[str, str]
    a_denies: bool
    b_denies: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    """``equal`` (proved), ``different`` (``witness`` set, confirmed) or ``unknown``."""
    witness: Witness | None = None
    reason: str = ""
    action_classes: int = 0
    unfoldable: bool = False
    """``unknown`` because of case folding off ASCII (``Unfoldable``), not a budget."""


def condition_atom(cond) -> Atom:
    """A rule's condition (``model.ir.Condition``) as an atom tested by the trie's own
    compiled test."""
    from compiler.model.conditions import compile_condition

    test = compile_condition(cond)
    key = cond.key

    def holds(value: object, test=test, key=key) -> bool:
        return bool(test({} if value is ABSENT else {key: value}))

    return Atom(cond.key, cond.operator, tuple(cond.values), holds)


def from_trie(name: str, trie) -> Decider:
    with collector.paused():
        return _from_trie(name, trie)


def _from_trie(name: str, trie) -> Decider:
    atom = condition_atom
    back = trie.read_back()
    stmts = []
    for rule in trie.rules:
        actions, resources = back[rule.index]
        stmts.append(
            Stmt(
                f"{rule.file}:{rule.line}",
                actions,
                rule.not_actions,
                None if "*" in resources else resources,
                tuple(tuple(atom(c) for c in conj) for conj in rule.conditions),
                rule.text,
            )
        )
    return Decider(name, tuple(stmts), lambda a, r, c: trie.decide(a, c, r).denied)


def from_documents(name: str, evaluator, effect: str = "Deny") -> Decider:
    """The documents' ``effect`` statements (Deny; ``Allow`` for a control policy's allow
    list, where "denies" reads "an Allow statement matches")."""
    with collector.paused():
        return _from_documents(name, evaluator, effect)


def _from_documents(name: str, evaluator, effect: str) -> Decider:
    def atom(kt) -> Atom:
        low = kt.key.lower()
        return Atom(
            kt.key,
            kt.operator,
            tuple(map(_listed, kt.values)),
            lambda value, kt=kt, low=low: kt.matches({} if value is ABSENT else {low: value}),
        )

    stmts = []
    for doc in evaluator.documents:
        for st in doc.statements:
            if st.effect != effect:
                continue
            res = getattr(st, "resources", None)
            tests = st.condition.tests if st.condition is not None else ()
            stmts.append(
                Stmt(
                    f"{doc.name}#{st.index}",
                    tuple(st.actions),
                    st.not_action,
                    None if res is None or "*" in res else tuple(res),
                    (tuple(atom(t) for t in tests),),
                    _statement_text(st, tests),
                )
            )

    def denies(action: str, resource: str | None, ctx: dict) -> bool:
        if effect != "Deny":
            found = evaluator.evaluate(action, ctx, resource=resource).matched
            return any(ref.effect == effect for ref in found)
        return evaluator.decide(action, ctx, resource=resource) == "deny"

    return Decider(name, tuple(stmts), denies)


def _listed(value: object) -> str:
    """A value the evaluator parsed, as the document listed it: a ``StringLike`` pattern is
    a ``GlobPattern``, whose ``str`` is its repr (``GlobPattern(source='a*', …)``) — taken
    as the pattern, it cut the key's regions at the wrong strings, and ``diff`` of two
    documents with `a*` and `ab*` said "equivalent (proved)"."""
    return value.source if isinstance(value, GlobPattern) else str(value)


def _statement_text(st, tests) -> str:
    """A document statement in one line, from the evaluator's parse (values JSON-encoded)."""
    import json

    parts = [("NotAction " if st.not_action else "Action ") + json.dumps(list(st.actions))]
    res = getattr(st, "resources", ("*",))
    if tuple(res) != ("*",):
        parts.append("Resource " + json.dumps(list(res)))
    for t in tests:
        parts.append(f"{t.operator} {t.key} " + json.dumps(list(map(_listed, t.values))))
    return "; ".join(parts)


def statement_decider(name: str, stmts: Sequence[Stmt]) -> Decider:
    """Statements decided by their own reading — linear-time globs (``glob_match``), each
    atom's own test — for questions about the statements themselves (is a rule covered by
    another, does it deny anything), where no other engine holds them one by one."""
    from compiler.model.glob import glob_match

    def denies(action: str, resource: str | None, ctx: dict) -> bool:
        low = {k.lower(): v for k, v in ctx.items()}
        for st in stmts:
            if any(glob_match(p, action) for p in st.actions) == st.not_actions:
                continue
            if st.resources is not None and not (
                resource is not None
                and any(glob_match(p, resource, ignore_case=False) for p in st.resources)
            ):
                continue
            if any(all(a.test(low.get(a.key.lower(), ABSENT)) for a in conj) for conj in st.dnf):
                return True
        return False

    return Decider(name, tuple(stmts), denies)


def request_resource(
    a: Decider, b: Decider, action: str, resource: str | None, ctx: dict
) -> str | None:
    """``resource`` as the resource of a request a user can pass to ``decide --resource``:
    itself when it is an ARN (``request_arn_problem``), else the same answers of ``a`` and
    ``b`` on a request that is one — no resource at all, else the string with its empty
    service and resource parts filled in — each confirmed by both deciders' ``denies``.
    A resource class's shortest string is often none: ``""`` (outside every pattern) or
    ``acs:ecs:::`` (inside ``acs:ecs:*:*:*``), and the repro line printed it as
    ``--resource ''``, which ``decide`` refuses. Itself when no candidate decides alike."""
    if resource is None or request_arn_problem(resource) is None:
        return resource
    want = (a.denies(action, resource, ctx), b.denies(action, resource, ctx))
    candidates: list[str | None] = [None]
    fields = resource.split(":", 4)
    if len(fields) == 5 and fields[0] == "acs":
        code = action.split(":", 1)[0].lower() or "x"
        filled = [fields[0], fields[1] or code, fields[2], fields[3], fields[4] or "x"]
        candidates.append(":".join(filled))
    for candidate in candidates:
        if candidate is not None and request_arn_problem(candidate) is not None:
            continue
        if (a.denies(action, candidate, ctx), b.denies(action, candidate, ctx)) == want:
            return candidate
    return resource


def readable_action(a: Decider, b: Decider, action: str, resource: str | None, ctx: dict) -> str:
    """``action`` (action-shaped, but the automaton's: ``~:~``) as one a user reads, outside
    every catalog: ``x:Y``, or ``action`` with its stand-in characters made ``x``, the first
    that both deciders' ``denies`` answer as they answer ``action``; else ``action``."""
    want = (a.denies(action, resource, ctx), b.denies(action, resource, ctx))
    for candidate in ("x:Y", action.replace("~", "x")):
        if candidate == action or not action_shaped(candidate):
            continue
        if (a.denies(candidate, resource, ctx), b.denies(candidate, resource, ctx)) == want:
            return candidate
    return action


def polished(
    a: Decider, b: Decider, w: Witness, actions: Iterable[str], state_budget: int = 200_000
) -> Witness:
    """The same difference on a request a user would write, each change confirmed by both
    deciders' own ``denies`` (else the engine's witness stays): the resource left out when
    that changes neither answer (``""`` is the shortest string but no ARN), and the action
    the shortest of ``actions`` (catalog actions) under the witness's RAM code decided as the
    witness is (``ecs:`` is the shortest string of ``ecs:*``, but no operation), else the
    shortest catalog action of any code that the patterns put in the witness's class, else
    ``readable_action`` (``x:Y``, in no catalog)."""
    want = (w.a_denies, w.b_denies)
    ctx = w.context

    def same(action: str, resource: str | None) -> bool:
        return (a.denies(action, resource, ctx), b.denies(action, resource, ctx)) == want

    resource = w.resource
    if resource is not None and same(w.action, None):
        resource = None
    actions = list(actions)
    code = w.action.split(":", 1)[0].lower() + ":"
    found = sorted(
        (x for x in actions if x.lower().startswith(code)), key=lambda x: (len(x), x.lower(), x)
    )
    action = next((x for x in found if same(x, resource)), None)
    if action is None:
        # Any code: the catalog actions the patterns class with the witness (one pass of
        # the automaton each, as diff counts catalog actions), shortest first.
        try:
            dfa = Dfa(patterns_by_owner([*a.stmts, *b.stmts])[0], fold=True, budget=state_budget)
            target = dfa.run(w.action)
            pool = sorted(
                (x for x in actions if dfa.run(x) == target), key=lambda x: (len(x), x.lower(), x)
            )
        except Undecided:
            pool = []
        action = next((x for x in pool if same(x, resource)), None)
    if action is None:
        action = readable_action(a, b, w.action, resource, ctx)
    return Witness(action, resource, ctx, *want)


class ConditionSearch:
    def __init__(self, stmts: Sequence[Stmt], node_budget: int) -> None:
        by_key: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        self.spelling: dict[str, str] = {}
        for st in stmts:
            for conj in st.dnf:
                for a in conj:
                    low = a.key.lower()
                    by_key.setdefault(low, []).append((a.operator, a.values))
                    self.spelling.setdefault(low, a.key)
        self.reps = {k: representatives(v) for k, v in sorted(by_key.items())}
        self.budget = node_budget
        self.nodes = 0
        self._conjs: dict[int, tuple[Stmt, frozenset[frozenset[tuple[str, tuple[bool, ...]]]]]] = {}
        """Statement id → (the statement, its conjunctions as truth vectors): ``formula`` is
        asked for each set of statements active on an action class, thousands of sets over
        the same statements, and testing every atom on every representative each time was
        most of proving 10,000 rules once the action classes were fast. The statement is
        kept with its entry, so an id is never reused for another while the entry lives."""

    def _conjunctions(self, st: Stmt) -> frozenset[frozenset[tuple[str, tuple[bool, ...]]]]:
        got = self._conjs.get(id(st))
        if got is not None and got[0] is st:
            return got[1]
        conjs = set()
        for conj in st.dnf:
            atoms = set()
            for a in conj:
                low = a.key.lower()
                vec = tuple(a.test(r) for r in self.reps[low])
                if not any(vec):
                    break  # the conjunction never holds
                if not all(vec):
                    atoms.add((low, vec))
            else:
                conjs.add(frozenset(atoms))
        found = frozenset(conjs)
        self._conjs[id(st)] = (st, found)
        return found

    def formula(self, stmts: Sequence[Stmt]) -> Formula:
        return frozenset().union(*map(self._conjunctions, stmts))

    @staticmethod
    def _const(f: Formula) -> bool | None:
        if frozenset() in f:
            return True
        return False if not f else None

    @staticmethod
    def _restrict(f: Formula, key: str, ri: int) -> Formula:
        out = set()
        for conj in f:
            keep = set()
            ok = True
            for low, vec in conj:
                if low == key:
                    if not vec[ri]:
                        ok = False
                        break
                else:
                    keep.add((low, vec))
            if ok:
                out.add(frozenset(keep))
        if frozenset() in out:
            return frozenset({frozenset()})
        return frozenset(out)

    def find(
        self, fa: Formula, fb: Formula, limit: int, want: tuple[bool, bool] | None = None
    ) -> dict[str, object] | None:
        """Values for some keys under which ``fa`` and ``fb`` differ (``want``: with these
        truth values), the other keys absent; None when there are none within ``limit``
        present keys."""
        self.nodes += 1
        if self.nodes > self.budget:
            raise Undecided(f"more than {self.budget} condition search steps")
        ca, cb = self._const(fa), self._const(fb)
        if ca is not None and cb is not None:
            hit = ca != cb if want is None else (ca, cb) == want
            return {} if hit else None
        if fa == fb:
            return None
        if want is not None and (
            (ca is not None and ca != want[0]) or (cb is not None and cb != want[1])
        ):
            return None
        keys = {low for conj in fa ^ fb for low, _ in conj} or {
            low for conj in fa | fb for low, _ in conj
        }
        key = min(keys, key=lambda k: (len(self.reps[k]), k))
        for ri, rep in enumerate(self.reps[key]):
            if rep is not ABSENT and limit <= 0:
                break
            got = self.find(
                self._restrict(fa, key, ri),
                self._restrict(fb, key, ri),
                limit - (rep is not ABSENT),
                want,
            )
            if got is not None:
                if rep is not ABSENT:
                    got[key] = rep
                return got
        return None

    def witness(
        self, fa: Formula, fb: Formula, want: tuple[bool, bool] | None = None
    ) -> dict[str, str] | None:
        if fa == fb:
            return None
        found = self.find(fa, fb, 1 << 30, want)
        if found is None:
            return None
        for k in range(len(found)):  # deepen: the fewest present keys
            smaller = self.find(fa, fb, k, want)
            if smaller is not None:
                found = smaller
                break
        return {self.spelling[k]: str(v) for k, v in sorted(found.items())}


def patterns_by_owner(
    stmts: Sequence[Stmt],
) -> tuple[list[str], list[int], list[str], list[int]]:
    """Every action and resource pattern with the index of the statement it came from:
    (action patterns, their owners, resource patterns, their owners)."""
    act_pats: list[str] = []
    act_owner: list[int] = []
    res_pats: list[str] = []
    res_owner: list[int] = []
    for i, st in enumerate(stmts):
        for p in st.actions:
            act_pats.append(p)
            act_owner.append(i)
        for p in st.resources or ():
            res_pats.append(p)
            res_owner.append(i)
    return act_pats, act_owner, res_pats, res_owner


def compare(
    a: Decider,
    b: Decider,
    *,
    want: tuple[bool, bool] | None = None,
    state_budget: int = 200_000,
    node_budget: int = 2_000_000,
) -> Verdict:
    """Is some request denied by one of ``a`` and ``b`` and not the other? With ``want``
    (a denies, b denies), only a request decided that way counts: ``want=(True, False)``
    asks whether ``b`` fails to cover ``a`` ("equal" then means ``b`` covers ``a``)."""
    with collector.paused():
        return _compare(a, b, want, state_budget, node_budget)


def _compare(
    a: Decider,
    b: Decider,
    want: tuple[bool, bool] | None,
    state_budget: int,
    node_budget: int,
) -> Verdict:
    stmts = [*a.stmts, *b.stmts]
    side = [0] * len(a.stmts) + [1] * len(b.stmts)
    act_pats, act_owner, res_pats, res_owner = patterns_by_owner(stmts)
    try:
        _, act_classes = action_automaton(act_pats, state_budget)
        res_classes = (
            classes(res_pats, fold=False, budget=state_budget)
            if res_pats
            else [(frozenset(), None)]
        )
        search = ConditionSearch(stmts, node_budget)
        seen: set[tuple[frozenset[int], frozenset[int]]] = set()
        # A NotAction statement is active exactly where none of its exceptions match.
        negated = {i for i, st in enumerate(stmts) if st.not_actions}
        for acc, action in act_classes:
            on_action = sorted({act_owner[p] for p in acc} ^ negated)
            for racc, resource in res_classes:
                rhit = {res_owner[p] for p in racc}
                active = [i for i in on_action if stmts[i].resources is None or i in rhit]
                ka = frozenset(i for i in active if side[i] == 0)
                kb = frozenset(i for i in active if side[i] == 1)
                if (ka, kb) in seen:
                    continue
                seen.add((ka, kb))
                fa = search.formula([stmts[i] for i in sorted(ka)])
                fb = search.formula([stmts[i] for i in sorted(kb)])
                ctx = search.witness(fa, fb, want)
                if ctx is None:
                    continue
                da, db = a.denies(action, resource, ctx), b.denies(action, resource, ctx)
                w = Witness(action, resource, ctx, da, db)
                if da == db or (want is not None and (da, db) != want):
                    return Verdict("unknown", w, "the deciders agree on the engine's witness")
                resource = request_resource(a, b, action, resource, ctx)
                w = Witness(action, resource, ctx, da, db)
                return Verdict("different", w, action_classes=len(act_classes))
    except Undecided as exc:
        return Verdict("unknown", reason=str(exc), unfoldable=isinstance(exc, Unfoldable))
    return Verdict("equal", action_classes=len(act_classes))
