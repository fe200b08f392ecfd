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


def _shown(values: tuple[Value, ...], bracketed: bool) -> str:
    if bracketed or len(values) != 1:
        return "[" + ", ".join(v.source() for v in values) + "]"
    return values[0].source()


# The operators as written (canonical spelling, one space between words).
OPERATORS = (
    "in",
    "not in",
    "in ignorecase",
    "not in ignorecase",
    "like",
    "not like",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "before",
    "after",
    "at or before",
    "at or after",
    "at",
    "not at",
)


@dataclass(frozen=True, slots=True)
class ConditionNode:
    key: Name
    operator: str
    """One of ``OPERATORS``."""
    values: tuple[Value, ...]
    bracketed: bool
    span: Span
    key_form: str = "named"
    """``named`` (``mfa``, ``resource_tag:env``), ``quoted`` (``"oss:Prefix"``) or
    ``unchecked`` (``unchecked "acme:Custom"``)."""
    operator_span: Span | None = None

    def key_source(self) -> str:
        if self.key_form == "named":
            return self.key.text
        quoted = Value(self.key.text, self.key.span, quoted=True).source()
        return quoted if self.key_form == "quoted" else "unchecked " + quoted

    def source(self) -> str:
        return f"{self.key_source()} {self.operator} {_shown(self.values, self.bracketed)}"


@dataclass(frozen=True, slots=True)
class ValueList:
    """A clause's list as written: ``on ARN``, ``on [ARN, …]``, ``except [...]``."""

    values: tuple[Value, ...]
    bracketed: bool
    span: Span

    def source(self) -> str:
        return _shown(self.values, self.bracketed)


@dataclass(frozen=True, slots=True)
class RuleNode:
    service: ServiceRef
    operations: tuple[Name, ...]
    when: tuple[ConditionNode, ...]
    unless: tuple[ConditionNode, ...]
    keyword_form: bool
    span: Span
    excepts: ValueList | None = None
    """``except [...]``: RAM actions the rule leaves alone (NotAction)."""
    resources: ValueList | None = None
    """``on ARN`` / ``on [ARN, …]``."""
    regions: ValueList | None = None
    """``in region [...]``."""
    risk: Value | None = None
    """``risk=high``: only the operations the catalog tags with that risk."""
    effect: str = "deny"
    """``deny`` or ``allow`` (allow-list mode of a control policy), as the keyword reads."""

    def source(self) -> str:
        """The rule on one line, in canonical spacing: how reports and decisions quote it."""
        svc = self.service.name.text
        if self.service.version is not None:
            svc += "@" + self.service.version.text
        ops = ", ".join(op.text for op in self.operations)
        text = f"{self.effect} {svc} {ops}"
        if self.risk is not None:
            text += " risk=" + self.risk.source()
        if self.excepts is not None:
            text += " except " + self.excepts.source()
        if self.resources is not None:
            text += " on " + self.resources.source()
        if self.regions is not None:
            text += " in region " + self.regions.source()
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
    deploy: Name | None = None
    """``for TARGET``: where the policy is meant to be deployed (checked in model.resolve)."""
    attach: ValueList | None = None
    """``attach [ID, ...]``: Resource Directory nodes (or principals) to attach it to."""


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
