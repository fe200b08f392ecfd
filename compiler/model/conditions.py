"""Conditions at the trie's leaves: compiled once, evaluated per request.

Semantics (DESIGN.md): values of one condition are ORed; a conjunction's conditions ANDed. A
key absent from the request, or a value that does not parse for the operator, fails a
positive operator and satisfies a negated one (``NotIpAddress``, ``StringNotEquals``) — the
way RAM treats a missing key.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache

from compiler.model.ir import MATCHES_ABSENT_KEY, Condition, Conjunction
from compiler.model.keys import parse_bool

Test = Callable[[Mapping[str, object]], bool]


@lru_cache(maxsize=65536)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _ip_number(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer): what a range test needs, parsed once per text."""
    addr = parse_ip(text)
    return None if addr is None else (addr.version, int(addr))


@lru_cache(maxsize=65536)
def parse_time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
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
        # Each CIDR as (version, first, last) integers: a containment test is two compares.
        ranges = tuple(
            (net.version, int(net.network_address), int(net.broadcast_address))
            for net in (ipaddress.ip_network(v, strict=False) for v in cond.values)
        )
        negate = op == "NotIpAddress"

        def test_ip(ctx: Mapping[str, object]) -> bool:
            raw = ctx.get(key)
            number = _ip_number(raw) if isinstance(raw, str) else None
            if number is None:
                return absent
            version, n = number
            for net_version, first, last in ranges:
                if net_version == version and first <= n <= last:
                    return not negate
            return negate

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
            raw = ctx.get(key)
            got = _EXACT_BOOLS.get(raw) if isinstance(raw, str | bool) else None
            if got is None:
                got = parse_bool(raw)  # " TRUE " and the like
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
    "DateLessThan": operator.lt,
    "DateLessThanEquals": operator.le,
    "DateGreaterThan": operator.gt,
    "DateGreaterThanEquals": operator.ge,
}
# The spellings requests carry, looked up without a call.
_EXACT_BOOLS: dict[object, bool] = {"true": True, "false": False, True: True, False: False}


def compile_conjunction(conj: Conjunction) -> Test:
    tests = tuple(compile_condition(c) for c in conj)
    if not tests:
        return lambda ctx: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ctx: first(ctx) and second(ctx)

    return lambda ctx: all(test(ctx) for test in tests)
