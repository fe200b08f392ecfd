"""Text → ``SourceFile``: lark (LALR) parses, a Transformer builds the frozen AST.

Parse errors become ``Diagnostic`` values with a file, line and column, a snippet and what was
expected; nothing from lark escapes this module. What another grammar of this package needs
(``lalr``, ``syntax_diagnostic``, ``token_span``, ``unquote``, ``read_source``) is public, so
``tests_parser`` builds, reads and reports errors the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache, partial
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from .ast import Comment, ConditionNode, Name, PolicyHeader, RuleNode, ServiceRef, SourceFile, Value
from .diagnostics import CompileError, Diagnostic, Span, error

# What the user should read instead of lark's terminal names.
_EXPECTED_NAMES = {
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
}


class _BracketPostLexer:
    """Drops newlines inside ``[ ]`` so a bracketed list may span lines (like Python's)."""

    always_accept = ("_NL",)

    def __init__(self) -> None:
        self.open_brackets: list[Token] = []

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        self.open_brackets = []
        for tok in stream:
            if tok.type == "LSQB":
                self.open_brackets.append(tok)
            elif tok.type == "RSQB" and self.open_brackets:
                self.open_brackets.pop()
            elif tok.type == "_NL" and self.open_brackets:
                continue
            yield tok


class _CommentSink(threading.local):
    """Where the lexer callback puts comments; one list per parse, per thread."""

    comments: list[Token] | None = None


_SINK = _CommentSink()


def _keep_comment(tok: Token) -> Token:
    if _SINK.comments is not None:
        _SINK.comments.append(tok)
    return tok


def lalr(grammar: str, **options) -> Lark:
    """A packaged ``.lark`` file, built as every grammar here is: LALR, strict, positions."""
    text = resources.files(__package__).joinpath(grammar).read_text(encoding="utf-8")
    return Lark(
        text,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        strict=True,
        **options,
    )


@cache
def _parser() -> tuple[Lark, _BracketPostLexer]:
    postlex = _BracketPostLexer()
    lark = lalr("rules.lark", postlex=postlex, lexer_callbacks={"COMMENT": _keep_comment})
    return lark, postlex


def token_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


class _ToAst(Transformer):
    """Tree → AST. Runs after parsing (not inline) so that positions are final."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _span(self, meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _name(self, tok: Token) -> Name:
        return Name(str(tok), token_span(self.path, tok))

    @v_args(meta=True)
    def start(self, meta, children):
        return children

    @v_args(meta=True)
    def policy_header(self, meta, children):
        name = self._name(children[0])
        description = unquote(str(children[1])) if len(children) > 1 else None
        return PolicyHeader(name, description, self._span(meta))

    @v_args(meta=True)
    def deny_rule(self, meta, children):
        (service, operations), rest = children[0], children[1:]
        when: tuple[ConditionNode, ...] = ()
        unless: tuple[ConditionNode, ...] = ()
        for kind, conds in rest:
            if kind == "when":
                when = conds
            else:
                unless = conds
        keyword = isinstance(children[0], _KeywordTarget)
        return RuleNode(service, operations, when, unless, keyword, self._span(meta))

    @v_args(meta=True)
    def positional_target(self, meta, children):
        return (children[0], children[1])

    @v_args(meta=True)
    def keyword_target(self, meta, children):
        service: ServiceRef = children[0]
        if len(children) == 3:
            version: Name = children[1]
            if service.version is not None:
                raise _GrammarUse(
                    error(
                        "E0102",
                        "the API version is given twice",
                        version.span,
                        help="write either `SERVICE@VERSION` or `version=VERSION`",
                    )
                )
            service = ServiceRef(service.name, version, service.span)
        return _KeywordTarget((service, children[-1]))

    @v_args(meta=True)
    def service_ref(self, meta, children):
        version = self._name(children[1]) if len(children) > 1 else None
        return ServiceRef(self._name(children[0]), version, self._span(meta))

    @v_args(meta=True)
    def version_kw(self, meta, children):
        return self._name(children[0])

    @v_args(meta=True)
    def operations(self, meta, children):
        return tuple(self._name(tok) for tok in children)

    @v_args(meta=True)
    def when_clause(self, meta, children):
        return ("when", children[0])

    @v_args(meta=True)
    def unless_clause(self, meta, children):
        return ("unless", children[0])

    @v_args(meta=True)
    def conjunction(self, meta, children):
        return tuple(children)

    def _condition(self, meta, children, operator: str) -> ConditionNode:
        key = self._name(children[0])
        values, bracketed = children[1]
        return ConditionNode(key, operator, values, bracketed, self._span(meta))

    @v_args(meta=True)
    def cond_in(self, meta, children):
        return self._condition(meta, children, "in")

    @v_args(meta=True)
    def cond_not_in(self, meta, children):
        return self._condition(meta, children, "not in")

    @v_args(meta=True)
    def cond_equals(self, meta, children):
        return self._condition(meta, [children[0], ((children[1],), False)], "=")

    @v_args(meta=True)
    def cond_before(self, meta, children):
        return self._condition(meta, [children[0], ((children[1],), False)], "before")

    @v_args(meta=True)
    def cond_after(self, meta, children):
        return self._condition(meta, [children[0], ((children[1],), False)], "after")

    @v_args(meta=True)
    def value_list(self, meta, children):
        # A bracketed list starts at `[`; a single value's span is the value's own.
        bracketed = meta.column != children[0].span.col or meta.line != children[0].span.line
        return (tuple(children), bracketed)

    def bare_value(self, children):
        tok = children[0]
        return Value(str(tok), token_span(self.path, tok))

    def quoted_value(self, children):
        tok = children[0]
        return Value(unquote(str(tok)), token_span(self.path, tok), quoted=True)


class _KeywordTarget(tuple):
    """Marks a target written as ``service=… op=…`` (the formatter keeps the form)."""

    __slots__ = ()


class _GrammarUse(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def unquote(text: str) -> str:
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def read_source(path: Path, what: str, limit: int) -> str:
    """Read one source file as text; see ``read_source_bytes``. Raises CompileError."""
    return decode_source(str(path), read_source_bytes(path, what, limit))


def read_source_bytes(path: Path, what: str, limit: int) -> bytes:
    """Read one source file of at most ``limit`` bytes; ``what`` (rules, tests) names its kind
    in messages. Raises CompileError for a directory, a file too large or unreadable."""
    name = str(path)
    try:
        if path.is_dir():
            raise CompileError([error("E0002", f"is a directory, not a {what} file", Span(name))])
        size = path.stat().st_size
        if size > limit:
            raise CompileError(
                [
                    error(
                        "E0003",
                        f"file is {size} bytes; {what} files are limited to {limit}",
                        Span(name),
                    )
                ]
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise CompileError([error("E0004", "no such file", Span(name))]) from None
    except PermissionError:
        raise CompileError([error("E0005", "permission denied", Span(name))]) from None
    except OSError as exc:
        raise CompileError([error("E0006", f"cannot read: {exc.strerror}", Span(name))]) from None


def decode_source(path: str, data: bytes) -> str:
    """Bytes → text, or a CompileError pointing at the first byte that is not UTF-8 text."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CompileError(
            [
                error(
                    "E0001",
                    "file is not UTF-8 text",
                    Span(path, line, col, line, col + 1),
                    help="rules files are UTF-8 text; is this a binary file?",
                )
            ]
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise CompileError(
            [
                error(
                    "E0001",
                    "file contains a NUL byte",
                    Span(path, line, col, line, col + 1),
                    help="rules files are UTF-8 text; is this a binary file?",
                )
            ]
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def parse_text(path: str, text: str) -> SourceFile:
    """Parse one rules file. Raises CompileError with positioned diagnostics."""
    lark, postlex = _parser()
    source = text if text.endswith("\n") else text + "\n"
    _SINK.comments = []
    try:
        tree = lark.parse(source)
    except UnexpectedInput as exc:
        raise CompileError(
            [syntax_diagnostic(path, text, exc, lark, open_brackets=postlex.open_brackets)]
        ) from None
    finally:
        tokens, _SINK.comments = _SINK.comments, None
    comments = [Comment(str(t), token_span(path, t)) for t in tokens or ()]
    try:
        items = _ToAst(path).transform(tree)
    except Exception as exc:  # lark wraps transformer errors in VisitError
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, _GrammarUse):
            raise CompileError([with_source(inner.diagnostic, text)]) from None
        raise
    header = None
    rules: list[RuleNode] = []
    diags: list[Diagnostic] = []
    for item in items:
        if isinstance(item, PolicyHeader):
            if header is not None or rules:
                diags.append(
                    error(
                        "E0103",
                        "`policy` header must come once, before any rule",
                        item.span,
                        source=text,
                    )
                )
            header = header or item
        else:
            rules.append(item)
    if diags:
        raise CompileError(diags)
    return SourceFile(path, text, header, tuple(rules), tuple(comments))


def with_source(d: Diagnostic, text: str) -> Diagnostic:
    return Diagnostic(d.code, d.severity, d.message, d.span, d.help, text)


def _describe_expected(
    expected: Iterable[str], lark: Lark | None = None, names: Mapping[str, str] = _EXPECTED_NAMES
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
    lines = text.splitlines() or [""]
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
    names: Mapping[str, str] = _EXPECTED_NAMES,
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
        line, col = _clamp(text, len(text.splitlines()) + 1, 1)
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
    return error(
        code,
        f"unexpected {what}",
        span,
        help=expect(exc.expected),
        source=text,
    )
