"""Errors as data: a Diagnostic knows where it happened and renders its own snippet.

Every stage reports problems as ``Diagnostic`` values; they are collected, sorted and capped,
and only the CLI decides how to print them. ``CompileError`` carries a batch of them across the
public API boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

# A rendered snippet never shows more than this much of a line: a 1 MB line must not flood the
# terminal, and the caret must still point at the right character.
_SNIPPET_WIDTH = 120
MAX_DIAGNOSTICS = 50


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A region of a source file, 1-based lines and columns; ``end_col`` is exclusive."""

    file: str
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{max(self.col, 1)}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    help: str = ""
    # The text of the file the span points into, kept so the diagnostic can draw its own
    # snippet wherever it ends up; excluded from equality so tests compare meaning.
    source: str | None = field(default=None, compare=False, repr=False)

    def sort_key(self) -> tuple:
        return (self.span.file, self.span.line, self.span.col, self.code, self.message)

    def render(self, show_code: bool | None = None) -> str:
        """``FILE:LINE:COL: severity: message``, the snippet and the help. The code follows
        the message as ``[W0105]`` (the name to silence it by) on warnings and notes, and on
        errors too with ``show_code=True`` (``ramguard check``)."""
        if show_code is None:
            show_code = self.severity is not Severity.ERROR
        code = f" [{self.code}]" if show_code and self.code else ""
        lines = [f"{self.span}: {self.severity}: {self.message}{code}"]
        snippet = self._snippet()
        if snippet:
            lines.extend(snippet)
        if self.help:
            lines.append(f"  help: {self.help}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "help": self.help,
        }

    def _snippet(self) -> list[str]:
        if self.source is None or self.span.line <= 0:
            return []
        text_lines = _lines(self.source)
        if self.span.line > len(text_lines):
            return []
        line = text_lines[self.span.line - 1].removesuffix("\r")
        col = max(self.span.col, 1)
        if self.span.end_line == self.span.line and self.span.end_col > col:
            width = self.span.end_col - col
        else:
            width = 1
        start = 0
        if col > _SNIPPET_WIDTH // 2:
            start = col - _SNIPPET_WIDTH // 2
        shown = line[start : start + _SNIPPET_WIDTH]
        # One character per column, as lark counts them: a tab shows as one space.
        shown = "".join(" " if ch == "\t" else ch if ch.isprintable() else "?" for ch in shown)
        caret_col = col - start
        width = max(1, min(width, len(shown) - caret_col + 1))
        gutter = f"{self.span.line:>4} | "
        marker = " " * (caret_col - 1) + "^" + "~" * (width - 1)
        prefix = "…" if start else ""
        pad = " " * len(prefix)
        return [f"{gutter}{prefix}{shown}", f"{' ' * (len(gutter) - 2)}| {pad}{marker}"]


@lru_cache(maxsize=8)
def _lines(source: str) -> tuple[str, ...]:
    """A file's lines as lark counts them: only "\n" ends one (str.splitlines also splits on
    form feeds and the like, and would show the wrong line).

    Split once per file, not once per diagnostic: ``ramguard check`` on 8,000 ECS globs
    draws 11,962 snippets from one file, and splitting it for each was 7 of the command's
    16 s (profiled), growing with the square of the file. A few files at a time are kept
    (their diagnostics are drawn together, sorted by position); a source string hashes
    once, so a hit costs its hash lookup."""
    return tuple(source.split("\n"))


# Text from rules, traces and file names is data. Before it reaches a terminal or the HTML
# report (``compiler.report``: a page shows a C0 control as nothing, and obeys a bidi override
# as a terminal does) every control character (C0, DEL, C1: ESC starts colour, title and
# clear-screen sequences), line and paragraph separators, bidi overrides (they reorder what
# the reader sees) and the lone surrogates that undecodable file-name bytes become is shown
# escaped, e.g. ``\x1b``. One character class, so this is linear in the text (no
# backtracking).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape): show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep_lines: bool = False) -> str:
    """``text`` safe to write to a terminal or a page: control characters shown as ``\\x1b``,
    bidi controls as ``\\u202e`` and so on. With ``keep_lines``, newlines and tabs stay
    (multi-line diagnostics)."""
    pattern = _UNSAFE_KEEP_LINES if keep_lines else _UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape_char, text)


def shorten(text: str, limit: int = 60) -> str:
    """User text as a message quotes it: cut to ``limit``, anything unprintable shown as ``?``."""
    shown = text if len(text) <= limit else text[:limit] + "…"
    return "".join(ch if ch.isprintable() else "?" for ch in shown)


def counted(n: int, one: str, many: str | None = None, *, grouped: bool = True) -> str:
    """A count and its noun in the number's grammar, for every message that counts:
    ``1 document``, ``2 documents``; ``many`` when the plural is not ``one + "s"``
    (``policy``/``policies``). ``grouped``: with thousands separators (``10,000 events``)."""
    number = f"{n:,}" if grouped else str(n)
    return f"{number} {one if n == 1 else many or one + 's'}"


def error(code: str, message: str, span: Span, help: str = "", source: str | None = None):
    return Diagnostic(code, Severity.ERROR, message, span, help, source)


def warning(code: str, message: str, span: Span, help: str = "", source: str | None = None):
    return Diagnostic(code, Severity.WARNING, message, span, help, source)


def sorted_capped(diags: Iterable[Diagnostic], cap: int = MAX_DIAGNOSTICS) -> list[Diagnostic]:
    """Sort by position, drop exact repeats, keep at most ``cap``. Errors are kept before
    warnings: a flood of warnings early in a big rule set must not hide the error that stops
    the compile."""
    seen: set[tuple] = set()
    out: list[Diagnostic] = []
    for d in sorted(diags, key=Diagnostic.sort_key):
        key = (d.sort_key(), d.severity)
        if key in seen:
            continue
        seen.add(key)
        out.append(d)
    if len(out) <= cap:
        return out
    errors = [d for d in out if d.severity is Severity.ERROR][:cap]
    kept = {id(d) for d in errors}
    room = cap - len(errors)
    for d in out:
        if room == 0:
            break
        if id(d) not in kept:
            kept.add(id(d))
            room -= 1
    return [d for d in out if id(d) in kept]


class CompileError(Exception):
    """Raised by the public API when a rule set has errors; carries the diagnostics (sorted,
    capped at MAX_DIAGNOSTICS) and how many errors there were in all."""

    def __init__(self, diagnostics: list[Diagnostic], error_count: int | None = None):
        diagnostics = list(diagnostics)
        if error_count is None:
            error_count = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
        self.error_count = error_count
        self.diagnostics = sorted_capped(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))

    def __reduce__(self):
        # Errors come back from the worker process of a parallel compile; the default reduce
        # would rebuild from the rendered message and lose the diagnostics.
        return (type(self), (self.diagnostics, self.error_count))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]
