"""Glob matching for catalog names (``*`` any run, ``?`` one character), without regex.

The classic two-pointer algorithm: on a mismatch it only ever returns to the most recent
``*``, so the work is bounded by len(pattern) × len(text) and never exponential, whatever the
user wrote. (The RAM evaluator has its own matcher on purpose; see ``compiler.ram``.)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

MAX_NAME = 256
"""The longest operation name or operation glob a rule may hold, and the longest action a
trace event or ``decide`` may name (the catalog's longest operation is under 100
characters). Matching costs up to pattern length × action length on a first sighting, so
both are bounded (issue 16 F9)."""


MAX_ACTION = MAX_NAME + 64
"""The longest action a request may name: a RAM code of up to 64 characters, `:` and the
operation. Longer is refused the same way everywhere (issue 16): ``ramguard decide``'s
ACTION, ``Policy.decide`` (ValueError) and a trace event (malformed: its ``eventName`` is
held to ``MAX_NAME``)."""


def has_glob(text: str) -> bool:
    return "*" in text or "?" in text


def glob_match(pattern: str, text: str, *, ignore_case: bool = True) -> bool:
    if ignore_case:
        pattern, text = pattern.lower(), text.lower()
    p = t = 0
    star_p = -1
    star_t = 0
    plen, tlen = len(pattern), len(text)
    while t < tlen:
        # `*` first: a `*` that happens to stand in the text must not be taken literally
        # and lose the backtrack point.
        if p < plen and pattern[p] == "*":
            star_p, star_t = p, t
            p += 1
        elif p < plen and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif star_p >= 0:
            star_t += 1
            p, t = star_p + 1, star_t
        else:
            return False
    while p < plen and pattern[p] == "*":
        p += 1
    return p == plen


def subsumes(general: str, specific: str) -> bool:
    """True when every string matched by ``specific`` is matched by ``general``.

    Exact for the cases the emitter prunes with (``specific`` without globs, or ``general``
    matching ``specific`` read as a literal where ``specific``'s globs sit under a ``*``);
    conservative otherwise: False when unsure, so pruning never widens a policy.
    """
    if not has_glob(specific):
        return glob_match(general, specific)
    if general == "*":
        return True
    # A glob is covered by `prefix*` when the glob starts with that literal prefix.
    if general.endswith("*") and not has_glob(general[:-1]):
        prefix = general[:-1].lower()
        return specific.lower().startswith(prefix) and not has_glob(specific[: len(prefix)])
    return general.lower() == specific.lower()


def _literal_ends(low: str) -> tuple[str, str]:
    """The text before a glob's first wildcard and after its last one."""
    first = min(i for i in (low.find("*"), low.find("?")) if i >= 0)
    last = max(low.rfind("*"), low.rfind("?"))
    return low[:first], low[last + 1 :]


def matches_any(pattern: str, names: Sequence[str]) -> bool:
    """Whether ``pattern`` matches one of ``names`` (lowercased and sorted): only the names
    that start with the pattern's literal prefix can match, found by bisection, so a catalog
    service's 400 operations are not all tried for every glob of a rule file."""
    return next(matching(pattern, names), None) is not None


def matching(pattern: str, names: Sequence[str]) -> Iterator[str]:
    """The ``names`` (lowercased and sorted) that ``pattern`` matches, in order, found as
    ``matches_any`` finds the first."""
    low = pattern.lower()
    head = _literal_ends(low)[0] if has_glob(low) else low
    # Every literal run of the pattern is a substring of what it matches: a check in C that
    # spares most names the matcher.
    runs = [r for r in low.replace("?", "*").split("*") if r]
    i = bisect_left(names, head)
    while i < len(names) and names[i].startswith(head):
        name = names[i]
        if all(r in name for r in runs) and glob_match(low, name, ignore_case=False):
            yield name
        i += 1


class CoverIndex:
    """Answers ``any(subsumes(g, s) for g in globs if g.lower() != s.lower())`` for many
    ``s`` without trying every glob (issue 16 F7: the emitter's pruning was |globs| × |actions|,
    4 million ``subsumes`` calls for 2,000 globs in one statement).

    Exact, not a filter that may miss: a glob with literal prefix P and literal suffix S only
    matches text that starts with P and ends with S (both case-folded), so the candidates for
    a literal are found by one dict probe per distinct (|P|, |S|) pair and confirmed with
    ``glob_match``; ``subsumes`` of a glob by a glob only holds for ``*`` and for ``P*`` with
    P a prefix of the specific glob's literal prefix, a probe per distinct |P|. A glob equal
    to ``s`` but for case is not counted: the two match the same strings, and the caller keeps
    one of them (counting it dropped both, leaving an empty Action list)."""

    def __init__(self, globs: Iterable[str]) -> None:
        self._star = False
        self._prefix_stars: set[str] = set()
        self._prefix_lengths: list[int] = []
        # literal prefix -> literal suffix -> the globs (as written) with those ends
        self._by_ends: dict[str, dict[str, list[str]]] = {}
        self._suffix_lengths: dict[str, list[int]] = {}
        self._end_prefix_lengths: list[int] = []
        for glob in globs:
            low = glob.lower()
            if glob == "*":
                self._star = True
            if low.endswith("*") and not has_glob(low[:-1]):
                self._prefix_stars.add(low[:-1])
            head, tail = _literal_ends(low)
            self._by_ends.setdefault(head, {}).setdefault(tail, []).append(glob)
        self._prefix_lengths = sorted({len(p) for p in self._prefix_stars})
        self._end_prefix_lengths = sorted({len(h) for h in self._by_ends})
        self._suffix_lengths = {
            head: sorted({len(t) for t in tails}) for head, tails in self._by_ends.items()
        }

    def covered(self, specific: str) -> bool:
        low = specific.lower()
        if has_glob(specific):
            if self._star and low != "*":
                return True
            head = _literal_ends(low)[0]
            for n in self._prefix_lengths:
                if n > len(head):
                    break
                if head[:n] in self._prefix_stars and head[:n] + "*" != low:
                    return True
            return False
        size = len(low)
        for n in self._end_prefix_lengths:
            if n > size:
                break
            tails = self._by_ends.get(low[:n])
            if tails is None:
                continue
            for m in self._suffix_lengths[low[:n]]:
                if n + m > size:
                    break
                for glob in tails.get(low[size - m :], ()):
                    if glob_match(glob, specific):
                        return True
        return False


PLACEHOLDER = "\x00"
"""In a glob from an ARN template: any run of characters without `:` or `/` (one ID)."""
_SEPARATORS = frozenset(":/")


def globs_intersect(a: str, b: str) -> bool:
    """True when some string matches both globs (case-sensitive): reachability over the
    product of the two patterns' positions, len(a) × len(b) states, no backtracking.

    A state (i, j) means: a[:i] and b[:j] can both have produced the same text so far. From it,
    a ``*`` (or ``PLACEHOLDER``) may match nothing (advance that side alone) or one more
    character; a literal or ``?`` on both sides consumes one common character when they are
    compatible. A placeholder never consumes a literal `:` or `/`."""
    stars = ("*", PLACEHOLDER)
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    la, lb = len(a), len(b)
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == la and j == lb:
            return True
        ca = a[i] if i < la else None
        cb = b[j] if j < lb else None
        if ca in stars:
            stack.append((i + 1, j))
        if cb in stars:
            stack.append((i, j + 1))
        if ca is None or cb is None:
            continue
        if (ca == PLACEHOLDER and cb in _SEPARATORS) or (cb == PLACEHOLDER and ca in _SEPARATORS):
            continue
        # One character both can produce: a star stays put and consumes it.
        if ca in stars or cb in stars or ca == "?" or cb == "?" or ca == cb:
            stack.append((i if ca in stars else i + 1, j if cb in stars else j + 1))
    return False
