"""The regions of a string key when some of its conditions ignore case, exactly.

A key's string conditions tell its values apart by: which ``StringLike`` patterns match
(case-sensitive), which ``StringEquals`` values are equal, and which ``…IgnoreCase`` values
are equal once both sides are folded. The first two are one automaton (``globsets.Dfa``);
an ignorecase value is a set of spellings (``vpc-prod`` has 2⁸ in ASCII alone), and a region
can be any mix: the spellings one listed case-sensitively, the rest, a pattern matching some
of them. Trying the lower, upper and swapped case of each sample missed every mixed one
(``in ignorecase [vpc-prod]`` and ``in [vpc-prod, VPC-PROD]`` were "equivalent (proved)",
though `Vpc-Prod` is denied by one only).

``folded_classes`` walks the product of the automaton and a trie of the folded ignorecase
values, shortest string first, so each reachable combination — a region — is found with its
shortest string, spelled in whatever case reaches it. The trie is kept twice: the trie's
engine folds with ``str.casefold``, the RAM evaluator with ``str.lower``, and they differ off
ASCII (``ß`` casefolds to ``ss``, the Kelvin sign ``K`` folds to ``k`` under both): the
regions are those of both foldings, so a value on which the engines disagree is a region
too. From a trie node, the characters that matter are the automaton's edge labels, each
child's spellings (itself, its upper case, and ``FOLDS_TO_ASCII``: the non-ASCII characters
one of the foldings takes to a string starting with it), and one character none of those
names. An ignorecase value that is not ASCII is not decided here (its spellings off ASCII
are not tabulated): ``Undecided``, which the callers report as "could not decide".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heappop, heappush

from compiler.analysis.globsets import Dfa, Literal, Undecided, Unfoldable

FOLDS_TO_ASCII = (
    # ß İ ſ ǰ ẖ ẗ ẘ ẙ ẚ ẞ, the Kelvin sign
    "\u00df\u0130\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a"
    "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06"  # the ligatures ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ
)
"""Every non-ASCII character whose ``casefold()`` or ``lower()`` starts with an ASCII
character (Python 3.11's Unicode tables; tests/test_ignorecase_regions.py recomputes it
over every code point): the only ones that can spell part of an ASCII ignorecase value."""

_FOLDS: tuple[Callable[[str], str], ...] = (str.casefold, str.lower)

_END = "\0end"  # a key no character is: the ids of the values ending at a node


def _trie(values: Sequence[str], fold: Callable[[str], str]) -> dict:
    root: dict = {}
    for i, value in enumerate(values):
        node = root
        for ch in fold(value):
            node = node.setdefault(ch, {})
        node.setdefault(_END, []).append(i)
    return root


def _walk(node: dict | None, text: str) -> dict | None:
    for ch in text:
        if node is None:
            return None
        node = node.get(ch)
    return node


def _spellings(ch: str) -> set[str]:
    """The characters a fold takes to a string starting with ``ch`` (ASCII ``ch``)."""
    found = {ch, ch.upper(), ch.lower()}
    found |= {x for x in FOLDS_TO_ASCII if any(f(x)[:1] == ch for f in _FOLDS)}
    return found


def folded_classes(
    likes: Sequence[str], exact: Sequence[str], folded: Sequence[str], *, budget: int = 200_000
) -> list[str]:
    """One string (the shortest, then least) from each region the patterns ``likes``, the
    case-sensitive values ``exact`` and the ignorecase values ``folded`` cut out."""
    for value in folded:
        if not value.isascii():
            raise Unfoldable(f"non-ASCII ignorecase value `{value}` cannot be folded exactly")
    dfa = Dfa([*likes, *(Literal(v) for v in exact)], fold=False, budget=budget)
    tries = tuple(_trie(folded, f) for f in _FOLDS)
    spell: dict[str, set[str]] = {}
    found: dict[tuple, str] = {}
    seen: set[tuple] = set()
    queue: list[tuple[int, str, int, tuple]] = [(0, "", dfa.start, tries)]
    while queue:
        n, text, sid, nodes = heappop(queue)
        key = (sid, *(id(t) if t is not None else 0 for t in nodes))
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > budget:
            raise Undecided(f"more than {budget} ignorecase product states")
        region = (
            dfa.accepting(sid),
            *(frozenset(t.get(_END, ())) if t is not None else frozenset() for t in nodes),
        )
        found.setdefault(region, text)
        chars = {label for label, _ in dfa.edges(sid)}
        for t in nodes:
            if t is not None:
                for child in t:
                    if child != _END:
                        chars |= spell.setdefault(child, _spellings(child))
        other = "~"
        while other in chars:
            other = chr(ord(other) + 1)
        chars.add(other)  # no edge, no spelling: every character nothing names
        for ch in sorted(chars):
            nxt = tuple(_walk(t, f(ch)) for t, f in zip(nodes, _FOLDS, strict=True))
            heappush(queue, (n + 1, text + ch, dfa.step(sid, ch), nxt))
    return sorted(found.values(), key=lambda t: (len(t), t))
