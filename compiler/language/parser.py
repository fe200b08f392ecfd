"""Text → ``SourceFile``: lark (LALR) parses, and a Transformer builds the frozen AST as it
goes.

Parse errors become ``Diagnostic`` values with a file, line and column, a snippet and what was
expected; nothing from lark escapes this module. What another grammar of this package needs
(``lalr``, ``syntax_diagnostic`` and ``token_span`` from ``syntax_errors``, ``unquote``) is
public here, so the ``.tests``
parser (``compiler.testing.parser``) builds and reports errors the same way.

Over 400 lines: the lark transformer for every rule form and the error translation it needs are
one concern; the grammar and syntax-error messages already live beside it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import replace
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput

from compiler.language.ast import (
    Comment,
    ConditionNode,
    Name,
    PolicyHeader,
    RuleNode,
    ServiceRef,
    SourceFile,
    Value,
    ValueList,
)
from compiler.language.diagnostics import CompileError, Diagnostic, Span, error
from compiler.language.fastlalr import Fallback, FusedParser
from compiler.language.syntax_errors import syntax_diagnostic, token_span


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


def lalr(grammar: str, package: str = __package__, **options) -> Lark:
    """A packaged ``.lark`` file, built as every grammar here is: LALR, strict, positions."""
    text = resources.files(package).joinpath(grammar).read_text(encoding="utf-8")
    settings: dict = {
        "parser": "lalr",
        "lexer": "contextual",
        "propagate_positions": True,
        "maybe_placeholders": False,
        "strict": True,
    }
    settings.update(options)
    cache = _grammar_cache(grammar)
    if cache is not None:
        settings["cache"] = str(cache)
    return Lark(text, **settings)


def _grammar_cache(grammar: str) -> Path | None:
    """Where lark keeps this grammar's analysed tables between runs, or None to build afresh.

    Building the LALR tables with ``strict=True`` costs ~0.4 s (most of it interegular's
    collision check), which every CLI run would otherwise pay; the cached tables load in ~7 ms.
    Lark keys the file's content by the grammar text, the options, its own version and
    Python's, and rebuilds on any mismatch, so a stale file is never used. The cache is a
    pickle, so it lives in a directory only this user can write (``$XDG_CACHE_HOME/ramguard``
    or ``~/.cache/ramguard``, mode 0700), never in a shared temporary directory.
    ``RAMGUARD_NO_GRAMMAR_CACHE=1`` turns it off.
    """
    if os.environ.get("RAMGUARD_NO_GRAMMAR_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "ramguard"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return None
    if info.st_mode & 0o022 or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        return None  # someone else could plant a pickle there
    return directory / f"{grammar}.lark-cache"


class _Parser(threading.local):
    """This thread's parser: the transformer holds the file being parsed, so each thread
    builds its own (from lark's cache: a few milliseconds, once)."""

    lark: Lark | None = None
    postlex: _BracketPostLexer
    builder: _ToAst
    fused: FusedParser | None


_PARSER = _Parser()


def _parser() -> _Parser:
    if _PARSER.lark is None:
        postlex = _BracketPostLexer()
        builder = _ToAst()
        lark = lalr(
            "rules.lark",
            postlex=postlex,
            lexer_callbacks={"COMMENT": builder.keep_comment},
            transformer=builder,
            propagate_positions=False,
        )
        _PARSER.postlex, _PARSER.builder = postlex, builder
        try:
            _PARSER.fused = FusedParser(lark)
        except (AttributeError, KeyError, TypeError, AssertionError):
            # a lark whose insides differ from 1.2-1.3's: lark alone parses (correct, slower);
            # tests/test_fastlalr.py fails on such a lark so that it is seen
            _PARSER.fused = None
        _PARSER.lark = lark
    return _PARSER


# (line, column) just past a node's last character; spans are built from tokens, which always
# carry positions, because lark's position propagation cost a third of the parse.
_End = tuple[int, int]


def _end_of(tok: Token) -> _End:
    return (tok.end_line or 0, tok.end_column or 0)


class _ToAst(Transformer):
    """Builds the AST while lark parses (``Lark(transformer=…)``): no parse tree is kept.

    One instance per thread (``_Parser``) serves every parse of that thread; ``parse_text``
    sets the file being parsed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.path = ""
        self.lines: list[str] = []
        self.comments: list[Token] = []

    def keep_comment(self, tok: Token) -> Token:
        """The lexer's callback for COMMENT (comments are ignored by the grammar)."""
        self.comments.append(tok)
        return tok

    def _span(self, start: Token, end: _End) -> Span:
        return Span(self.path, start.line or 0, start.column or 0, end[0], end[1])

    def _name(self, tok: Token) -> Name:
        # token_span inlined: the hottest call of a parse (lexer tokens always have positions)
        return Name(str(tok), Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column))

    def start(self, children):
        return children

    def policy_header(self, children):
        keyword, name, rest = children[0], children[1], children[2:]
        deploy: tuple[Name, ValueList | None, _End] | None = None
        if rest and isinstance(rest[-1], tuple):
            deploy = rest.pop()
        description = self._unquote(rest[0]) if rest else None
        end = deploy[2] if deploy else _end_of((rest or [name])[-1])
        return PolicyHeader(
            self._name(name),
            description,
            self._span(keyword, end),
            deploy=deploy[0] if deploy else None,
            attach=deploy[1] if deploy else None,
        )

    def deploy_clause(self, children):
        target = self._name(children[1])
        if len(children) > 2:
            _, attach = self._clause("attach", children)
            return (target, attach, (attach.span.end_line, attach.span.end_col))
        return (target, None, _end_of(children[1]))

    def allow_rule(self, children):
        return replace(self.deny_rule(children), effect="allow")

    def deny_rule(self, children):
        keyword, (service, operations, end), rest = children[0], children[1], children[2:]
        when: tuple[ConditionNode, ...] = ()
        unless: tuple[ConditionNode, ...] = ()
        clauses: dict[str, ValueList | Value] = {}
        for kind, item in rest:
            if kind == "when":
                when = item
            elif kind == "unless":
                unless = item
            else:
                clauses[kind] = item
            last = item[-1].span if isinstance(item, tuple) else item.span
            end = (last.end_line, last.end_col)
        keyword_form = isinstance(children[1], _KeywordTarget)
        return RuleNode(
            service,
            operations,
            when,
            unless,
            keyword_form,
            self._span(keyword, end),
            excepts=clauses.get("except"),
            resources=clauses.get("on"),
            regions=clauses.get("region"),
            risk=clauses.get("risk"),
        )

    def _clause(self, kind: str, children) -> tuple[str, ValueList]:
        values, bracketed, end = children[-1]
        first = values[0].span
        return kind, ValueList(values, bracketed, Span(self.path, first.line, first.col, *end))

    def risk_clause(self, children):
        return "risk", children[-1]

    def except_clause(self, children):
        return self._clause("except", children)

    def on_clause(self, children):
        return self._clause("on", children)

    def region_clause(self, children):
        return self._clause("region", children)

    def positional_target(self, children):
        service, (operations, end) = children
        return (service, operations, end)

    def keyword_target(self, children):
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
        operations, end = children[-1]
        return _KeywordTarget((service, operations, end))

    def service_ref(self, children):
        name = children[0]
        version = self._name(children[1]) if len(children) > 1 else None
        return ServiceRef(self._name(name), version, self._span(name, _end_of(children[-1])))

    def version_kw(self, children):
        return self._name(children[0])

    def operations(self, children):
        names = tuple(self._name(tok) for tok in children if tok.type == "GLOB")
        return (names, _end_of(children[-1]))

    def when_clause(self, children):
        return ("when", children[0])

    def unless_clause(self, children):
        return ("unless", children[0])

    def conjunction(self, children):
        return tuple(children)

    def condition(self, children):
        (form, key, start), operator, (values, bracketed, end) = children
        span = Span(self.path, start.line or 0, start.column or 0, end[0], end[1])
        return ConditionNode(
            key,
            operator,
            values,
            bracketed,
            span,
            key_form=form,
            operator_span=self._operator_span(key.span, values[0].span),
        )

    def _operator_span(self, key: Span, value: Span) -> Span:
        """The operator's span, found in the text between the key and the first value (the
        operator's words are anonymous tokens, which carry no position once filtered)."""
        if key.end_line != value.line:
            return key
        line = self.lines[key.end_line - 1] if key.end_line - 1 < len(self.lines) else ""
        between = line[key.end_col - 1 : value.col - 1]
        between = between.rstrip("[ \t")
        stripped = between.lstrip(" \t")
        if not stripped:
            return key
        col = key.end_col + len(between) - len(stripped)
        return Span(self.path, key.end_line, col, key.end_line, col + len(stripped))

    def cond_double_equal(self, children):
        tok = children[1]
        raise _GrammarUse(
            error(
                "E0104",
                "`==` is not an operator",
                token_span(self.path, tok),
                help="write `=` (e.g. `mfa = false`)",
            )
        )

    def named_key(self, children):
        tok = children[0]
        return ("named", self._name(tok), tok)

    def quoted_key(self, children):
        tok = children[0]
        return ("quoted", Name(self._unquote(tok), token_span(self.path, tok)), tok)

    def unchecked_key(self, children):
        keyword, tok = children
        return ("unchecked", Name(self._unquote(tok), token_span(self.path, tok)), keyword)

    def value_list(self, children):
        values = tuple(c for c in children if isinstance(c, Value))
        last = children[-1]
        if isinstance(last, Token):
            return (values, True, _end_of(last))
        return (values, False, (last.span.end_line, last.span.end_col))

    def bare_value(self, children):
        tok = children[0]
        return Value(str(tok), token_span(self.path, tok))

    def quoted_value(self, children):
        tok = children[0]
        return Value(self._unquote(tok), token_span(self.path, tok), quoted=True)

    def _unquote(self, tok: Token) -> str:
        try:
            return unquote(str(tok))
        except BadEscape as exc:
            line, col = tok.line or 0, (tok.column or 1) + exc.offset
            span = Span(self.path, line, col, line, col + len(exc.escape))
            raise _GrammarUse(bad_escape(span, exc.escape)) from None


class _KeywordTarget(tuple):
    """Marks a target written as ``service=… op=…`` (the formatter keeps the form)."""

    __slots__ = ()


class _GrammarUse(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _operator(name: str) -> Callable:
    return lambda self, children: name


for _alias, _text in {
    "op_in": "in",
    "op_not_in": "not in",
    "op_in_ignorecase": "in ignorecase",
    "op_not_in_ignorecase": "not in ignorecase",
    "op_like": "like",
    "op_not_like": "not like",
    "op_eq": "=",
    "op_ne": "!=",
    "op_lt": "<",
    "op_le": "<=",
    "op_gt": ">",
    "op_ge": ">=",
    "op_before": "before",
    "op_after": "after",
    "op_at_or_before": "at or before",
    "op_at_or_after": "at or after",
    "op_at": "at",
    "op_not_at": "not at",
}.items():
    setattr(_ToAst, _alias, _operator(_text))


ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}
"""A quoted string's escapes: ``\\\\``, ``\\"``, ``\\n``, ``\\t`` (what ``fmt`` and ``import``
write). Any other backslash is an error (E0105): ``\\q`` or ``\\u00e9`` silently became ``q`` or
``u00e9``. Other characters are written as themselves (files are UTF-8)."""


class BadEscape(ValueError):
    def __init__(self, offset: int, escape: str):
        super().__init__(escape)
        self.offset = offset
        """Where the backslash stands in the quoted token, its opening quote at 0."""
        self.escape = escape


def unquote(text: str) -> str:
    """The value of a quoted token (``"…"``); raises BadEscape on an unknown escape."""
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in ESCAPES:
                raise BadEscape(i + 1, "\\" + nxt)
            out.append(ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def unquote_token(path: str, tok: Token) -> str:
    """``unquote`` for a lexer token; an unknown escape raises CompileError at its column."""
    try:
        return unquote(str(tok))
    except BadEscape as exc:
        line, col = tok.line or 0, (tok.column or 1) + exc.offset
        raise CompileError(
            [bad_escape(Span(path, line, col, line, col + len(exc.escape)), exc.escape)]
        ) from None


def bad_escape(span: Span, escape: str) -> Diagnostic:
    shown = escape if escape[1:].isprintable() else "\\?"
    return error(
        "E0105",
        f"unknown escape `{shown}` in a quoted string",
        span,
        help='the escapes are \\\\, \\", \\n and \\t; write any other character as itself',
    )


def parse_text(path: str, text: str) -> SourceFile:
    """Parse one rules file. Raises CompileError with positioned diagnostics."""
    return _parse(path, text, fused=True)


def _parse(path: str, text: str, fused: bool) -> SourceFile:
    """``fused``: try the one-loop driver first (``fastlalr``); lark itself parses whatever it
    hands back, so errors are lark's. ``fused=False`` is lark alone (the tests' oracle)."""
    parser = _parser()
    lark, postlex, builder = parser.lark, parser.postlex, parser.builder
    source = text if text.endswith("\n") else text + "\n"
    builder.path = path
    builder.lines = source.split("\n")
    try:
        items = None
        if fused and parser.fused is not None:
            builder.comments = []
            with suppress(Fallback):
                items = parser.fused.parse(source)
        if items is None:
            builder.comments = []
            items = lark.parse(source)
    except UnexpectedInput as exc:
        raise CompileError(
            [syntax_diagnostic(path, text, exc, lark, open_brackets=postlex.open_brackets)]
        ) from None
    except _GrammarUse as exc:
        raise CompileError([with_source(exc.diagnostic, text)]) from None
    finally:
        tokens, builder.comments = builder.comments, []
    comments = [Comment(str(t), token_span(path, t)) for t in tokens or ()]
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
