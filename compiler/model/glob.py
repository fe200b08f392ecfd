"""Glob matching for catalog names (``*`` any run, ``?`` one character), without regex.

The classic two-pointer algorithm: on a mismatch it only ever returns to the most recent
``*``, so the work is bounded by len(pattern) × len(text) and never exponential, whatever the
user wrote. (The RAM evaluator has its own matcher on purpose; see ``compiler.ram``.)
"""

from __future__ import annotations

MAX_NAME = 256
"""The longest operation name or operation glob a rule may hold, and the longest action a
trace event or ``decide`` may name (the catalog's longest operation is under 100
characters). Matching costs up to pattern length × action length on a first sighting, so
both are bounded (issue 16 F9)."""


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
