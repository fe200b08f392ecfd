"""Conditions of one rule: each checked against its key's kind, then ``unless`` pushed into
disjunctive normal form with equal (operator, key) slots merged.

``check_condition`` turns a ``ConditionNode`` into a ``Condition`` (or diagnostics);
``normalise`` turns a rule's ``when``/``unless`` lists into its conjunctions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import UTC

from compiler.language.ast import ConditionNode, RuleNode, Value
from compiler.language.diagnostics import Diagnostic, error, shorten
from compiler.model.ir import Condition, Conjunction
from compiler.model.keys import LANGUAGE_KEYS, KeyKind, format_utc, iso_time

# rules-language operator → RAM operator, per key kind.
_OPERATORS: dict[KeyKind, dict[str, str]] = {
    KeyKind.IP: {"in": "IpAddress", "not in": "NotIpAddress"},
    KeyKind.STRING: {"in": "StringEquals", "not in": "StringNotEquals"},
    KeyKind.BOOL: {"=": "Bool"},
    KeyKind.TIME: {"before": "DateLessThan", "after": "DateGreaterThan"},
}
_KIND_USAGE = {
    KeyKind.IP: "`in [CIDR, …]` or `not in [CIDR, …]`",
    KeyKind.STRING: "`in [VALUE, …]` or `not in [VALUE, …]`",
    KeyKind.BOOL: "`= true` or `= false`",
    KeyKind.TIME: "`before TIME` or `after TIME` (ISO 8601 in UTC, e.g. 2026-12-01T00:00:00Z)",
}
# Operators whose repeated use on one key can be merged by uniting the values: "not in A and
# not in B" is "not in A ∪ B". Positive repeats intersect and are rejected instead.
_UNION_MERGEABLE = frozenset({"NotIpAddress", "StringNotEquals"})


def check_condition(node: ConditionNode, diags: list[Diagnostic]) -> Condition | None:
    entry = LANGUAGE_KEYS.get(node.key.text)
    if entry is None:
        from difflib import get_close_matches

        close = get_close_matches(node.key.text[:40], list(LANGUAGE_KEYS), n=1)
        diags.append(
            error(
                "E0230",
                f"unknown condition key `{shorten(node.key.text)}`",
                node.key.span,
                help=f"did you mean {close[0]}?"
                if close
                else "known keys: " + ", ".join(LANGUAGE_KEYS),
            )
        )
        return None
    ram_key, kind = entry
    operator = _OPERATORS[kind].get(node.operator)
    if operator is None:
        diags.append(
            error(
                "E0231",
                f"`{node.key.text}` does not take `{node.operator}`",
                node.span,
                help=f"write `{node.key.text}` with {_KIND_USAGE[kind]}",
            )
        )
        return None
    values: list[str] = []
    for value in node.values:
        parsed = _parse_value(kind, value, diags)
        if parsed is not None:
            values.append(parsed)
    if len(values) != len(node.values):
        return None
    return Condition(operator, ram_key, tuple(sorted(set(values))))


def _parse_value(kind: KeyKind, value: Value, diags: list[Diagnostic]) -> str | None:
    text = value.text
    if kind is KeyKind.IP:
        try:
            net = ipaddress.ip_network(text, strict=True)
        except ValueError:
            help_text = "write an IP address or a CIDR block, e.g. 10.0.0.0/8"
            try:
                loose = ipaddress.ip_network(text, strict=False)
                help_text = f"host bits are set; did you mean {loose}?"
            except ValueError:
                pass
            diags.append(
                error(
                    "E0240",
                    f"`{shorten(text)}` is not a valid CIDR block",
                    value.span,
                    help=help_text,
                )
            )
            return None
        full = net.prefixlen == net.max_prefixlen
        return str(net.network_address) if full and "/" not in text else str(net)
    if kind is KeyKind.BOOL:
        if text in ("true", "false"):
            return text
        diags.append(
            error(
                "E0241",
                f"`{shorten(text)}` is not a boolean",
                value.span,
                help="write true or false",
            )
        )
        return None
    if kind is KeyKind.TIME:
        return _parse_time(value, diags)
    if not text or not text.isprintable():
        diags.append(error("E0243", "empty or unprintable value", value.span))
        return None
    return text


def _parse_time(value: Value, diags: list[Diagnostic]) -> str | None:
    text = value.text
    when = iso_time(text)
    if when is None:
        diags.append(
            error(
                "E0242",
                f"`{shorten(text)}` is not a valid time",
                value.span,
                help="write an ISO 8601 time in UTC, e.g. 2026-12-01T00:00:00Z",
            )
        )
        return None
    if when.tzinfo is None or when.utcoffset() != UTC.utcoffset(None):
        diags.append(
            error(
                "E0242",
                f"`{shorten(text)}` is not in UTC",
                value.span,
                help="RAM compares times in UTC: end the time with Z",
            )
        )
        return None
    _, _, clock = text.partition("T")
    _, dot, fraction = clock.partition(".")
    digits = len(fraction) - len(fraction.lstrip("0123456789"))
    if dot and digits > 6:
        # datetime keeps microseconds; silently cutting the rest would move the boundary.
        diags.append(
            error(
                "E0242",
                f"`{shorten(text)}` has {digits} fractional digits; at most 6 are kept",
                value.span,
                help="write the time to the microsecond at most",
            )
        )
        return None
    return format_utc(when)


def normalise(
    node: RuleNode,
    when: list[Condition | None],
    unless: list[Condition | None],
    diags: list[Diagnostic],
) -> tuple[Conjunction, ...] | None:
    base = [c for c in when if c is not None]
    negated = [c.negate() for c in unless if c is not None]
    conjunctions = [[*base, n] for n in negated] if negated else [base]
    out: list[Conjunction] = []
    for conj in conjunctions:
        merged = _merge(conj, node, diags)
        if merged is None:
            return None
        out.append(merged)
    return tuple(sorted(set(out)))


def _merge(conj: Iterable[Condition], node: RuleNode, diags: list[Diagnostic]):
    by_slot: dict[tuple[str, str], Condition] = {}
    for cond in conj:
        slot = (cond.operator, cond.key)
        prior = by_slot.get(slot)
        if prior is None:
            by_slot[slot] = cond
        elif cond.operator in _UNION_MERGEABLE:
            by_slot[slot] = Condition(
                cond.operator, cond.key, tuple(sorted(set(prior.values) | set(cond.values)))
            )
        elif prior == cond:
            continue
        else:
            diags.append(
                error(
                    "E0250",
                    f"this rule tests `{cond.key}` with {cond.operator} twice in one case",
                    node.span,
                    help="RAM holds one value list per operator and key: merge the "
                    "conditions into one, or split the rule",
                )
            )
            return None
    return tuple(sorted(by_slot.values()))
