"""Exact glob-set analysis: every class of strings a set of glob patterns tells apart.

Patterns (``*`` any run, ``?`` one character, anything else literal) go into one token NFA;
``classes`` determinises it lazily (subset construction on demand, each frozenset of NFA
states interned) and walks the DFA breadth-first. Every reachable DFA state has an accepting
set — the ids of the patterns matching every string that ends there — so the distinct
accepting sets are exactly the ways *all strings* (not only the catalog) can be matched, and
BFS with sorted characters gives each one its shortest, then lexicographically least, string.

At each state only the characters labelling an edge out of it matter, plus one stand-in for
"every other character" (``_OTHER`` unless an edge names it, then the smallest character no
edge names). Past ``budget`` DFA states the walk stops and raises ``Undecided``: the caller
says "could not decide", never "equal" (subset construction is exponential in the worst case,
e.g. ``*a`` followed by many ``?``).

Case: actions are matched case-insensitively by RAM, resources case-sensitively; with
``fold=True`` patterns are ASCII-lowercased (``str.lower`` on non-ASCII can change lengths
and break ``?``, so non-ASCII is rejected there) and witnesses come out lowercase.
A pattern may also be given as ``Literal(text)``: every character plain, for StringEquals.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

_OTHER = "~"


class Undecided(Exception):
    """The state budget ran out; the answer is unknown."""


@dataclass(frozen=True, slots=True)
class Literal:
    text: str


def _tokens(pattern: str | Literal, fold: bool) -> list[tuple[str, str]]:
    if isinstance(pattern, Literal):
        text = pattern.text
        kinds = [("c", ch) for ch in (text.lower() if fold else text)]
        return kinds
    if fold:
        if not pattern.isascii():
            raise ValueError(f"non-ASCII action pattern `{pattern}` cannot be folded exactly")
        pattern = pattern.lower()
    out: list[tuple[str, str]] = []
    for ch in pattern:
        if ch == "*":
            if out and out[-1][0] == "*":
                continue  # `**` means what `*` means
            out.append(("*", ""))
        elif ch == "?":
            out.append(("?", ""))
        else:
            out.append(("c", ch))
    return out


class _Nfa:
    """States are (pattern id, position); position == len(tokens) is accepting."""

    def __init__(self, patterns: Sequence[str | Literal], fold: bool) -> None:
        self.tokens = [_tokens(p, fold) for p in patterns]

    def closure(self, states: set[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        # A `*` may match the empty run: step over it without a character.
        stack = list(states)
        seen = set(states)
        while stack:
            pid, pos = stack.pop()
            toks = self.tokens[pid]
            if pos < len(toks) and toks[pos][0] == "*":
                nxt = (pid, pos + 1)
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return frozenset(seen)

    def start(self) -> frozenset[tuple[int, int]]:
        return self.closure({(pid, 0) for pid in range(len(self.tokens))})

    def labels(self, state: frozenset[tuple[int, int]]) -> list[str]:
        chars = set()
        for pid, pos in state:
            toks = self.tokens[pid]
            if pos < len(toks) and toks[pos][0] == "c":
                chars.add(toks[pos][1])
        other = _OTHER
        while other in chars:
            other = chr(ord(other) + 1)
        chars.add(other)
        return sorted(chars)

    def step(self, state: frozenset[tuple[int, int]], ch: str) -> frozenset[tuple[int, int]]:
        out = set()
        for pid, pos in state:
            toks = self.tokens[pid]
            if pos >= len(toks):
                continue
            kind, lit = toks[pos]
            if kind == "*":
                out.add((pid, pos))  # the star swallows ch and stays
            elif kind == "?" or lit == ch:
                out.add((pid, pos + 1))
        return self.closure(out)

    def accepting(self, state: frozenset[tuple[int, int]]) -> frozenset[int]:
        return frozenset(pid for pid, pos in state if pos == len(self.tokens[pid]))


def classes(
    patterns: Sequence[str | Literal], *, fold: bool, budget: int = 200_000
) -> list[tuple[frozenset[int], str]]:
    """Every distinct set of pattern ids some string matches, each with its shortest
    (then lexicographically least) string, in BFS order (shortest witness first). The empty
    set is included when some string matches no pattern."""
    nfa = _Nfa(patterns, fold)
    start = nfa.start()
    seen = {start}
    queue: deque[tuple[frozenset[tuple[int, int]], str]] = deque([(start, "")])
    found: dict[frozenset[int], str] = {}
    while queue:
        state, text = queue.popleft()
        acc = nfa.accepting(state)
        if acc not in found:
            found[acc] = text
        for ch in nfa.labels(state):
            nxt = nfa.step(state, ch)
            if nxt not in seen:
                if len(seen) >= budget:
                    raise Undecided(f"more than {budget} automaton states")
                seen.add(nxt)
                queue.append((nxt, text + ch))
    return sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1]))
