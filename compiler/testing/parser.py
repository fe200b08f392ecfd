"""Policy tests text → ``TestFile``: lark parses ``tests.lark``, the catalog checks each line.

The language, one expectation per line::

    # comments run to the end of the line; blank lines are ignored
    expect deny ECS RunInstances                    # SERVICE OPERATION
    expect deny ram:CreateSAMLProvider              # CODE:Operation, the RAM action itself
    expect allow ECS DescribeInstances when source_ip = 10.1.2.3
    expect deny ecs:RunCommand when source_ip = 203.0.113.7 and mfa = false
    expect allow rds:DeleteDBInstance when acs:CurrentTime = "2026-01-01T00:00:00Z"
    expect deny ecs:DeleteInstance on acs:ecs:cn-hangzhou:123:instance/i-prod1
    account 1234567890                              # the lines below: requests of this member
    expect deny RDS CreateDBInstance                #   account, along its org.toml chain
    expect allow ECS RunInstances in 2222222222     # this line: another account (or folder)

- ``SERVICE`` is a catalog name or alias, case-insensitively; the action is built with the
  service's first owned RAM code (``IMS CreateUser`` → ``ims:CreateUser``). To test another
  code a service answers to (IMS under ``ram``), write the action as ``code:Operation``; the
  code must be a catalog RAM code and the operation one of a service that uses that code.
- The operation is checked against the catalog (every API version) and spelled as the catalog
  does. Expectations name concrete actions: a glob (``*``, ``?``) is an error.
- ``when KEY = VALUE (and KEY = VALUE)*`` is the request context. Keys are those
  ``ramguard decide -c`` takes: the rules language's names (source_ip, mfa, secure_transport,
  time, vpc, access_key, …), their RAM keys (``acs:SourceIp``), tag and service keys
  (``resource_tag:env``, ``oss:Prefix``), and an ``acs:`` key RAM does not define where an
  ``unchecked`` rule covering the action tests it; each at most once. Values are checked
  for the key: one IP address, true or false, an ISO 8601 time in UTC ending in Z, or any
  text (bare or "quoted"). A key not given is absent from the request.
- ``on ARN`` is the request's resource: one concrete ARN
  ``acs:<service>:<region>:<account>:<resource>`` (no glob). Without it the resource is
  unknown, so rules scoped to resources do not match (as ``decide`` without ``--resource``).
- ``account ID`` (a line of its own) and ``in ID`` (on one expectation) name the Resource
  Directory member (or folder) the request comes from: it is decided along that node's chain
  ``Root → folders → node`` in the ``org.toml`` beside the rules (issue 12 item 2), each level
  needing an Allow and no Deny. An expectation with no account is decided as without an org
  (the rules together, deny wins, FullAliyunAccess everywhere). The id is checked against
  org.toml when the tests run.
- A line the catalog cannot resolve (an unknown service, code or operation, a bad key or
  value) is reported at its position and the file's other lines still run (``parse_tests``
  with ``keep_going=True``, as the runner calls it); a syntax error stops the file.

Syntax errors and catalog misses become positioned ``Diagnostic`` values (E05xx); nothing from
lark escapes this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from compiler.catalog import Catalog, default_catalog, suggest
from compiler.language.ast import Name, Value
from compiler.language.diagnostics import CompileError, Diagnostic, Span, error, shorten
from compiler.language.parser import (
    lalr,
    syntax_diagnostic,
    token_span,
    unquote_token,
    with_source,
)
from compiler.language.sources import read_source
from compiler.model.glob import has_glob
from compiler.model.keys import (
    LANGUAGE_KEYS,
    KeyKind,
    ValueProblem,
    key_kind,
    parse_value,
    ram_key,
    unknown_key,
)
from compiler.model.resolve_resources import request_arn_problem

MAX_TESTS_FILE_BYTES = 16 * 1024 * 1024
_MAX_SUGGEST_INPUT = 80

# What the user should read instead of lark's terminal names; keywords read as themselves.
_EXPECTED_NAMES = {
    "NAME": "a service or operation name",
    "KEY": "a condition key",
    "VALUE": "a value",
    "STRING": 'a "quoted string"',
    "_NL": "end of line",
    "$END": "end of file",
}


@dataclass(frozen=True, slots=True)
class Expectation:
    expected: str
    """``deny`` or ``allow``."""
    action: str
    """The RAM action, ``code:Operation`` in catalog spelling."""
    context: tuple[tuple[str, str], ...]
    """(RAM key, value) pairs in the order written."""
    text: str
    """The expectation as written, comment dropped."""
    span: Span
    resource: str | None = None
    """The request's resource ARN (``on ARN``); None: unknown."""
    account: Name | None = None
    """The Resource Directory node the request comes from (``account ID`` / ``in ID``);
    None: decided without an org chain."""

    @property
    def line(self) -> int:
        return self.span.line


@dataclass(frozen=True, slots=True)
class TestFile:
    __test__ = False  # not a pytest class

    path: str
    expectations: tuple[Expectation, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    """Lines that could not be checked (only with ``keep_going=True``); the rest run."""
    text: str = field(default="", compare=False, repr=False)
    """The file's text (diagnostics found later, e.g. an account org.toml lacks, show it)."""


@cache
def _parser() -> Lark:
    return lalr("tests.lark", __package__)


@dataclass(frozen=True, slots=True)
class _Raw:
    """An expectation as written, before the catalog has been asked."""

    effect: str
    service: Name | None
    code: Name | None
    operation: Name
    pairs: tuple[tuple[Name, Value], ...]
    span: Span
    resource: Value | None = None
    account: Name | None = None


class _ToRaw(Transformer):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _name(self, tok: Token) -> Name:
        return Name(str(tok), token_span(self.path, tok))

    def start(self, children):
        return children

    @v_args(meta=True)
    def expectation(self, meta, children):
        effect, (service, code, operation) = children[0], children[1]
        rest = children[2:]
        resource = rest.pop(0)[1] if rest and rest[0][0] == "on" else None
        account = rest.pop(0)[1] if rest and rest[0][0] == "in" else None
        pairs = rest[0][1] if rest else ()
        span = Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)
        return _Raw(effect, service, code, operation, pairs, span, resource, account)

    def on(self, children):
        return ("on", children[0])

    def within(self, children):
        return ("in", self._name(children[0]))

    def account_line(self, children):
        return _Account(self._name(children[0]))

    def deny(self, children):
        return "deny"

    def allow(self, children):
        return "allow"

    def service_action(self, children):
        return (self._name(children[0]), None, self._name(children[1]))

    def code_action(self, children):
        return (None, self._name(children[0]), self._name(children[1]))

    def context(self, children):
        return ("when", tuple(children))

    def pair(self, children):
        return (self._name(children[0]), children[1])

    def bare_value(self, children):
        return Value(str(children[0]), token_span(self.path, children[0]))

    def quoted_value(self, children):
        tok = children[0]
        return Value(unquote_token(self.path, tok), token_span(self.path, tok), quoted=True)


Reads = Callable[[str, str | None], Collection[str]]
"""(action, account or None) → the context keys its decision reads (``Policy.reads``)."""


def parse_tests(
    path: str,
    text: str,
    catalog: Catalog | None = None,
    *,
    keep_going: bool = False,
    reads: Reads | None = None,
) -> TestFile:
    """Parse and check one tests file. Raises CompileError with positioned diagnostics.

    With ``keep_going`` a line that fails its checks is left out and its diagnostics are
    returned in ``TestFile.diagnostics``; only a syntax error raises. ``reads``: the rules'
    (the runner's ``Policy.reads``), so that a context may hold an ``acs:`` key RAM does not
    define where an ``unchecked`` rule covering the line's action tests it, as
    ``ramguard decide -c`` takes it (``compiler.model.keys.unknown_key``).
    """
    catalog = catalog or default_catalog()
    source = text if text.endswith("\n") else text + "\n"
    lark = _parser()
    try:
        tree = lark.parse(source)
    except UnexpectedInput as exc:
        diag = syntax_diagnostic(
            path, text, exc, lark, code="E0500", names=_EXPECTED_NAMES, show=_show_token
        )
        raise CompileError([diag]) from None
    try:
        raws: list[_Raw | _Account] = _ToRaw(path).transform(tree)
    except VisitError as exc:  # lark wraps what a callback raises
        if isinstance(exc.orig_exc, CompileError):
            raise CompileError([with_source(d, text) for d in exc.orig_exc.diagnostics]) from None
        raise
    diags: list[Diagnostic] = []
    lines = text.split("\n")  # as lark counts lines: only \n ends one
    out: list[Expectation] = []
    current: Name | None = None  # the last `account ID` line's node
    for raw in raws:
        found: list[Diagnostic] = []
        if isinstance(raw, _Account):
            current = _check_account(raw.node, found)
            diags.extend(with_source(d, text) for d in found)
            continue
        action = _resolve_action(raw, catalog, found)
        resource = _check_resource(raw.resource, found)
        account = _check_account(raw.account, found) if raw.account else current
        read = reads(action, account.text if account else None) if reads and action else ()
        context = _check_context(raw.pairs, found, read)
        if found:
            diags.extend(with_source(d, text) for d in found)
            continue
        line = lines[raw.span.line - 1]
        written = line[raw.span.col - 1 : raw.span.end_col - 1].strip()
        out.append(Expectation(raw.effect, action, context, written, raw.span, resource, account))
    if diags and not keep_going:
        raise CompileError(diags)
    return TestFile(path, tuple(out), tuple(diags), text)


def load_tests(
    path: str | os.PathLike,
    catalog: Catalog | None = None,
    *,
    keep_going: bool = False,
    reads: Reads | None = None,
) -> TestFile:
    """Read, parse and check one ``*.tests`` file. Raises CompileError."""
    text = read_source(Path(path), "tests", MAX_TESTS_FILE_BYTES)
    return parse_tests(str(path), text, catalog, keep_going=keep_going, reads=reads)


@dataclass(frozen=True, slots=True)
class _Account:
    """An ``account ID`` line: the node of the expectations that follow it."""

    node: Name


def _check_account(name: Name | None, diags: list[Diagnostic]) -> Name | None:
    """A Resource Directory node id as org.toml writes them: no glob (one request, one node)."""
    if name is None or not has_glob(name.text):
        return name
    diags.append(
        error(
            "E0516",
            f"`{shorten(name.text)}` is a glob; a request comes from one account",
            name.span,
            help="write the member account's id (or a folder's) as org.toml names it",
        )
    )
    return None


def _check_resource(value: Value | None, diags: list[Diagnostic]) -> str | None:
    """One concrete ARN (``request_arn_problem``, the rule ``decide --resource`` takes)."""
    if value is None:
        return None
    problem = request_arn_problem(value.text)
    if problem is not None:
        code, message, help_text = problem
        diags.append(error(code, message, value.span, help=help_text))
        return None
    return value.text


def _show_token(text: str) -> str:
    return shorten(text, 40)


def _glob_error(name: Name) -> Diagnostic:
    return error(
        "E0502",
        f"`{shorten(name.text)}` is a glob; expectations name concrete actions",
        name.span,
        help="write one service and one operation, e.g. `expect deny ECS RunInstances`",
    )


def _resolve_action(raw: _Raw, catalog: Catalog, diags: list[Diagnostic]) -> str:
    op = raw.operation
    head = raw.service or raw.code
    assert head is not None
    globs = [n for n in (head, op) if has_glob(n.text)]
    if globs:
        diags.extend(_glob_error(n) for n in globs)
        return ""
    if raw.service is not None:
        svc = catalog.service(raw.service.text)
        if svc is None:
            hint = catalog.suggest_service(raw.service.text)
            diags.append(
                error(
                    "E0503",
                    f"unknown service `{shorten(raw.service.text)}`",
                    raw.service.span,
                    help=f"did you mean {hint}?"
                    if hint
                    else "known services: " + ", ".join(s.name for s in catalog.services),
                )
            )
            return ""
        code, pool = svc.ram_codes[0], [svc]
    else:
        assert raw.code is not None
        pool = [s for s in catalog.services if raw.code.text.lower() in s.all_codes]
        if not pool:
            codes = sorted({c for s in catalog.services for c in s.all_codes})
            hint = suggest(raw.code.text, codes)
            diags.append(
                error(
                    "E0505",
                    f"unknown RAM code `{shorten(raw.code.text)}`",
                    raw.code.span,
                    help=f"did you mean {hint}?" if hint else "known codes: " + ", ".join(codes),
                )
            )
            return ""
        code = raw.code.text.lower()
    for svc in pool:
        canonical = svc.canonical_operation(op.text)
        if canonical is not None:
            return f"{code}:{canonical}"
    hint = suggest(op.text, (o for s in pool for o in s.operations()))
    where = " or ".join(s.name for s in pool)
    diags.append(
        error(
            "E0504",
            f"unknown operation `{shorten(op.text)}` for {where}",
            op.span,
            help=f"did you mean {hint}?" if hint else "",
        )
    )
    return ""


def _check_context(
    pairs: Sequence[tuple[Name, Value]], diags: list[Diagnostic], reads: Collection[str] = ()
) -> tuple[tuple[str, str], ...]:
    """Keys as ``ramguard decide -c`` takes them (``unknown_key``): the language's names, RAM
    keys in any case, service keys (``oss:Prefix``), and an ``acs:`` key only RAM's own or
    one in ``reads``."""
    seen: dict[str, Name] = {}
    out: list[tuple[str, str]] = []
    kinds = {ram: kind for ram, kind in LANGUAGE_KEYS.values()}
    for key, value in pairs:
        canonical = ram_key(key.text) or key.text
        if unknown_key(key.text, reads) is not None:
            names = [*LANGUAGE_KEYS, *kinds, *sorted(reads)]
            hint = suggest(key.text, names)
            diags.append(
                error(
                    "E0506",
                    f"unknown context key `{shorten(key.text)}`",
                    key.span,
                    help=f"did you mean {hint}?"
                    if hint
                    else "known keys: " + ", ".join(LANGUAGE_KEYS),
                )
            )
            continue
        # Key names are case-insensitive, as the RAM evaluator reads them (``fold_keys``).
        folded = canonical.lower()
        if folded in seen:
            diags.append(
                error(
                    "E0507",
                    f"context key `{canonical}` given twice",
                    key.span,
                    help=f"first given at line {seen[folded].span.line}, column "
                    f"{seen[folded].span.col}; a request has one value per key",
                )
            )
            continue
        seen[folded] = key
        checked = _check_value(key_kind(canonical), value, diags)
        if checked is not None:
            out.append((canonical, checked))
    return tuple(out)


def _check_value(kind: KeyKind, value: Value, diags: list[Diagnostic]) -> str | None:
    """The one value parser rules and ``decide -c`` use (``compiler.model.keys.parse_value``),
    stricter for IPs: a request has one source address, not a CIDR block."""
    try:
        return parse_value(kind, value.text, cidr=False)
    except ValueProblem as problem:
        help_text = problem.help
        if kind is KeyKind.IP:
            help_text = "a request has one source address, e.g. 203.0.113.7"
        diags.append(error("E0508", problem.message, value.span, help=help_text))
        return None


__all__ = [
    "MAX_TESTS_FILE_BYTES",
    "Expectation",
    "TestFile",
    "load_tests",
    "parse_tests",
]
