"""Conditions at the trie's leaves: compiled once, evaluated per request.

Semantics (DESIGN.md): values of one condition are ORed; a conjunction's conditions ANDed. A
key absent from the request, or a value that does not parse for the operator, fails a
positive operator and satisfies a negated one (``NotIpAddress``, ``StringNotEquals``) — the
way RAM treats a missing key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from .ir import MATCHES_ABSENT_KEY, Condition, Conjunction
from .keys import parse_bool

Test = Callable[[Mapping[str, object]], bool]


@lru_cache(maxsize=65536)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    # ActionTrail times are UTC; one written without an offset is read as UTC too.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def as_string(value: object) -> str | None:
    """A request value as RAM's string operators read it: JSON text for booleans/numbers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


@lru_cache(maxsize=8192)
def compile_condition(cond: Condition) -> Test:
    """A test for one condition; cached, since rule sets repeat the same conditions."""
    key = cond.key
    op = cond.operator
    absent = op in MATCHES_ABSENT_KEY

    if op in ("IpAddress", "NotIpAddress"):
        nets = tuple(ipaddress.ip_network(v, strict=False) for v in cond.values)
        negate = op == "NotIpAddress"

        def test_ip(ctx: Mapping[str, object]) -> bool:
            raw = ctx.get(key)
            addr = parse_ip(raw) if isinstance(raw, str) else None
            if addr is None:
                return absent
            inside = any(addr.version == n.version and addr in n for n in nets)
            return inside != negate

        return test_ip

    if op in ("StringEquals", "StringNotEquals"):
        values = frozenset(cond.values)
        negate = op == "StringNotEquals"

        def test_str(ctx: Mapping[str, object]) -> bool:
            raw = as_string(ctx.get(key))
            if raw is None:
                return absent
            return (raw in values) != negate

        return test_str

    if op == "Bool":
        want = cond.values[0] == "true"

        def test_bool(ctx: Mapping[str, object]) -> bool:
            got = parse_bool(ctx.get(key))
            return got is not None and got == want

        return test_bool

    if op.startswith("Date"):
        limit = datetime.fromisoformat(cond.values[0])
        compare = _DATE_COMPARE[op]

        def test_date(ctx: Mapping[str, object]) -> bool:
            raw = ctx.get(key)
            when = parse_time(raw) if isinstance(raw, str) else None
            return when is not None and compare(when, limit)

        return test_date

    raise ValueError(f"no evaluator for condition operator {op}")


_DATE_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "DateLessThan": lambda a, b: a < b,
    "DateLessThanEquals": lambda a, b: a <= b,
    "DateGreaterThan": lambda a, b: a > b,
    "DateGreaterThanEquals": lambda a, b: a >= b,
}


def compile_conjunction(conj: Conjunction) -> Test:
    tests = tuple(compile_condition(c) for c in conj)
    if not tests:
        return lambda ctx: True
    if len(tests) == 1:
        return tests[0]
    return lambda ctx: all(t(ctx) for t in tests)


def explain_condition(cond: Condition, context: Mapping[str, object]) -> tuple[bool, object]:
    """Whether ``cond`` holds, and the request value it was decided on (None if absent)."""
    return compile_condition(cond)(context), context.get(cond.key)
