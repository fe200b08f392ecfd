"""How analysis warnings quote rules and name places: short, printable, with the source."""

from __future__ import annotations

from compiler.language.diagnostics import Diagnostic, Span, warning
from compiler.model.ir import Rule
from compiler.policy import Policy

_MAX_QUOTE = 60


def quote(text: str) -> str:
    shown = text if len(text) <= _MAX_QUOTE else text[:_MAX_QUOTE] + "…"
    return "".join(ch if ch.isprintable() else "?" for ch in shown)


def warn(policy: Policy, code: str, message: str, span: Span, help: str) -> Diagnostic:
    return warning(code, message, span, help=help, source=policy.sources.get(span.file))


def where(rule: Rule) -> str:
    return f"{rule.file}:{rule.line}"
