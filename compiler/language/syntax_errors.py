"""Syntax errors of this package's grammars: lark's exceptions → one positioned
``Diagnostic`` saying what was expected, in the user's words (split from ``parser`` to keep
each module to one job)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from compiler.language.diagnostics import Diagnostic, Span, error

# What the user should read instead of lark's terminal names.
EXPECTED_NAMES = {
    "GLOB": "a service or operation name",
    "KEY": "a condition key",
    "VERSION": "an API version",
    "POLICY_NAME": "a policy name",
    "VALUE": "a value",
    "STRING": 'a "quoted string"',
    "_NL": "end of line",
    "$END": "end of file",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "EQUAL": "`=`",
    "AT": "`@`",
    "DENY": "`deny`",
    "ALLOW": "`allow`",
    "POLICY": "`policy`",
    "SERVICE": "`service`",
    "OP": "`op`",
    "VERSION_KW": "`version`",
    "WHEN": "`when`",
    "UNLESS": "`unless`",
    "AND": "`and`",
    "IN": "`in`",
    "NOT": "`not`",
    "BEFORE": "`before`",
    "AFTER": "`after`",
    "EXCEPT": "`except`",
    "ON": "`on`",
    "UNCHECKED": "`unchecked`",
    "DOUBLE_EQUAL": "`==`",
}


def token_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def _describe_expected(
    expected: Iterable[str], lark: Lark | None = None, names: Mapping[str, str] = EXPECTED_NAMES
) -> str:
    literals: dict[str, str] = {}
    if lark is not None:
        for term in lark.terminals:
            if isinstance(term.pattern, PatternStr):
                literals[term.name] = f"`{term.pattern.value}`"
    shown = sorted(
        {names.get(e) or literals.get(e) or f"`{e.lower()}`" for e in expected if e != "_NL"}
    )
    if "_NL" in expected:
        shown.append("end of line")
    if not shown:
        return ""
    if len(shown) == 1:
        return "expected " + shown[0]
    return "expected one of: " + ", ".join(shown)


def _clamp(text: str, line: int, col: int) -> tuple[int, int]:
    lines = text.split("\n")
    if line < 1:
        line, col = 1, 1
    if line > len(lines):
        line = len(lines)
        col = len(lines[-1]) + 1
    return line, max(col, 1)


def _printable(text: str, limit: int = 40) -> str:
    if len(text) > limit:
        text = text[:limit] + "…"
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def syntax_diagnostic(
    path: str,
    text: str,
    exc: UnexpectedInput,
    lark: Lark,
    *,
    code: str = "E0100",
    names: Mapping[str, str] = EXPECTED_NAMES,
    show: Callable[[str], str] = _printable,
    open_brackets: Sequence[Token] = (),
) -> Diagnostic:
    """lark's parse error → one Diagnostic, clamped to the text, saying what was expected in
    ``names``' words for the grammar's terminals. ``open_brackets``: the ``[`` still open when
    the input ended, from a post-lexer that tracks them."""
    expect = partial(_describe_expected, lark=lark, names=names)
    if isinstance(exc, UnexpectedCharacters):
        line, col = _clamp(text, exc.line, exc.column)
        return error(
            code,
            f"unexpected character `{show(exc.char)}`",
            Span(path, line, col, line, col + 1),
            help=expect(exc.allowed),
            source=text,
        )
    token = getattr(exc, "token", None)
    at_end = isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END")
    if at_end and open_brackets:
        bracket = open_brackets[-1]
        return error(
            "E0101",
            "unclosed `[`",
            token_span(path, bracket),
            help="expected `]` to close this list before the end of the file",
            source=text,
        )
    if at_end:
        line, col = _clamp(text, text.count("\n") + 2, 1)
        return error(
            code,
            "unexpected end of file",
            Span(path, line, col, line, col + 1),
            help=expect(getattr(exc, "expected", ())),
            source=text,
        )
    assert isinstance(exc, UnexpectedToken)
    line, col = _clamp(text, exc.line, exc.column)
    if token.type == "_NL":
        what = "end of line"
        span = Span(path, line, col, line, col + 1)
    else:
        what = f"`{show(str(token))}`"
        end = token.end_column if token.end_line == token.line else col + 1
        span = Span(path, line, col, line, end or col + 1)
    help_text = expect(_acceptable(exc))
    if token.type != "_NL" and str(token) == "or":
        # RAM ANDs every condition of a statement: there is no `or` to write.
        help_text = "conditions join with `and` only; for either of two conditions, write two rules"
    return error(code, f"unexpected {what}", span, help=help_text, source=text)


def _acceptable(exc: UnexpectedToken) -> Iterable[str]:
    """What the parser would have taken here. ``exc.expected`` is the LALR state's lookahead
    set, which merged states widen (`,` and `]` after `mfa = true`); asking the interactive
    parser to try each terminal gives the exact set."""
    try:
        accepted = exc.interactive_parser.accepts()
    except Exception:  # any failure here must not hide the syntax error itself
        return exc.expected
    return accepted or exc.expected
