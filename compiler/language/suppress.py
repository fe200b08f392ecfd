"""Silencing warnings: ``# ramguard: ignore[W0105]`` on a line, or a list of codes in the
configuration (``ignore = ["W0201"]``).

Only warnings and notes can be silenced; an error always stands. A line comment silences the
warnings whose span starts on that line (where the caret is drawn), as ruff's ``# noqa``
does; several codes are separated by commas. A ``#`` inside a quoted string is not a comment
(the lexer's ``STRING`` rule: ``"`` … ``"`` with backslash escapes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from compiler.language.diagnostics import Diagnostic, Severity

_DIRECTIVE = re.compile(r"ramguard:\s*ignore\[([^\]\n]*)\]")
_CODE = re.compile(r"[A-Z][0-9]{4}")


def _comment(line: str) -> str:
    """The comment part of one source line ('' when there is none)."""
    in_string = False
    escaped = False
    for i, ch in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            return line[i:]
    return ""


def line_ignores(line: str) -> frozenset[str]:
    """The codes a line's ``# ramguard: ignore[…]`` comment names."""
    comment = _comment(line)
    if "ramguard" not in comment:
        return frozenset()
    codes: set[str] = set()
    for match in _DIRECTIVE.finditer(comment):
        codes.update(c.strip().upper() for c in match.group(1).split(",") if c.strip())
    return frozenset(codes)


def is_code(text: str) -> bool:
    """Whether ``text`` is spelled like a diagnostic code (``W0105``)."""
    return _CODE.fullmatch(text) is not None


def unsilenced(
    diagnostics: Iterable[Diagnostic],
    ignore: Iterable[str] = (),
    sources: Mapping[str, str] | None = None,
) -> list[Diagnostic]:
    """``diagnostics`` without the warnings that ``ignore`` (codes, from the configuration)
    or a comment on their line silences. ``sources`` (file → text) serves diagnostics that
    do not carry their source."""
    ignored = {c.upper() for c in ignore}
    lines_of: dict[str, list[str]] = {}
    kept: list[Diagnostic] = []
    for d in diagnostics:
        if d.severity is Severity.ERROR:
            kept.append(d)
            continue
        if d.code in ignored:
            continue
        text = d.source if d.source is not None else (sources or {}).get(d.span.file)
        if text is not None and d.span.line > 0:
            lines = lines_of.get(d.span.file)
            if lines is None:
                # Lines as the lexer counts them: only "\n" ends one.
                lines = lines_of[d.span.file] = text.split("\n")
            if d.span.line <= len(lines) and d.code in line_ignores(lines[d.span.line - 1]):
                continue
        kept.append(d)
    return kept
