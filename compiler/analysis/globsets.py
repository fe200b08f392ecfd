"""Exact glob-set analysis: every class of strings a set of glob patterns tells apart.

Patterns (``*`` any run, ``?`` one character, anything else literal) go into one token NFA;
``classes`` determinises it lazily (subset construction on demand, each frozenset of NFA
states interned; equal patterns share their states) and walks the DFA shortest text first.
Every reachable DFA state has an accepting set — the ids of the patterns matching every
string that ends there — so the distinct accepting sets are exactly the ways *all strings*
(not only the catalog) can be matched, and the walk with sorted characters gives each one
its shortest, then lexicographically least, string. A literal tail (every NFA state of a
DFA state needing the same character) is crossed in one move: nothing along it can be a new
class.

At each state only the characters labelling an edge out of it matter, plus one stand-in for
"every other character" (``_OTHER`` unless an edge names it, then the smallest character no
edge names). Past ``budget`` DFA states (literal tails' insides not counted: they cost
their length) the walk stops and raises ``Undecided``: the caller
says "could not decide", never "equal" (subset construction is exponential in the worst case,
e.g. ``*a`` followed by many ``?``).

Case: actions are matched case-insensitively by RAM, resources case-sensitively; with
``fold=True`` patterns are ASCII-lowercased (``str.lower`` on non-ASCII can change lengths
and break ``?``, so non-ASCII is rejected there) and witnesses come out lowercase.
A pattern may also be given as ``Literal(text)``: every character plain, for StringEquals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import chain, groupby

_OTHER = "~"
_NO_STATES: frozenset[int] = frozenset()


class Undecided(Exception):
    """The state budget ran out; the answer is unknown."""


class Unfoldable(Undecided, ValueError):
    """A non-ASCII action pattern or ignorecase value (``folded``): case folding it exactly
    is not decided here, so the answer is unknown ("could not decide"), not a traceback (a
    ValueError, as before). Its own class so that a note can say folding, not the budget,
    left the question open."""


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
    """Every pattern's positions numbered in one flat range: state ``s`` is one position of
    one pattern, and its move is precomputed (``key[s]``: the literal character it needs, or
    ``""`` for any character; ``nxt[s]``: the states that move reaches, already closed over
    ``*``'s empty run). A DFA state is a frozenset of ints, and an expansion sorts and groups
    it by key and builds each target set in C: with (pattern, position) pairs stepped one by
    one in Python, proving 10,000 rules spent most of its time here."""

    def __init__(self, patterns: Sequence[str | Literal], fold: bool) -> None:
        key: list[str] = []
        nxt: list[tuple[int, ...]] = []
        owners: dict[int, list[int]] = {}
        starts: list[int] = []
        # Equal patterns (after folding) share their states: a policy's rules and its
        # documents repeat the same actions many times over, and each copy made every DFA
        # state along it that much bigger. An accepting state stands for all its patterns.
        first: dict[tuple[bool, str], int] = {}
        for pid, pattern in enumerate(patterns):
            literal = isinstance(pattern, Literal)
            text = pattern.text if isinstance(pattern, Literal) else pattern
            shape = (literal, text.lower() if fold and text.isascii() else text)
            at = first.get(shape)
            if at is not None:
                owners[at].append(pid)
                continue
            base = len(key)
            if literal or not ("*" in text or "?" in text):
                # Every character plain (most action patterns): one state per character,
                # each moving to the next, built in C.
                if fold and not literal and not text.isascii():
                    _tokens(pattern, fold)  # raises Unfoldable, as for any pattern
                plain = text.lower() if fold else text
                end = base + len(plain)
                starts.append(base)
                key.extend(plain)
                nxt.extend(zip(range(base + 1, end + 1)))
                first[shape] = end
                owners[end] = [pid]
                key.append("")
                nxt.append(())
                continue
            toks = _tokens(pattern, fold)
            end = base + len(toks)
            # `*` never follows `*` (``_tokens`` merges them), so one step closes a state.
            starts += (base, base + 1) if toks and toks[0][0] == "*" else (base,)
            for i, (kind, lit) in enumerate(toks):
                s = base + i
                key.append(lit)  # "" for `*` and `?`: any character
                if kind == "*":
                    nxt.append((s, s + 1))
                elif i + 1 < len(toks) and toks[i + 1][0] == "*":
                    nxt.append((s + 1, s + 2))
                else:
                    nxt.append((s + 1,))
            first[shape] = end
            owners[end] = [pid]
            key.append("")  # accepting: it moves nowhere (no targets)
            nxt.append(())
        self.key = key
        self.nxt = nxt
        self.owners = {s: tuple(pids) for s, pids in owners.items()}
        self.finals = frozenset(owners)
        self.start = frozenset(starts)

    def pattern_ids(self, finals: frozenset[int]) -> frozenset[int]:
        """The ids of the patterns whose accepting states are ``finals``."""
        return frozenset(chain.from_iterable(map(self.owners.__getitem__, finals)))

    def moves(self, state: frozenset[int]) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
        """Every move out of ``state`` in one pass: per literal character the (closed) states
        it reaches, and the states any character reaches (through `?` and `*`)."""
        if len(state) == 1:
            # Most states of a literal-heavy pattern list are one position along one
            # pattern's literal tail (`ecs:describeinstances` past its last shared prefix).
            (s,) = state
            ch = self.key[s]
            return ({ch: self.nxt[s]}, ()) if ch else ({}, self.nxt[s])
        key, nxt = self.key.__getitem__, self.nxt.__getitem__
        by_char: dict[str, tuple[int, ...]] = {}
        wild: tuple[int, ...] = ()
        for ch, group in groupby(sorted(state, key=key), key):
            targets = tuple(chain.from_iterable(map(nxt, group)))
            if ch:
                by_char[ch] = targets
            else:
                wild = targets
        return by_char, wild


class Dfa:
    """The lazily determinised automaton of a pattern list: states are interned ints,
    transitions cached, so running many strings through it costs a dict lookup a character
    once it is warm. Past ``budget`` states it raises ``Undecided``."""

    def __init__(self, patterns: Sequence[str | Literal], *, fold: bool, budget: int) -> None:
        self.fold = fold
        self.budget = budget
        self._nfa = _Nfa(patterns, fold)
        self._ids: dict[frozenset[int], int] = {}
        self._states: list[frozenset[int]] = []
        self._next: dict[tuple[int, str], int] = {}
        self._accepting: list[frozenset[int]] = []
        """Per state, its accepting NFA states (``accepting`` gives their pattern ids)."""
        self._pattern_ids: dict[frozenset[int], frozenset[int]] = {}
        self._other: dict[int, int] = {}
        self._edges: dict[int, list[tuple[str, int]]] = {}
        self._tails: dict[int, tuple[str, int] | None] = {}
        self.start = self._intern(self._nfa.start)

    def _intern(self, state: frozenset[int] | tuple[int, ...]) -> int:
        # A tuple of distinct states (one character's closed targets, no wild ones) is
        # looked up as the frozenset it stands for.
        if type(state) is tuple:
            state = frozenset(state)
        sid = self._ids.get(state)
        if sid is None:
            if len(self._states) >= self.budget:
                raise Undecided(f"more than {self.budget} automaton states")
            sid = self._ids[state] = len(self._states)
            self._states.append(state)
            # Kept as the accepting NFA states (an intersection in C): their pattern ids
            # can be thousands (`*` in every rule), and most states' are never asked for.
            self._accepting.append(state & self._nfa.finals)
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
        edges = [
            (ch, self._intern(frozenset(chain(by_char[ch], wild)) if wild else by_char[ch]))
            for ch in sorted(by_char)
        ]
        rest = self._intern(frozenset(wild))
        self._other[sid] = rest
        edges.append((other, rest))
        edges.sort()
        self._edges[sid] = edges

    def labels(self, sid: int) -> list[str]:
        """The characters that label an edge out of ``sid``, plus one stand-in for every
        other character."""
        return [ch for ch, _ in self.edges(sid)]

    def edges(self, sid: int) -> list[tuple[str, int]]:
        """``(label, state)`` for every label of ``labels(sid)``, in that order."""
        found = self._edges.get(sid)
        if found is None:
            self._expand(sid)
            found = self._edges[sid]
        return found

    def accepting(self, sid: int) -> frozenset[int]:
        return self._ids_of(self._accepting[sid])

    def _ids_of(self, finals: frozenset[int]) -> frozenset[int]:
        found = self._pattern_ids.get(finals)
        if found is None:
            found = self._pattern_ids[finals] = self._nfa.pattern_ids(finals)
        return found

    def step(self, sid: int, ch: str) -> int:
        nxt = self._next.get((sid, ch))
        if nxt is None:
            # A character no edge names goes where every other one goes.
            edges = self.edges(sid)
            nxt = next((to for label, to in edges if label == ch), self._other[sid])
            self._next[sid, ch] = nxt
        return nxt

    def _tail(self, sid: int) -> tuple[str, int] | None:
        """When every NFA state of ``sid`` needs one and the same literal character, the
        characters read until that stops (a literal tail: ``describeinstances`` past the last
        prefix two patterns share) and the state reached after them; else None.

        Along such a tail no state accepts and every other character leads to the dead
        state, so ``classes_of`` need not visit the states in between: a pattern list of
        literal actions has a DFA state per character of each, and walking them one by one
        was most of proving 10,000 rules. They are not interned, so ``budget`` counts the
        states where patterns branch or wildcards are, which is where it can blow up."""
        state = self._states[sid]
        key, nxt = self._nfa.key, self._nfa.nxt
        chars: list[str] = []
        targets: tuple[int, ...] = tuple(state)
        while targets:
            if len(targets) == 1:
                ch = key[targets[0]]
                if not ch:
                    break
                chars.append(ch)
                targets = nxt[targets[0]]
                continue
            ch = key[targets[0]]
            if not ch or any(key[t] != ch for t in targets):
                break
            chars.append(ch)
            targets = tuple(chain.from_iterable(map(nxt.__getitem__, targets)))
        if not chars:
            return None
        return "".join(chars), self._intern(frozenset(targets))

    def run(self, text: str) -> frozenset[int]:
        """The ids of the patterns matching ``text`` (case-folded like the patterns)."""
        if self.fold:
            # ASCII lowering only, as for the patterns; other characters stay as they are
            # and match only `?` and `*`, which is what RAM's ASCII folding does too.
            text = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
        # A literal tail (``_tail``) is crossed by one comparison, not a state a character:
        # ``diff`` runs every catalog action (25,000) through the automaton, and stepping
        # each character of the rules' literal actions built and interned a state per
        # character, most of the diff of 10,000 rules. Inside a tail no state accepts and a
        # character off it leads to the dead state, as does stopping inside it; from the
        # dead state no string matches anything. So both end the run with no pattern.
        none = self._ids_of(_NO_STATES)
        # The dead state (no NFA state), if there is one yet: not interned here, so the
        # states counted against ``budget`` stay those the search builds.
        dead = self._ids.get(_NO_STATES)
        tails = self._tails
        sid = self.start
        i, end = 0, len(text)
        while i < end:
            if sid == dead:
                return none
            tail = tails.get(sid, False)
            if tail is False:
                tail = tails[sid] = self._tail(sid)
            if tail is None:
                sid = self.step(sid, text[i])
                i += 1
                continue
            chars, after = tail
            if not text.startswith(chars, i):
                return none
            sid = after
            i += len(chars)
        return self.accepting(sid)


def classes(
    patterns: Sequence[str | Literal], *, fold: bool, budget: int = 200_000
) -> list[tuple[frozenset[int], str]]:
    """Every distinct set of pattern ids some string matches, each with its shortest
    (then lexicographically least) string, in BFS order (shortest witness first). The empty
    set is included when some string matches no pattern."""
    return classes_of(Dfa(patterns, fold=fold, budget=budget))


def classes_of(dfa: Dfa) -> list[tuple[frozenset[int], str]]:
    """``classes`` on an automaton the caller keeps (to ``run`` strings through it later)."""
    # Shortest-first (then least) by a heap on (length, text) rather than a FIFO: a literal
    # tail (``Dfa._tail``) is crossed in one move, and the state after it is queued with the
    # whole tail's text, out of breadth-first order. Each state is done the first time it
    # is popped, which is with its shortest, then least, text.
    done: set[int] = set()
    queue: list[tuple[int, str, int]] = [(0, "", dfa.start)]
    # Keyed by accepting NFA states: equal sets of them are equal sets of pattern ids (each
    # pattern accepts in one state), so the ids are worked out once per class, at the end.
    found: dict[frozenset[int], str] = {}
    accepting = dfa._accepting
    while queue:
        n, text, sid = heappop(queue)
        if sid in done:
            continue
        done.add(sid)
        acc = accepting[sid]
        if acc not in found:
            found[acc] = text
        tail = dfa._tail(sid)
        if tail is None:
            for ch, nxt in dfa.edges(sid):
                if nxt not in done:
                    heappush(queue, (n + 1, text + ch, nxt))
            continue
        # The tail's first character, or any other (to the dead state); the states inside
        # the tail accept nothing, as ``sid`` does, with longer texts.
        chars, nxt = tail
        if nxt not in done:
            heappush(queue, (n + len(chars), text + chars, nxt))
        dead = dfa._intern(frozenset())
        if dead not in done:
            other = _OTHER if chars[0] != _OTHER else chr(ord(_OTHER) + 1)  # as ``_expand``
            heappush(queue, (n + 1, text + other, dead))
    return sorted(
        ((dfa._ids_of(acc), text) for acc, text in found.items()),
        key=lambda kv: (len(kv[1]), kv[1]),
    )
