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


class Unfoldable(Undecided, ValueError):
    """A non-ASCII action pattern: case folding it exactly is not decided here, so the
    answer is unknown ("could not decide"), not a traceback (a ValueError, as before)."""


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
            raise Unfoldable(f"non-ASCII action pattern `{pattern}` cannot be folded exactly")
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

    def accepting(self, state: frozenset[tuple[int, int]]) -> frozenset[int]:
        return frozenset(pid for pid, pos in state if pos == len(self.tokens[pid]))

    def moves(
        self, state: frozenset[tuple[int, int]]
    ) -> tuple[dict[str, set[tuple[int, int]]], set[tuple[int, int]]]:
        """Every move out of ``state`` in one pass: per literal character the states it
        reaches, and the states any character reaches (through `?` and `*`)."""
        by_char: dict[str, set[tuple[int, int]]] = {}
        wild: set[tuple[int, int]] = set()
        tokens = self.tokens
        for pid, pos in state:
            toks = tokens[pid]
            if pos >= len(toks):
                continue
            kind, lit = toks[pos]
            if kind == "*":
                wild.add((pid, pos))
            elif kind == "?":
                wild.add((pid, pos + 1))
            else:
                by_char.setdefault(lit, set()).add((pid, pos + 1))
        return by_char, wild


class Dfa:
    """The lazily determinised automaton of a pattern list: states are interned ints,
    transitions cached, so running many strings through it costs a dict lookup a character
    once it is warm. Past ``budget`` states it raises ``Undecided``."""

    def __init__(self, patterns: Sequence[str | Literal], *, fold: bool, budget: int) -> None:
        self.fold = fold
        self.budget = budget
        self._nfa = _Nfa(patterns, fold)
        self._ids: dict[frozenset[tuple[int, int]], int] = {}
        self._states: list[frozenset[tuple[int, int]]] = []
        self._next: dict[tuple[int, str], int] = {}
        self._accepting: list[frozenset[int]] = []
        self._labels: dict[int, list[str]] = {}
        self._other: dict[int, int] = {}
        self.start = self._intern(self._nfa.start())

    def _intern(self, state: frozenset[tuple[int, int]]) -> int:
        sid = self._ids.get(state)
        if sid is None:
            if len(self._states) >= self.budget:
                raise Undecided(f"more than {self.budget} automaton states")
            sid = self._ids[state] = len(self._states)
            self._states.append(state)
            self._accepting.append(self._nfa.accepting(state))
        return sid

    def __len__(self) -> int:
        return len(self._states)

    def _expand(self, sid: int) -> None:
        # All of a state's transitions from one pass over its NFA states (stepping label by
        # label costs a pass per label: ~30x more on a start state holding every pattern).
        nfa = self._nfa
        by_char, wild = nfa.moves(self._states[sid])
        other = _OTHER
        while other in by_char:
            other = chr(ord(other) + 1)
        for ch in sorted(by_char):
            self._next[sid, ch] = self._intern(nfa.closure(by_char[ch] | wild))
        rest = self._next[sid, other] = self._intern(nfa.closure(wild))
        self._other[sid] = rest
        self._labels[sid] = sorted([*by_char, other])

    def labels(self, sid: int) -> list[str]:
        """The characters that label an edge out of ``sid``, plus one stand-in for every
        other character."""
        if sid not in self._labels:
            self._expand(sid)
        return self._labels[sid]

    def accepting(self, sid: int) -> frozenset[int]:
        return self._accepting[sid]

    def step(self, sid: int, ch: str) -> int:
        nxt = self._next.get((sid, ch))
        if nxt is None:
            if sid not in self._labels:
                self._expand(sid)
            nxt = self._next.get((sid, ch))
            if nxt is None:  # a character no edge names: where every other one goes
                nxt = self._next[sid, ch] = self._other[sid]
        return nxt

    def run(self, text: str) -> frozenset[int]:
        """The ids of the patterns matching ``text`` (case-folded like the patterns)."""
        if self.fold:
            # ASCII lowering only, as for the patterns; other characters stay as they are
            # and match only `?` and `*`, which is what RAM's ASCII folding does too.
            text = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
        sid = self.start
        for ch in text:
            sid = self.step(sid, ch)
        return self._accepting[sid]


def classes(
    patterns: Sequence[str | Literal], *, fold: bool, budget: int = 200_000
) -> list[tuple[frozenset[int], str]]:
    """Every distinct set of pattern ids some string matches, each with its shortest
    (then lexicographically least) string, in BFS order (shortest witness first). The empty
    set is included when some string matches no pattern."""
    return classes_of(Dfa(patterns, fold=fold, budget=budget))


def classes_of(dfa: Dfa) -> list[tuple[frozenset[int], str]]:
    """``classes`` on an automaton the caller keeps (to ``run`` strings through it later)."""
    seen = {dfa.start}
    queue: deque[tuple[int, str]] = deque([(dfa.start, "")])
    found: dict[frozenset[int], str] = {}
    while queue:
        sid, text = queue.popleft()
        acc = dfa.accepting(sid)
        if acc not in found:
            found[acc] = text
        for ch in dfa.labels(sid):
            nxt = dfa.step(sid, ch)
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, text + ch))
    return sorted(found.items(), key=lambda kv: (len(kv[1]), kv[1]))
