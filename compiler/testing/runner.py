"""Policy tests: run ``*.tests`` expectations against the trie and the emitted JSON, report.

The language and its parser live in ``testing/parser.py``; an expectation such as
``expect deny ECS RunInstances when source_ip = 203.0.113.7`` names one concrete action and a
request context.

Which rules a tests file tests: every ``*.rules`` file in the same directory (not
subdirectories), compiled together as one rule set — so an expectation sees deny-wins across
all the policies that would be attached side by side.

Each expectation is decided twice: by the decision trie (``Policy.decide``) and by the
independent RAM evaluator over the emitted documents. It fails when either engine's decision
differs from the expectation, and also, separately, when the two engines disagree.

Over 400 lines: running an expectation on both engines, the disagreement report and the result
shape change together.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from compiler.catalog import Catalog, default_catalog
from compiler.decide.chain import ChainDecision
from compiler.emit.ram import Document
from compiler.files import xml_text
from compiler.language.diagnostics import CompileError, Diagnostic, Severity, Span, error
from compiler.language.parser import with_source
from compiler.language.sources import RULES_SUFFIX
from compiler.model.glob import glob_match
from compiler.model.org import Org, find_org
from compiler.policy import Policy, compile_rules
from compiler.ram import PolicyDocumentError, RamEvaluator
from compiler.ram.chain import ChainEvaluator, ChainNode
from compiler.testing.parser import (
    MAX_TESTS_FILE_BYTES,
    Expectation,
    TestFile,
    load_tests,
    parse_tests,
)

TESTS_SUFFIX = ".tests"
# A failure report lists at most this many candidate rules; a `*` rule set could list hundreds.
MAX_CANDIDATES = 10

Documents = list[tuple[str, dict]]


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
    chain: ChainDecision | None = None
    """With an account: the trie's per-node verdicts along its org.toml chain."""
    json_chain: tuple[tuple[str, str], ...] = ()
    """With an account: (node, outcome) as the RAM evaluator read the emitted JSON."""

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
            **(
                {
                    "account": self.chain.account,
                    "chain": [n.to_dict() for n in self.chain.nodes],
                    "json_chain": [{"node": n, "outcome": o} for n, o in self.json_chain],
                }
                if self.chain is not None
                else {}
            ),
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
    org: Org | None = None
    """The directory's ``org.toml``, bound to its rules (issue 12 item 2)."""
    transform: Callable[[Documents], Documents] | None = None
    chains: dict[str, tuple[ChainEvaluator, RamEvaluator | None]] = field(default_factory=dict)
    """Per account: the RAM evaluator's chain and the RAM guardrails' evaluator."""

    def reads(self, action: str, account: str | None) -> tuple[str, ...]:
        """The context keys the decision of an expectation reads (``Policy.reads``), for
        ``parse_tests``. An account org.toml lacks is reported after parsing (E0517, E0518):
        here it reads as no account."""
        if account is not None and (self.org is None or self.org.node(account) is None):
            account = None
        return self.policy.reads(action, self.org, account)

    def chain_evaluator(self, account: str) -> tuple[ChainEvaluator, RamEvaluator | None]:
        built = self.chains.get(account)
        if built is None:
            assert self.org is not None
            nodes = self.policy.chain_nodes(self.org, account)
            if self.transform is not None:
                nodes = [
                    ChainNode(n.id, n.full_aliyun_access, tuple(self.transform(list(n.documents))))
                    for n in nodes
                ]
            guardrails = self.policy.guardrail_documents()
            if self.transform is not None and guardrails:
                guardrails = self.transform(guardrails)
            built = ChainEvaluator(nodes), RamEvaluator(guardrails) if guardrails else None
            self.chains[account] = built
        return built


def read_by(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The files ``run_tests(paths)`` reads: each tests file and the rules of its directory
    (so that ``ramguard test --junit`` can refuse to write over one of them)."""
    files, _ = find_tests(paths)
    rules = {p for d in {f.parent for f in files} for p in d.glob(f"*{RULES_SUFFIX}")}
    return [*files, *sorted(rules)]


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
            reads = built.reads if built is not None else None
            tests = load_tests(path, catalog, keep_going=True, reads=reads)
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
        # Lines the catalog (or org.toml) could not resolve are reported; the others run.
        problems = {e: _account_problem(e, built) for e in tests.expectations}
        results = tuple(_run_one(e, built) for e in tests.expectations if problems[e] is None)
        found = tuple(with_source(p, tests.text) for p in problems.values() if p is not None)
        suites.append(SuiteResult(str(path), rules_files, results, tests.diagnostics + found))
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
    org = None
    org_path = find_org(directory)
    if org_path is not None:
        try:
            org = policy.load_org(org_path)
        except CompileError as exc:
            return names, None, tuple(exc.diagnostics)
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
    documents = {d.filename: d for d in policy.documents}
    return names, _Engines(policy, evaluator, documents, org, transform), ()


def _account_problem(exp: Expectation, engines: _Engines) -> Diagnostic | None:
    account = exp.account
    if account is None:
        return None
    if engines.org is None:
        return error(
            "E0517",
            f"no org.toml beside this tests file to find `{account.text}` in",
            account.span,
            help="describe the resource directory in org.toml next to the rules "
            "([root], [[folder]], [[account]])",
        )
    if engines.org.node(account.text) is None:
        known = ", ".join(n.id for n in engines.org.nodes if n.kind != "root")
        return error(
            "E0518",
            f"`{account.text}` is not a node of {engines.org.path}",
            account.span,
            help=f"its nodes: {known}" if known else "org.toml describes only the Root",
        )
    return None


def _run_chain(exp: Expectation, engines: _Engines) -> TestResult:
    """An expectation of an account: decided along its org.toml chain by both engines."""
    assert exp.account is not None and engines.org is not None
    account = exp.account.text
    context = dict(exp.context)
    decision = engines.policy.decide_chain(engines.org, account, exp.action, context, exp.resource)
    chain, guardrails = engines.chain_evaluator(account)
    evaluation = chain.evaluate(exp.action, context, exp.resource)
    json_decision = evaluation.decision
    statements = [
        f"{node.node}: {ref.document}#{ref.statement} ({ref.effect})"
        for node in evaluation.nodes
        for ref in node.evaluation.matched
    ]
    if guardrails is not None and json_decision == "allow":
        json_decision = guardrails.decide(exp.action, context, exp.resource)
    trie_rules = tuple(sorted(RuleRef(m.file, m.line, m.rule, m.policy) for m in decision.matched))
    return TestResult(
        exp,
        decision.decision,
        json_decision,
        trie_rules,
        (),
        tuple(statements),
        (),
        chain=decision,
        json_chain=tuple(
            (n.node, {"Deny": "deny", "Allow": "allow"}.get(n.evaluation.effect, "implicit-deny"))
            for n in evaluation.nodes
        ),
    )


def _run_one(exp: Expectation, engines: _Engines) -> TestResult:
    if exp.account is not None:
        return _run_chain(exp, engines)
    context = dict(exp.context)
    decision = engines.policy.decide(exp.action, context, exp.resource)
    trie_rules = tuple(sorted(RuleRef(m.file, m.line, m.rule, m.policy) for m in decision.matched))
    evaluation = engines.evaluator.evaluate(exp.action, context, exp.resource)
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
    if result.chain is not None:
        json_outcomes = dict(result.json_chain)
        lines.append(f"chain of {result.chain.account} (Root first):")
        for node in result.chain.nodes:
            why = [f"denied by {m.policy} {m.file}:{m.line}" for m in node.denied_by]
            why += [f"allowed by {m.policy} {m.file}:{m.line}" for m in node.allowed_by]
            if node.full_aliyun_access and node.outcome != "deny":
                why.append("allowed by FullAliyunAccess")
            shown = "; ".join(why) or "no Allow matched"
            lines.append(
                f"  {node.node}: {node.outcome} (json: {json_outcomes.get(node.node, '?')})"
                f" — {shown}"
            )
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
    # File names, rule text and messages are user text: characters XML cannot carry (ESC, a
    # file name's undecodable byte) are written escaped, or the report would not parse (F11).
    for element in root.iter():
        element.attrib.update({k: xml_text(v) for k, v in element.attrib.items()})
        if element.text:
            element.text = xml_text(element.text)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


__all__ = [
    "MAX_TESTS_FILE_BYTES",
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
