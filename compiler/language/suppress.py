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
from difflib import get_close_matches

from compiler.language.diagnostics import Diagnostic, Severity, Span, warning

_DIRECTIVE = re.compile(r"ramguard:\s*ignore\[([^\]\n]*)\]")
_CODE = re.compile(r"[A-Z][0-9]{4}")
# `# ramguard: igonre[…]`: a word in a directive's place that is not one.
_OTHER_DIRECTIVE = re.compile(r"ramguard:\s*([A-Za-z_-]+)\s*\[")

SILENCEABLE = frozenset(
    {
        "N0110",
        "N0201",
        *(f"W010{n}" for n in range(1, 8)),
        "W0201",
        "W0202",
        "W0203",
        "W0230",
        "W0240",
        "W0241",
        "W0242",
        *(f"W030{n}" for n in range(1, 8)),
    }
)
"""Every warning and note code ramguard reports: what an ignore list can name (a test keeps
it equal to the codes the sources emit). Errors cannot be silenced."""


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


def unknown_code_help(code: str) -> str:
    """Why ``code`` (upper case) silences nothing, with a did-you-mean ('' for a code that
    silences something, or an error code: errors always stand, and saying so is not news)."""
    if code in SILENCEABLE or (is_code(code) and code.startswith("E")):
        return ""
    padded = re.fullmatch(r"([A-Z])0*([0-9]{1,4})", code)
    guess = f"{padded.group(1)}{int(padded.group(2)):04d}" if padded else ""
    if guess not in SILENCEABLE:
        close = get_close_matches(code[:16], sorted(SILENCEABLE), n=1, cutoff=0.6)
        guess = close[0] if close else ""
    if guess:
        return f"did you mean {guess}?"
    if is_code(code):
        return "ramguard reports no such warning; `ramguard check` shows each warning's code"
    return "codes are a letter and four digits, e.g. W0201"


def directive_problems(file: str, text: str) -> list[Diagnostic]:
    """W0107 for each ``# ramguard: ignore[…]`` comment that silences nothing it names: an
    unknown or misspelled code (``W201``), an empty list, or another word than ``ignore``."""
    out: list[Diagnostic] = []
    if "ramguard" not in text:
        return out
    for number, line in enumerate(text.split("\n"), start=1):
        comment = _comment(line)
        if "ramguard" not in comment:
            continue
        base = len(line) - len(comment)

        def at(
            start: int, end: int, message: str, help: str, number: int = number, base: int = base
        ) -> None:
            span = Span(file, number, base + start + 1, number, base + end + 1)
            out.append(warning("W0107", message, span, help, source=text))

        for match in _OTHER_DIRECTIVE.finditer(comment):
            if match.group(1) != "ignore":
                word = match.group(1)
                at(
                    match.start(1),
                    match.end(1),
                    f"`{word[:40]}` is not a ramguard directive",
                    "did you mean ignore[…]?" if word.lower() != "ignore" else "write ignore[…]",
                )
        for match in _DIRECTIVE.finditer(comment):
            inside = match.group(1)
            if not inside.strip():
                at(match.start(), match.end(), "`ignore[]` names no code: it silences nothing",
                   "name the warnings to silence, e.g. `# ramguard: ignore[W0201]`")  # fmt: skip
                continue
            offset = match.start(1)
            for part in inside.split(","):
                code = part.strip()
                start = offset + len(part) - len(part.lstrip())
                offset += len(part) + 1
                if not code:
                    continue
                help = unknown_code_help(code.upper())
                if help:
                    at(start, start + len(code),
                       f"`{code[:40]}` is not a ramguard warning code: it silences nothing",
                       help)  # fmt: skip
    return out


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
