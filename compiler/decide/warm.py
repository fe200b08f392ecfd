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

What was tried and measured against these (100 rules, 2,000 requests, one process, CPU
time, best of 21-41 interleaved rounds, load 4-5; issue 15 item 3), so that nobody chases
it again:

- The 3x target for the 100-rule mix is below what any closure of this kind reads: one
  that skips every check (subscript, None test, the warm tuple, one ``context.get``, one
  memo get; unsafe) read 3.5x ``dict.get`` on all requests, where this one read 4.2x in
  the same rounds; fixed answers alone cost 2.0-2.6x here and 1.7-2.3x through
  ``free_decider``. The 323 conditional requests cost 3-4x a fixed one: each reads its
  context dict (one of 2,000, cold) and a memo.
- ``return hot[action] or conditional(...)`` with the conditional path in a function of
  its own: fixed answers 11% cheaper, conditional ones one call dearer; the mix unchanged
  (265 vs 268 us for the 2,000), the conditional requests alone slower (459 -> 542 ns
  each).
- ``if known:`` (a Decision is true) for ``known is not None``: no difference. Leaving
  conditional actions out of ``hot`` to catch the KeyError: a raise costs ~500 ns.
- ``Policy.decide``: the checked closure without the key test below reads 1.00-1.05x the
  unchecked one on conditional requests; the test (one C ``issuperset`` over the
  context's 5-6 keys) is the whole of the 1.4-1.6x. ``context.keys() <= SPELLED_AS_RAM``
  is slower; ``context is not None`` for ``context`` changed nothing measurable.
- Testing only the keys the decision reads, in place of every key of the context, is not
  open to ``Policy.decide``: a misspelt key is refused whether or not a rule reads it
  (``{"acs:MFAPresent": "false", "sorce_ip": "x"}`` on a rule testing only mfa raises
  KeyError "unknown key `sorce_ip`", as does ``acs:Foo``; ``acs:mfapresent`` next to
  ``acs:MFAPresent`` is "given twice"), so every key is looked at on a conditional request.
- Building a leaf's memo by values and its warm entry on the action's second sighting, not
  its first (``DecisionTrie._built``, for the first-sighting growth row) leaves these rows
  where they were: in the same A/B (base and new processes alternated, 24 rounds each, CPU
  time, load 1.8-2.3) the warm row read 4.66x (4.04-5.80) on base and 4.41x (4.09-11.2)
  after, ``Policy.decide`` on conditional requests 1.44x (1.04-1.61) and 1.50x (1.36-1.70).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compiler.model.glob import MAX_ACTION
from compiler.model.keys import SPELLED_AS_RAM

Slow = Callable[[str, Any, Any], Any]


def too_long(action: str) -> ValueError:
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
# The context is read as far as the decision reads it, no further. A fixed answer (no rule
# covering the action reads the context) is returned without looking at the context at all:
# no value there can be read differently by the trie and the RAM evaluator, which is what the
# check is for. A conditional action's context must have its keys spelled as RAM keys (one C
# set test: a key in another spelling would read as absent and silently turn a condition
# off) and the values its conditions test must be strings or absent; anything else — a key
# in another spelling or two, a bool, an explicit None, a bad value — goes to ``slow``
# (``DecisionTrie._decide_checked``), which spells the keys, converts or refuses the values
# the decision reads (``compiler.model.keys.checked_context``) and decides. Checking every key
# and value on every call cost 4.5-4.9x the decision (issue 15: within 1.3x). An action over
# MAX_ACTION is never remembered, so every call for one reaches ``slow``, which refuses it.

_spelled = SPELLED_AS_RAM.issuperset


def free_checked_decider(hot: dict, slow: Slow) -> Callable[..., Any]:
    """No rule reads the context: ``free_decider``, with ``slow`` refusing long actions."""
    return free_decider(hot, slow)


def conditional_checked_decider(hot: dict, warm: dict, slow: Slow) -> Callable[..., Any]:
    def decide_checked(
        action: str, context: Mapping[str, object] | None = None, resource: str | None = None
    ):
        try:
            known = hot[action]
        except KeyError:
            return slow(action, context, resource)
        if known is not None:
            return known
        if context and _spelled(context):
            k0, k1, memo_get = warm[action]
            v0 = context.get(k0)
            # None: absent, unless given as None (refused on the slow path). No bools: a
            # checked value is a string, and bools are converted there.
            if type(v0) is str or (v0 is None and k0 not in context):
                if k1 is None:
                    decision = memo_get(v0)
                else:
                    v1 = context.get(k1)
                    decision = (
                        memo_get((v0, v1))
                        if type(v1) is str or (v1 is None and k1 not in context)
                        else None
                    )
                if decision is not None:
                    return decision
        return slow(action, context, resource)

    return decide_checked
