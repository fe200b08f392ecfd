"""RAM's glob: ``*`` matches any run of characters (also empty), ``?`` exactly one, anywhere.

Written without ``re`` and ``fnmatch`` on purpose: a pattern comes from a policy document
(user text), and a backtracking regex built from ``*a*a*a*…b`` takes exponential time. Here a
pattern is split on ``*`` into segments; the first segment is anchored at the start, the last at
the end, and each middle segment is found greedily at its leftmost position after the previous
one. Leftmost is always safe: any match that places a middle segment further right can be
shifted left without hurting the segments after it. Each segment search is O(n·m) at worst
(``str.find`` for literal runs, a verify step for ``?``), so a whole match is O(n·m), never
exponential.

This module shares no code with the decision trie; it is the evaluator's own matcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class _Segment:
    """A star-free piece of a pattern; ``?`` stands for one character."""

    text: str
    # The literal runs between ``?`` marks, as (offset in segment, run). Empty when the segment
    # is all ``?``; a single (0, text) when it has no ``?``.
    chunks: tuple[tuple[int, str], ...]
    # The longest run: the one handed to str.find to jump over hopeless positions.
    anchor: tuple[int, str] | None
    plain: bool  # no "?": str.startswith / str.find decide alone

    @classmethod
    def compile(cls, text: str) -> _Segment:
        chunks: list[tuple[int, str]] = []
        start = 0
        for i, char in enumerate(text + "?"):
            if char == "?":
                if i > start:
                    chunks.append((start, text[start:i]))
                start = i + 1
        anchor = max(chunks, key=lambda chunk: len(chunk[1])) if chunks else None
        return cls(text, tuple(chunks), anchor, "?" not in text)

    def match_at(self, text: str, pos: int) -> bool:
        """Does the segment match ``text[pos:pos + len(segment)]`` exactly?

        Callers guarantee ``pos >= 0`` (str.startswith would read a negative one from the end).
        """
        if self.plain:
            return text.startswith(self.text, pos)
        if pos + len(self.text) > len(text):
            return False
        # A loop, not all(<genexpr>): this is the hot path and a generator costs more here.
        for offset, run in self.chunks:  # noqa: SIM110
            if not text.startswith(run, pos + offset):
                return False
        return True

    def find(self, text: str, start: int, end: int) -> int:
        """Leftmost position ``i >= start`` with the segment inside ``text[i:end]``, or -1."""
        size = len(self.text)
        if self.anchor is None:  # only "?": any position with room will do
            return start if start + size <= end else -1
        if self.plain:
            return text.find(self.text, start, end)
        offset, run = self.anchor
        # The anchor run must end where the whole segment still fits before `end`.
        run_end = end - size + offset + len(run)
        while start + size <= end:
            j = text.find(run, start + offset, run_end)
            if j < 0:
                return -1
            candidate = j - offset
            if self.match_at(text, candidate):
                return candidate
            start = candidate + 1
        return -1


_GENERAL, _ANY, _PREFIX, _SUFFIX, _CONTAINS = range(5)  # GlobPattern._shape


@dataclass(frozen=True, slots=True)
class GlobPattern:
    """A compiled glob. ``ignore_case`` folds pattern and text with ``str.lower``.

    Actions are matched with ``ignore_case=True`` (RAM: action values are "generally not
    case-sensitive"); ``StringLike`` values with ``ignore_case=False`` (documented as
    case-sensitive). Folding is ``str.lower`` on both sides, which is exact for the ASCII that
    action names and RAM keys are made of.
    """

    source: str
    ignore_case: bool = False
    _segments: tuple[_Segment, ...] = field(init=False, repr=False, compare=False)
    _has_star: bool = field(init=False, repr=False, compare=False)
    _min_length: int = field(init=False, repr=False, compare=False)
    # The shapes actions usually take ("ecs:Delete*", "*Snapshot", "*Group*", "*") are decided
    # by one str method; everything else takes the general path. Both are linear.
    _shape: int = field(init=False, repr=False, compare=False)
    _literal: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = self.source.lower() if self.ignore_case else self.source
        # Splitting keeps empty first/last segments, which anchor trivially (a pattern starting
        # with "*" has an empty first segment); "**" leaves an empty middle one, skipped.
        parts = folded.split("*")
        segments = tuple(_Segment.compile(part) for part in parts)
        shape, literal = _GENERAL, ""
        nonempty = [part for part in parts if part]
        if len(parts) > 1 and "?" not in folded and len(nonempty) <= 1:
            literal = nonempty[0] if nonempty else ""
            starts, ends = parts[0] == "", parts[-1] == ""
            shape = _CONTAINS if starts and ends else _SUFFIX if starts else _PREFIX
            if not literal:  # "*", "**"
                shape = _ANY
        object.__setattr__(self, "_segments", segments)
        object.__setattr__(self, "_has_star", len(parts) > 1)
        object.__setattr__(self, "_min_length", sum(len(part) for part in parts))
        object.__setattr__(self, "_shape", shape)
        object.__setattr__(self, "_literal", literal)

    @property
    def is_literal(self) -> bool:
        """No wildcard at all: equality (after folding) decides."""
        return not self._has_star and "?" not in self.source

    def matches(self, text: str) -> bool:
        if self.ignore_case:
            text = text.lower()
        shape = self._shape
        if shape != _GENERAL:
            if shape == _PREFIX:
                return text.startswith(self._literal)
            if shape == _SUFFIX:
                return text.endswith(self._literal)
            if shape == _CONTAINS:
                return self._literal in text
            return True  # _ANY
        segments = self._segments
        if not self._has_star:
            return len(text) == self._min_length and segments[0].match_at(text, 0)
        if len(text) < self._min_length:
            return False
        first, last = segments[0], segments[-1]
        end = len(text) - len(last.text)
        # The length check above keeps the anchored first and last segments from overlapping.
        if not first.match_at(text, 0) or not last.match_at(text, end):
            return False
        pos = len(first.text)
        for segment in segments[1:-1]:
            if not segment.text:
                continue  # "**": an empty middle segment matches anywhere
            found = segment.find(text, pos, end)
            if found < 0:
                return False
            pos = found + len(segment.text)
        return True


def glob_match(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """One-off match; compile a ``GlobPattern`` instead when a pattern is used repeatedly."""
    return GlobPattern(pattern, ignore_case).matches(text)
