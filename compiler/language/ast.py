"""Syntax tree of a rules file: frozen nodes that keep their source positions.

The tree says what was written, not what it means: service and operation names are still the
user's text here; ``compiler.checks`` resolves them against the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.language.diagnostics import Span


@dataclass(frozen=True, slots=True)
class Name:
    """A service, operation, key or version exactly as written."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    span: Span
    quoted: bool = False

    def source(self) -> str:
        if not self.quoted:
            return self.text
        escaped = (
            self.text.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\t", "\\t")
        )
        return f'"{escaped}"'


@dataclass(frozen=True, slots=True)
class ServiceRef:
    name: Name
    version: Name | None
    span: Span


@dataclass(frozen=True, slots=True)
class ConditionNode:
    key: Name
    operator: str
    """One of ``in``, ``not in``, ``=``, ``before``, ``after``."""
    values: tuple[Value, ...]
    bracketed: bool
    span: Span

    def source(self) -> str:
        if self.bracketed:
            shown = "[" + ", ".join(v.source() for v in self.values) + "]"
        else:
            shown = self.values[0].source()
        return f"{self.key.text} {self.operator} {shown}"


@dataclass(frozen=True, slots=True)
class RuleNode:
    service: ServiceRef
    operations: tuple[Name, ...]
    when: tuple[ConditionNode, ...]
    unless: tuple[ConditionNode, ...]
    keyword_form: bool
    span: Span

    def source(self) -> str:
        """The rule on one line, in canonical spacing: how reports and decisions quote it."""
        svc = self.service.name.text
        if self.service.version is not None:
            svc += "@" + self.service.version.text
        ops = ", ".join(op.text for op in self.operations)
        text = f"deny {svc} {ops}"
        if self.when:
            text += " when " + " and ".join(c.source() for c in self.when)
        if self.unless:
            text += " unless " + " and ".join(c.source() for c in self.unless)
        return text


@dataclass(frozen=True, slots=True)
class PolicyHeader:
    name: Name
    description: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Comment:
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    text: str
    header: PolicyHeader | None
    rules: tuple[RuleNode, ...]
    comments: tuple[Comment, ...]
