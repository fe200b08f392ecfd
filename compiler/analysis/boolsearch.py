"""Is there a request on which a boolean function of several statement groups holds? Exactly.

``prove.compare`` asks one question of two statement sets (does one match where the other
does not); a Resource Directory chain asks others — "some node denies or fails to allow,
while the request is on the admin path" is ``admin ∧ ⋁ₙ (Dₙ ∨ ¬Aₙ)`` over one group of
statements per node part. This module answers any such question over the same finite
request space ``prove`` walks (see its docstring): the action classes of every group's
patterns (case-folded), the resource classes, and per class each condition key's regions.

``holds`` gets each group's truth as ``True``, ``False`` or ``None`` (not decided yet) and
answers in the same three values (Kleene logic: ``and3``/``or3``/``not3``), so the condition
search stops as soon as the answer is known. The request found has the shortest action
string of its class and the fewest present condition keys (deepening, as ``prove`` does);
the caller confirms it with the real engines. Past the budgets: ``Undecided``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compiler.analysis.globsets import Undecided, classes
from compiler.analysis.prove import (
    ConditionSearch,
    Formula,
    Stmt,
    action_automaton,
    patterns_by_owner,
)
from compiler.analysis.regions import ABSENT

Truth = bool | None
Holds = Callable[[tuple[Truth, ...]], Truth]


def and3(*xs: Truth) -> Truth:
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def or3(*xs: Truth) -> Truth:
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def not3(x: Truth) -> Truth:
    return None if x is None else not x


@dataclass(frozen=True, slots=True)
class Found:
    action: str
    resource: str | None
    context: dict[str, str]
    truths: tuple[bool, ...]
    """Each group's answer on the request, as the engine read it."""


def find_request(
    groups: Sequence[Sequence[Stmt]],
    holds: Holds,
    *,
    state_budget: int = 200_000,
    node_budget: int = 2_000_000,
) -> Found | None:
    """A request on which ``holds`` is true, or None when there is none (proved); raises
    ``Undecided`` past the budgets (or on a pattern that cannot be folded exactly)."""
    stmts = [st for group in groups for st in group]
    owner_group = [g for g, group in enumerate(groups) for _ in group]
    act_pats, act_owner, res_pats, res_owner = patterns_by_owner(stmts)
    _, act_classes = action_automaton(act_pats, state_budget)
    res_classes = (
        classes(res_pats, fold=False, budget=state_budget) if res_pats else [(frozenset(), None)]
    )
    search = ConditionSearch(stmts, node_budget)
    negated = {i for i, st in enumerate(stmts) if st.not_actions}
    seen: set[tuple[frozenset[int], ...]] = set()
    for acc, action in act_classes:
        on_action = sorted({act_owner[p] for p in acc} ^ negated)
        for racc, resource in res_classes:
            rhit = {res_owner[p] for p in racc}
            active = [i for i in on_action if stmts[i].resources is None or i in rhit]
            key = tuple(
                frozenset(i for i in active if owner_group[i] == g) for g in range(len(groups))
            )
            if key in seen:
                continue
            seen.add(key)
            formulas = [search.formula([stmts[i] for i in sorted(part)]) for part in key]
            found = _satisfy(search, formulas, holds, 1 << 30)
            if found is None:
                continue
            for k in range(len(found)):  # deepen: the fewest present keys
                smaller = _satisfy(search, formulas, holds, k)
                if smaller is not None:
                    found = smaller
                    break
            context = {search.spelling[k]: str(v) for k, v in sorted(found.items())}
            truths = tuple(_value(f, found, search) for f in formulas)
            return Found(action, resource, context, truths)
    return None


def _satisfy(
    search: ConditionSearch, formulas: list[Formula], holds: Holds, limit: int
) -> dict[str, object] | None:
    """Values for some keys (the others absent) under which ``holds`` is true."""
    search.nodes += 1
    if search.nodes > search.budget:
        raise Undecided(f"more than {search.budget} condition search steps")
    consts = tuple(ConditionSearch._const(f) for f in formulas)
    answer = holds(consts)
    if answer is not None:
        return {} if answer else None
    keys = {
        low
        for f, c in zip(formulas, consts, strict=True)
        if c is None
        for conj in f
        for low, _ in conj
    }
    key = min(keys, key=lambda k: (len(search.reps[k]), k))
    for ri, rep in enumerate(search.reps[key]):
        if rep is not ABSENT and limit <= 0:
            break
        restricted = [ConditionSearch._restrict(f, key, ri) for f in formulas]
        got = _satisfy(search, restricted, holds, limit - (rep is not ABSENT))
        if got is not None:
            if rep is not ABSENT:
                got[key] = rep
            return got
    return None


def _value(f: Formula, found: dict[str, object], search: ConditionSearch) -> bool:
    """``f``'s truth with ``found``'s keys set and every other key absent."""
    for key, reps in search.reps.items():
        f = ConditionSearch._restrict(f, key, reps.index(found.get(key, ABSENT)))
    return ConditionSearch._const(f) is True
