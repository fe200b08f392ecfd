"""The public face of the pipeline: files → parse → check → trie and documents.

``compile_rules`` is the one place the stages are glued together, in order:

    read (bytes → text) → parse (lark) → check (catalog) → RuleSet
    RuleSet → DecisionTrie (decide)      RuleSet → RAM documents (emit)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .catalog import Catalog, default_catalog
from .checks import check_file
from .emit.ram import Document, documents_for
from .ir import PolicyIR, Rule, RuleSet
from .keys import normalise_context
from .language.diagnostics import CompileError, Diagnostic, Severity, Span, error
from .language.parser import parse_text, read_source, read_source_bytes
from .trie import Decision, DecisionTrie

RULES_SUFFIX = ".rules"
# A rules file is a few kilobytes; refusing huge inputs early keeps errors fast and bounded.
MAX_RULES_FILE_BYTES = 16 * 1024 * 1024


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; directories → their ``*.rules`` files, recursively, sorted."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob(f"*{RULES_SUFFIX}") if p.is_file()))
        else:
            out.append(path)
    return out


def read_rules_bytes(path: Path) -> bytes:
    """A rules file's bytes, or a CompileError naming the file (missing, a directory, too
    big, unreadable)."""
    return read_source_bytes(path, "rules", MAX_RULES_FILE_BYTES)


def _read(path: Path) -> str:
    return read_source(path, "rules", MAX_RULES_FILE_BYTES)


@dataclass(eq=False)
class Policy:
    """Compiled rules: decide requests, emit RAM documents.

    Holds every policy of the files it was compiled from; ``decide`` answers for all of them
    together (deny wins across policies, as RAM does across attached policies).
    """

    ruleset: RuleSet
    warnings: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @cached_property
    def trie(self) -> DecisionTrie:
        return DecisionTrie(self.ruleset.rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.ruleset.rules

    @property
    def policies(self) -> tuple[PolicyIR, ...]:
        return self.ruleset.policies

    def decide(self, action: str, context: Mapping[str, object] | None = None) -> Decision:
        """Decide one request. Context keys may be RAM keys or the rules language's names."""
        return self.trie.decide(action, normalise_context(context) if context else None)

    def decide_many(
        self, requests: Iterable[tuple[str, Mapping[str, object] | None]]
    ) -> list[bool]:
        """Deny (True) or not for each (action, RAM-keyed context): the replay fast path."""
        denies = self.trie.denies
        return [denies(action, ctx) for action, ctx in requests]

    @cached_property
    def documents(self) -> list[Document]:
        out: list[Document] = []
        for policy in self.ruleset.policies:
            out.extend(documents_for(policy))
        return out

    def ram_documents(self) -> list[dict]:
        """Every emitted RAM policy document, as parsed JSON, in file-name order."""
        return [doc.as_dict() for doc in self.documents]


def compile_sources(sources: Sequence[tuple[str, str]], catalog: Catalog | None = None) -> Policy:
    """Compile (path, text) pairs — the in-memory entry point the tests and tools use."""
    catalog = catalog or default_catalog()
    diags: list[Diagnostic] = []
    policies: list[PolicyIR] = []
    names: dict[str, str] = {}
    index = 0
    for path, text in sources:
        try:
            parsed = parse_text(path, text)
        except CompileError as exc:
            diags.extend(exc.diagnostics)
            continue
        policy, found = check_file(parsed, catalog, first_index=index)
        diags.extend(found)
        if policy is None:
            continue
        index += len(policy.rules)
        if policy.name in names:
            diags.append(
                error(
                    "E0203",
                    f"policy `{policy.name}` is also defined in {names[policy.name]}",
                    parsed.header.name.span if parsed.header else Span(path, 1, 1, 1, 1),
                    help="policy names become file names and must be unique",
                    source=text,
                )
            )
            continue
        names[policy.name] = path
        policies.append(policy)
    errors = [d for d in diags if d.severity is Severity.ERROR]
    if errors:
        raise CompileError(diags)
    policies.sort(key=lambda p: p.name)
    return Policy(RuleSet(tuple(policies)), warnings=diags, sources=dict(sources))


def compile_rules(paths: Iterable[str | os.PathLike], catalog: Catalog | None = None) -> Policy:
    """Compile rules files (directories are searched for ``*.rules``).

    Raises ``CompileError`` carrying every diagnostic when any file has an error.
    """
    files = expand_paths(paths)
    if not files:
        raise CompileError(
            [error("E0007", "no rules files found", Span(", ".join(map(str, paths)) or "."))]
        )
    sources: list[tuple[str, str]] = []
    diags: list[Diagnostic] = []
    for path in files:
        try:
            sources.append((str(path), _read(path)))
        except CompileError as exc:
            diags.extend(exc.diagnostics)
    if diags:
        raise CompileError(diags)
    return compile_sources(sources, catalog)
