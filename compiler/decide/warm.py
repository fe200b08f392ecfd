"""The closures ``DecisionTrie.decider`` returns: the warm path of every decision.

Each reads the trie's ``_hot`` dict (action → its Decision, or None for a conditional leaf,
whose warm tuple ``(first key, second key or None, memo.get)`` is in ``warm``, the trie's
``_warm``) and hands everything it cannot answer to
``slow`` (``DecisionTrie._decide_leaf``), which remembers what it finds. They are written out
one by one — unchecked and checked (``Policy.decide``), for rule sets that read the context
or the resource and for those that do not — because at this scale every branch shows: a
Python call costs about what a ``dict.get`` does (issue 15: a warm decision at most 2x
``dict.get``, 3x with conditions).

Why the shapes that look odd are so, measured on CPython 3.11 (``bench_ratios``):

- ``hot[action]`` inside ``try`` rather than ``hot.get(action)``: the subscript of an exact
  dict is specialised by the interpreter, and a ``try`` costs nothing until it raises; only a
  first sighting (once per action and generation, already ~1 µs) pays for the KeyError.
- ``type(v) is str`` rather than ``v.__class__ is str``: the specialised call is cheaper than
  the attribute, and an object cannot lie about its ``type`` as it can about ``__class__``
  (a proxy answering ``str`` must not be looked up in a memo keyed by strings).
- A conditional action is None in ``hot``, its tuple in ``warm``: a fixed Decision is then
  told apart by a pointer test, without reading the object it points to (a type test on a
  tuple stored in ``hot`` made the whole 100-rule workload 13% slower: most requests are
  fixed answers). A rule set that reads no context (the seed) has no conditional leaves
  and its closure skips even that test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compiler.model.glob import MAX_ACTION
from compiler.model.keys import SPELLED_AS_RAM, checked_context, normalise_context

Slow = Callable[[str, Any, Any], Any]


def _too_long(action: str) -> ValueError:
    return ValueError(
        f"the action is {len(action):,} characters; no API is so long (at most {MAX_ACTION})"
    )


def free_decider(hot: dict, slow: Slow) -> Callable[..., Any]:
    """No rule reads the context or the resource: the answer is the action's alone."""

    def decide(
        action: str, context: Mapping[str, object] | None = None, resource: str | None = None
    ):
        try:
            return hot[action]
        except KeyError:
            return slow(action, context, resource)

    return decide


def conditional_decider(hot: dict, warm: dict, slow: Slow) -> Callable[..., Any]:
    def decide(
        action: str, context: Mapping[str, object] | None = None, resource: str | None = None
    ):
        try:
            known = hot[action]
        except KeyError:
            return slow(action, context, resource)
        if known is not None:
            return known
        if context is not None:
            k0, k1, memo_get = warm[action]
            v0 = context.get(k0)
            kind = type(v0)
            if kind is str or v0 is None or kind is bool:
                if k1 is None:
                    decision = memo_get(v0)
                else:
                    v1 = context.get(k1)
                    kind = type(v1)
                    decision = (
                        memo_get((v0, v1)) if kind is str or v1 is None or kind is bool else None
                    )
                if decision is not None:
                    return decision
        return slow(action, context, resource)

    return decide


# --- checked: ``Policy.decide`` ------------------------------------------------------------
# The context is checked first, every call, whatever the memo holds (the contract refuses a
# bad value even for an action whose answer needs no context): a context already in the
# trie's form (keys spelled as RAM keys, every value a str) passes with one set test and one
# loop; anything else goes through ``checked_context`` (or straight to ``normalise_context``
# when the keys are known spelled and a value is not a str), which converts or raises. An action
# over MAX_ACTION is never remembered, so every call for one reaches the check on the miss
# path (one len, off the warm path: issue 16).

_spelled = SPELLED_AS_RAM.issuperset


def free_checked_decider(hot: dict, slow: Slow) -> Callable[..., Any]:
    def decide_checked(
        action: str, context: Mapping[str, object] | None = None, resource: str | None = None
    ):
        if context:
            if _spelled(context):
                # A loop, not "".join(values): on the CPython we measure with, joining
                # copies the values into a list and a string first and costs twice this.
                for value in context.values():
                    if type(value) is not str:
                        context = normalise_context(context, convert=True)
                        break
            else:
                context = checked_context(context)
        try:
            return hot[action]
        except KeyError:
            pass
        if len(action) > MAX_ACTION:
            raise _too_long(action)
        return slow(action, context, resource)

    return decide_checked


def conditional_checked_decider(hot: dict, warm: dict, slow: Slow) -> Callable[..., Any]:
    def decide_checked(
        action: str, context: Mapping[str, object] | None = None, resource: str | None = None
    ):
        if context:
            if _spelled(context):
                for value in context.values():
                    if type(value) is not str:
                        context = normalise_context(context, convert=True)
                        break
            else:
                context = checked_context(context)
        # From here on, ``conditional_decider``'s body (checked values are strings: no bools).
        try:
            known = hot[action]
        except KeyError:
            if len(action) > MAX_ACTION:
                raise _too_long(action) from None
            return slow(action, context, resource)
        if known is not None:
            return known
        if context is not None:
            k0, k1, memo_get = warm[action]
            v0 = context.get(k0)
            if type(v0) is str or v0 is None:
                if k1 is None:
                    decision = memo_get(v0)
                else:
                    v1 = context.get(k1)
                    decision = memo_get((v0, v1)) if type(v1) is str or v1 is None else None
                if decision is not None:
                    return decision
        return slow(action, context, resource)

    return decide_checked
