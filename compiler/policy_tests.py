"""Policy tests: ``*.tests`` files of expectations, run against the trie and the emitted JSON.

The language (grammar in ``language/tests.lark``), one expectation per line::

    # comments run to the end of the line; blank lines are ignored
    expect deny ECS RunInstances                    # SERVICE OPERATION
    expect deny ram:CreateSAMLProvider              # CODE:Operation, the RAM action itself
    expect allow ECS DescribeInstances when source_ip = 10.1.2.3
    expect deny ecs:RunCommand when source_ip = 203.0.113.7 and mfa = false
    expect allow rds:DeleteDBInstance when acs:CurrentTime = "2026-01-01T00:00:00Z"

- ``SERVICE`` is a catalog name or alias, case-insensitively; the action is built with the
  service's first owned RAM code (``IMS CreateUser`` → ``ims:CreateUser``). To test another
  code a service answers to (IMS under ``ram``), write the action as ``code:Operation``; the
  code must be a catalog RAM code and the operation one of a service that uses that code.
- The operation is checked against the catalog (every API version) and spelled as the catalog
  does. Expectations name concrete actions: a glob (``*``, ``?``) is an error.
- ``when KEY = VALUE (and KEY = VALUE)*`` is the request context. Keys are the rules
  language's names (source_ip, mfa, secure_transport, time, vpc, access_key) or their RAM keys
  (``acs:SourceIp``); each at most once. Values are checked for the key: one IP address, true
  or false, an ISO 8601 time in UTC ending in Z, or any text (bare or "quoted"). A key not
  given is absent from the request.

Which rules a tests file tests: every ``*.rules`` file in the same directory (not
subdirectories), compiled together as one rule set — so an expectation sees deny-wins across
all the policies that would be attached side by side.

Each expectation is decided twice: by the decision trie (``Policy.decide``) and by the
independent RAM evaluator over the emitted documents. It fails when either engine's decision
differs from the expectation, and also, separately, when the two engines disagree.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from .catalog import Catalog, default_catalog
from .emit.ram import Document
from .glob import glob_match, has_glob
from .keys import LANGUAGE_KEYS, KeyKind, ram_key
from .language.ast import Name, Value
from .language.diagnostics import CompileError, Diagnostic, Severity, Span, error
from .language.parser import decode_source
from .policy import Policy, compile_rules
from .ram import PolicyDocumentError, RamEvaluator

TESTS_SUFFIX = ".tests"
RULES_SUFFIX = ".rules"
MAX_TESTS_FILE_BYTES = 16 * 1024 * 1024
# A failure report lists at most this many candidate rules; a `*` rule set could list hundreds.
MAX_CANDIDATES = 10
_MAX_SUGGEST_INPUT = 80

Documents = list[tuple[str, dict]]


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

    @property
    def line(self) -> int:
        return self.span.line


@dataclass(frozen=True, slots=True)
class TestFile:
    __test__ = False  # not a pytest class

    path: str
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True, order=True)
class RuleRef:
    file: str
    line: int
    rule: str
    policy: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}"

    def to_dict(self) -> dict:
        return {"policy": self.policy, "file": self.file, "line": self.line, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class TestResult:
    __test__ = False

    expectation: Expectation
    trie: str
    json: str
    trie_rules: tuple[RuleRef, ...]
    """Rules the trie matched."""
    json_rules: tuple[RuleRef, ...]
    """Rules behind the JSON statements that matched (those whose own actions match)."""
    json_statements: tuple[str, ...]
    """Matched statements as ``document#N`` (1-based)."""
    candidates: tuple[RuleRef, ...] = ()
    """For a deny that did not happen: the rules under the action's RAM code."""

    @property
    def disagree(self) -> bool:
        return self.trie != self.json

    @property
    def failures(self) -> tuple[str, ...]:
        out = []
        want = self.expectation.expected
        for engine, got in (("trie", self.trie), ("json", self.json)):
            if got != want:
                out.append(f"{engine} engine decided {got}, expected {want}")
        if self.disagree:
            out.append(f"engines disagree: trie says {self.trie}, json says {self.json}")
        return tuple(out)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def rules(self) -> tuple[tuple[RuleRef, tuple[str, ...]], ...]:
        """Every rule involved, with the engines that matched it."""
        engines: dict[RuleRef, list[str]] = {}
        for ref in self.trie_rules:
            engines.setdefault(ref, []).append("trie")
        for ref in self.json_rules:
            engines.setdefault(ref, []).append("json")
        return tuple((ref, tuple(engines[ref])) for ref in sorted(engines))

    def to_dict(self) -> dict:
        exp = self.expectation
        return {
            "file": exp.span.file,
            "line": exp.span.line,
            "col": exp.span.col,
            "expectation": exp.text,
            "action": exp.action,
            "context": dict(exp.context),
            "expected": exp.expected,
            "trie": self.trie,
            "json": self.json,
            "passed": self.passed,
            "failures": list(self.failures),
            "rules": [{**ref.to_dict(), "engines": list(e)} for ref, e in self.rules],
            "json_statements": list(self.json_statements),
            "candidates": [ref.to_dict() for ref in self.candidates],
        }


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """One tests file: its results, or the diagnostics that kept it from running."""

    path: str
    rules_files: tuple[str, ...]
    results: tuple[TestResult, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed


@dataclass(frozen=True, slots=True)
class TestRun:
    __test__ = False

    suites: tuple[SuiteResult, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    """Problems that belong to no tests file (a missing path, nothing found)."""

    @property
    def passed(self) -> int:
        return sum(s.passed for s in self.suites)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.suites)

    @property
    def all_diagnostics(self) -> list[Diagnostic]:
        return [*self.diagnostics, *(d for s in self.suites for d in s.diagnostics)]

    @property
    def ok(self) -> bool:
        errors = [d for d in self.all_diagnostics if d.severity is Severity.ERROR]
        return not errors and self.failed == 0

    @property
    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "errors": [d.to_dict() for d in self.all_diagnostics],
            "files": [
                {
                    "path": s.path,
                    "rules_files": list(s.rules_files),
                    "passed": s.passed,
                    "failed": s.failed,
                    "results": [r.to_dict() for r in s.results],
                }
                for s in self.suites
            ],
        }


# --- parsing -------------------------------------------------------------------------------

_EXPECTED_NAMES = {
    "NAME": "a service or operation name",
    "KEY": "a condition key",
    "VALUE": "a value",
    "STRING": 'a "quoted string"',
    "_NL": "end of line",
    "$END": "end of file",
}


@cache
def _parser() -> Lark:
    grammar = resources.files("compiler.language").joinpath("tests.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        strict=True,
    )


def _tok_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


@dataclass(frozen=True, slots=True)
class _Raw:
    """An expectation as written, before the catalog has been asked."""

    effect: str
    service: Name | None
    code: Name | None
    operation: Name
    pairs: tuple[tuple[Name, Value], ...]
    span: Span


class _ToRaw(Transformer):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _name(self, tok: Token) -> Name:
        return Name(str(tok), _tok_span(self.path, tok))

    def start(self, children):
        return children

    @v_args(meta=True)
    def expectation(self, meta, children):
        effect, (service, code, operation) = children[0], children[1]
        pairs = children[2] if len(children) > 2 else ()
        span = Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)
        return _Raw(effect, service, code, operation, pairs, span)

    def deny(self, children):
        return "deny"

    def allow(self, children):
        return "allow"

    def service_action(self, children):
        return (self._name(children[0]), None, self._name(children[1]))

    def code_action(self, children):
        return (None, self._name(children[0]), self._name(children[1]))

    def context(self, children):
        return tuple(children)

    def pair(self, children):
        return (self._name(children[0]), children[1])

    def bare_value(self, children):
        return Value(str(children[0]), _tok_span(self.path, children[0]))

    def quoted_value(self, children):
        tok = children[0]
        body, out, i = str(tok)[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                out.append({"n": "\n", "t": "\t"}.get(body[i + 1], body[i + 1]))
                i += 2
            else:
                out.append(body[i])
                i += 1
        return Value("".join(out), _tok_span(self.path, tok), quoted=True)


def parse_tests(path: str, text: str, catalog: Catalog | None = None) -> TestFile:
    """Parse and check one tests file. Raises CompileError with positioned diagnostics."""
    catalog = catalog or default_catalog()
    source = text if text.endswith("\n") else text + "\n"
    lark = _parser()
    try:
        tree = lark.parse(source)
    except UnexpectedInput as exc:
        raise CompileError([_syntax_diagnostic(path, text, exc, lark)]) from None
    raws: list[_Raw] = _ToRaw(path).transform(tree)
    diags: list[Diagnostic] = []
    lines = text.splitlines()
    out: list[Expectation] = []
    for raw in raws:
        found: list[Diagnostic] = []
        action = _resolve_action(raw, catalog, found)
        context = _check_context(raw.pairs, found)
        if found:
            diags.extend(_with_source(d, text) for d in found)
            continue
        line = lines[raw.span.line - 1]
        written = line[raw.span.col - 1 : raw.span.end_col - 1].strip()
        out.append(Expectation(raw.effect, action, context, written, raw.span))
    if diags:
        raise CompileError(diags)
    return TestFile(path, tuple(out))


def load_tests(path: str | os.PathLike, catalog: Catalog | None = None) -> TestFile:
    """Read, parse and check one ``*.tests`` file. Raises CompileError."""
    return parse_tests(str(path), _read(Path(path)), catalog)


def _read(path: Path) -> str:
    name = str(path)
    try:
        if path.is_dir():
            raise CompileError([error("E0002", "is a directory, not a tests file", Span(name))])
        size = path.stat().st_size
        if size > MAX_TESTS_FILE_BYTES:
            raise CompileError(
                [
                    error(
                        "E0003",
                        f"file is {size} bytes; tests files are limited to {MAX_TESTS_FILE_BYTES}",
                        Span(name),
                    )
                ]
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise CompileError([error("E0004", "no such file", Span(name))]) from None
    except PermissionError:
        raise CompileError([error("E0005", "permission denied", Span(name))]) from None
    except OSError as exc:
        raise CompileError([error("E0006", f"cannot read: {exc.strerror}", Span(name))]) from None
    return decode_source(name, data)


def _with_source(d: Diagnostic, text: str) -> Diagnostic:
    return Diagnostic(d.code, d.severity, d.message, d.span, d.help, text)


def _short(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return "".join(ch if ch.isprintable() else "?" for ch in shown)


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    if not name or len(name) > _MAX_SUGGEST_INPUT:
        return None
    lowered = {c.lower(): c for c in sorted(candidates)}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _glob_error(name: Name) -> Diagnostic:
    return error(
        "E0502",
        f"`{_short(name.text)}` is a glob; expectations name concrete actions",
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
                    f"unknown service `{_short(raw.service.text)}`",
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
            hint = _suggest(raw.code.text, codes)
            diags.append(
                error(
                    "E0505",
                    f"unknown RAM code `{_short(raw.code.text)}`",
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
    hint = _suggest(op.text, (o for s in pool for o in s.operations()))
    where = " or ".join(s.name for s in pool)
    diags.append(
        error(
            "E0504",
            f"unknown operation `{_short(op.text)}` for {where}",
            op.span,
            help=f"did you mean {hint}?" if hint else "",
        )
    )
    return ""


def _check_context(
    pairs: Sequence[tuple[Name, Value]], diags: list[Diagnostic]
) -> tuple[tuple[str, str], ...]:
    seen: dict[str, Name] = {}
    out: list[tuple[str, str]] = []
    kinds = {ram: kind for ram, kind in LANGUAGE_KEYS.values()}
    for key, value in pairs:
        canonical = ram_key(key.text)
        if canonical is None:
            names = [*LANGUAGE_KEYS, *kinds]
            hint = _suggest(key.text, names)
            diags.append(
                error(
                    "E0506",
                    f"unknown context key `{_short(key.text)}`",
                    key.span,
                    help=f"did you mean {hint}?"
                    if hint
                    else "known keys: " + ", ".join(LANGUAGE_KEYS),
                )
            )
            continue
        if canonical in seen:
            diags.append(
                error(
                    "E0507",
                    f"context key `{canonical}` given twice",
                    key.span,
                    help=f"first given at line {seen[canonical].span.line}, column "
                    f"{seen[canonical].span.col}; a request has one value per key",
                )
            )
            continue
        seen[canonical] = key
        checked = _check_value(kinds[canonical], value, diags)
        if checked is not None:
            out.append((canonical, checked))
    return tuple(out)


def _check_value(kind: KeyKind, value: Value, diags: list[Diagnostic]) -> str | None:
    text = value.text
    problem: tuple[str, str] | None = None
    if kind is KeyKind.IP:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            problem = "an IP address", "a request has one source address, e.g. 203.0.113.7"
    elif kind is KeyKind.BOOL:
        if text not in ("true", "false"):
            problem = "a boolean", "write true or false"
    elif kind is KeyKind.TIME:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is None or "T" not in text or when.utcoffset() != UTC.utcoffset(None):
            problem = (
                "a time in UTC",
                "write an ISO 8601 time ending in Z, e.g. 2026-12-01T00:00:00Z",
            )
    elif not text or not text.isprintable():
        problem = "a value", "write a non-empty, printable value"
    if problem:
        what, help_text = problem
        diags.append(error("E0508", f"`{_short(text)}` is not {what}", value.span, help=help_text))
        return None
    return text


def _describe_expected(expected: Iterable[str], lark: Lark) -> str:
    literals = {
        t.name: f"`{t.pattern.value}`" for t in lark.terminals if isinstance(t.pattern, PatternStr)
    }
    names = sorted(
        {_EXPECTED_NAMES.get(e) or literals.get(e) or f"`{e.lower()}`" for e in expected}
        - {"end of line"}
    )
    if "_NL" in expected:
        names.append("end of line")
    if not names:
        return ""
    return ("expected " if len(names) == 1 else "expected one of: ") + ", ".join(names)


def _syntax_diagnostic(path: str, text: str, exc: UnexpectedInput, lark: Lark) -> Diagnostic:
    lines = text.splitlines() or [""]

    def clamp(line: int, col: int) -> tuple[int, int]:
        if line < 1:
            return 1, 1
        if line > len(lines):
            return len(lines), len(lines[-1]) + 1
        return line, max(col, 1)

    if isinstance(exc, UnexpectedCharacters):
        line, col = clamp(exc.line, exc.column)
        return error(
            "E0500",
            f"unexpected character `{_short(exc.char)}`",
            Span(path, line, col, line, col + 1),
            help=_describe_expected(exc.allowed, lark),
            source=text,
        )
    token = getattr(exc, "token", None)
    if isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END"):
        line, col = clamp(len(lines) + 1, 1)
        return error(
            "E0500",
            "unexpected end of file",
            Span(path, line, col, line, col + 1),
            help=_describe_expected(getattr(exc, "expected", ()), lark),
            source=text,
        )
    assert isinstance(exc, UnexpectedToken)
    line, col = clamp(exc.line, exc.column)
    if token.type == "_NL":
        what, end = "end of line", col + 1
    else:
        what = f"`{_short(str(token), 40)}`"
        end = token.end_column if token.end_line == token.line and token.end_column else col + 1
    return error(
        "E0500",
        f"unexpected {what}",
        Span(path, line, col, line, end),
        help=_describe_expected(exc.expected, lark),
        source=text,
    )


# --- running -------------------------------------------------------------------------------


def find_tests(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[Diagnostic]]:
    """Files as given; directories → their ``*.tests`` files, recursively. Sorted, unique."""
    found: dict[Path, Path] = {}
    diags: list[Diagnostic] = []
    given = [Path(p) for p in paths]
    for path in given:
        if path.is_dir():
            for p in sorted(path.rglob(f"*{TESTS_SUFFIX}")):
                if p.is_file():
                    found.setdefault(p.resolve(), p)
        elif path.exists() and path.name.endswith(TESTS_SUFFIX):
            found.setdefault(path.resolve(), path)
        elif path.exists():
            diags.append(
                error(
                    "E0513",
                    f"not a *{TESTS_SUFFIX} file",
                    Span(str(path)),
                    help=f"give a *{TESTS_SUFFIX} file or a directory to search for them",
                )
            )
        else:
            diags.append(error("E0004", "no such file or directory", Span(str(path))))
    if not found and not diags:
        where = ", ".join(map(str, given)) or "."
        diags.append(
            error(
                "E0510",
                f"no *{TESTS_SUFFIX} files found",
                Span(where),
                help=f"a tests file sits beside the *{RULES_SUFFIX} files it tests",
            )
        )
    return sorted(found.values()), diags


@dataclass(slots=True)
class _Engines:
    policy: Policy
    evaluator: RamEvaluator
    documents: dict[str, Document] = field(default_factory=dict)


def run_tests(
    paths: Iterable[str | os.PathLike] = ("policies",),
    *,
    catalog: Catalog | None = None,
    transform_documents: Callable[[Documents], Documents] | None = None,
) -> TestRun:
    """Run every tests file under ``paths`` against the rules of its directory.

    ``transform_documents`` rewrites the emitted documents before the RAM evaluator reads them;
    it exists so that a test can make the two engines disagree on purpose.
    """
    catalog = catalog or default_catalog()
    files, run_diags = find_tests(paths)
    engines: dict[Path, tuple[tuple[str, ...], _Engines | None, tuple[Diagnostic, ...]]] = {}
    suites: list[SuiteResult] = []
    for path in files:
        directory = path.parent
        if directory not in engines:
            engines[directory] = _build(directory, catalog, transform_documents)
        rules_files, built, compile_diags = engines[directory]
        try:
            tests = load_tests(path, catalog)
        except CompileError as exc:
            suites.append(
                SuiteResult(str(path), rules_files, (), (*compile_diags, *exc.diagnostics))
            )
            continue
        if not rules_files:
            missing = error(
                "E0511",
                f"no *{RULES_SUFFIX} files beside this tests file",
                Span(str(path)),
                help="a tests file tests every rules file in its own directory",
            )
            suites.append(SuiteResult(str(path), rules_files, (), (missing,)))
            continue
        if built is None:
            suites.append(SuiteResult(str(path), rules_files, (), compile_diags))
            continue
        results = tuple(_run_one(e, built) for e in tests.expectations)
        suites.append(SuiteResult(str(path), rules_files, results))
    return TestRun(tuple(suites), tuple(run_diags))


def _build(
    directory: Path, catalog: Catalog, transform: Callable[[Documents], Documents] | None
) -> tuple[tuple[str, ...], _Engines | None, tuple[Diagnostic, ...]]:
    rules = sorted(p for p in directory.glob(f"*{RULES_SUFFIX}") if p.is_file())
    names = tuple(str(p) for p in rules)
    if not rules:
        return names, None, ()
    try:
        policy = compile_rules(rules, catalog)
    except CompileError as exc:
        return names, None, tuple(exc.diagnostics)
    docs: Documents = [(d.filename, d.as_dict()) for d in policy.documents]
    if transform is not None:
        docs = transform(docs)
    try:
        evaluator = RamEvaluator(docs)
    except PolicyDocumentError as exc:
        return (
            names,
            None,
            (
                error(
                    "E0512",
                    f"the RAM evaluator rejects an emitted document: {exc}",
                    Span(str(directory)),
                ),
            ),
        )
    return names, _Engines(policy, evaluator, {d.filename: d for d in policy.documents}), ()


def _run_one(exp: Expectation, engines: _Engines) -> TestResult:
    context = dict(exp.context)
    decision = engines.policy.decide(exp.action, context)
    trie_rules = tuple(sorted(RuleRef(m.file, m.line, m.rule, m.policy) for m in decision.matched))
    evaluation = engines.evaluator.evaluate(exp.action, context)
    by_index = {r.index: r for r in engines.policy.rules}
    json_rules: set[RuleRef] = set()
    statements: list[str] = []
    for ref in evaluation.matched:
        if ref.effect != "Deny":
            continue
        statements.append(f"{ref.document}#{ref.statement}")
        doc = engines.documents.get(ref.document)
        if doc is None or not 1 <= ref.statement <= len(doc.statements):
            continue
        # A statement serves every rule with the same condition: name only those whose own
        # actions cover this request.
        for index in doc.statements[ref.statement - 1].rules:
            rule = by_index.get(index)
            if rule and any(glob_match(a, exp.action) for a in rule.actions):
                json_rules.add(RuleRef(rule.file, rule.line, rule.text, rule.policy))
    json_decision = evaluation.decision
    candidates: tuple[RuleRef, ...] = ()
    if exp.expected == "deny" and "allow" in (decision.decision, json_decision):
        code = exp.action.partition(":")[0]
        candidates = tuple(
            sorted(
                RuleRef(r.file, r.line, r.text, r.policy)
                for r in engines.policy.rules
                if any(glob_match(a.partition(":")[0], code) for a in r.actions)
            )
        )
    return TestResult(
        exp,
        decision.decision,
        json_decision,
        trie_rules,
        tuple(sorted(json_rules)),
        tuple(statements),
        candidates,
    )


# --- reporting -----------------------------------------------------------------------------


def failure_details(result: TestResult) -> str:
    """What a reader needs to fix a failed expectation, as indented lines."""
    exp = result.expectation
    lines = [f"expected {exp.expected}; trie: {result.trie}, json: {result.json}"]
    if result.disagree:
        lines.append("engines disagree: the emitted JSON does not mean what the trie decides")
    if exp.context:
        lines.append("context: " + ", ".join(f"{k}={v}" for k, v in exp.context))
    if result.rules:
        lines.append("matched rules:")
        for ref, engines in result.rules:
            lines.append(f"  {ref}  [{', '.join(engines)}]")
    if result.json_statements and not result.json_rules:
        lines.append("matched JSON statements: " + ", ".join(result.json_statements))
    if result.candidates:
        code = exp.action.partition(":")[0]
        lines.append(f"no rule denied it; rules under `{code}`:")
        lines.extend(f"  {ref}" for ref in result.candidates[:MAX_CANDIDATES])
        if len(result.candidates) > MAX_CANDIDATES:
            lines.append(f"  … and {len(result.candidates) - MAX_CANDIDATES} more")
    elif exp.expected == "deny" and not result.rules:
        lines.append(f"no rule covers any action under `{exp.action.partition(':')[0]}`")
    return "\n".join(lines)


def to_junit(run: TestRun) -> bytes:
    """JUnit XML: one testsuite per tests file, one testcase per expectation."""
    root = ET.Element("testsuites", name="ramguard test")
    total = failures = errors = 0
    suites = list(run.suites)
    if run.diagnostics:
        suites.insert(0, SuiteResult("ramguard test", (), (), run.diagnostics))
    for suite in suites:
        node = ET.SubElement(root, "testsuite", name=suite.path)
        n_errors = 1 if suite.diagnostics else 0
        for result in suite.results:
            exp = result.expectation
            case = ET.SubElement(
                node,
                "testcase",
                name=f"line {exp.line}: {exp.text}",
                classname=suite.path,
                file=exp.span.file,
                line=str(exp.line),
            )
            if not result.passed:
                failure = ET.SubElement(case, "failure", message="; ".join(result.failures))
                failure.text = failure_details(result)
        if suite.diagnostics:
            case = ET.SubElement(node, "testcase", name="load", classname=suite.path)
            first = suite.diagnostics[0]
            err = ET.SubElement(case, "error", message=f"{first.span}: {first.message}")
            err.text = "\n".join(d.render() for d in suite.diagnostics)
        n_tests = len(suite.results) + n_errors
        node.set("tests", str(n_tests))
        node.set("failures", str(suite.failed))
        node.set("errors", str(n_errors))
        total, failures, errors = total + n_tests, failures + suite.failed, errors + n_errors
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


__all__ = [
    "Expectation",
    "RuleRef",
    "SuiteResult",
    "TestFile",
    "TestResult",
    "TestRun",
    "failure_details",
    "find_tests",
    "load_tests",
    "parse_tests",
    "run_tests",
    "to_junit",
]
