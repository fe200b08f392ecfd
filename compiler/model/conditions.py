"""Conditions at the trie's leaves: compiled once, evaluated per request.

Semantics (DESIGN.md, TEAM.md for issue 10): values of one condition are ORed; a
conjunction's conditions ANDed. A key absent from the request, or a value that is not of the
operator's type (not an IP, not a number, not a time), fails a positive operator and satisfies
a negated one (``NotIpAddress``, ``StringNot…``, ``NumericNotEquals``, ``DateNotEquals``) —
the way RAM treats a missing key. ``StringLike`` is case-sensitive (``*`` any run, ``?`` one
character); the ``IgnoreCase`` operators compare text folded with ``str.lower``, as the RAM
evaluator does (``casefold`` took ``ß`` for ``ss`` and ``ſ`` for ``s``, which it does not).
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from compiler.model.glob import glob_match
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


_NUMBER_CHARS = frozenset("0123456789+-.eE")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number_value(text: str) -> Decimal | None:
    """A request's number: decimal text only (no `inf`, `nan`, `0x…`, no spaces), read
    exactly, as the RAM evaluator reads it. Decimal, not float (issue 16): 9007199254740992
    and …993 are one float, so `NumericEquals 9007199254740993` matched both while the RAM
    evaluator matched one; ``1e-999`` was 0.0 and a 41-digit number no number at all. Short
    texts are remembered; a long one is read each time (linear), never kept."""
    if len(text) <= 40:
        return _short_number(text)
    return _decimal(text) if _NUMBER.fullmatch(text) else None


@lru_cache(maxsize=65536)
def _short_number(text: str) -> Decimal | None:
    if not text or not set(text) <= _NUMBER_CHARS or not _NUMBER.fullmatch(text):
        return None
    return _decimal(text)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:  # `1e9999999999999999999999`: past Decimal's exponents, as
        return None  # the RAM evaluator and parse_number read it (no number)


def as_string(value: object) -> str | None:
    """A request value as RAM's string operators read it: JSON text for booleans/numbers."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _as_number(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Its shortest repr, as ``context_value`` writes it and the RAM evaluator reads it.
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        return parse_number_value(value)
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
            raw = ctx.get(key)
            if raw.__class__ is not str:  # a str is read as itself without a call
                raw = as_string(raw)
                if raw is None:
                    return absent
            return (raw in values) != negate

        return test_str

    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        # str.lower, as the RAM evaluator folds: the two must decide alike on every value.
        folded = frozenset(v.lower() for v in cond.values)
        negate = op == "StringNotEqualsIgnoreCase"

        def test_fold(ctx: Mapping[str, object]) -> bool:
            raw = as_string(ctx.get(key))
            if raw is None:
                return absent
            return (raw.lower() in folded) != negate

        return test_fold

    if op in ("StringLike", "StringNotLike"):
        patterns = cond.values
        negate = op == "StringNotLike"

        def test_like(ctx: Mapping[str, object]) -> bool:
            raw = as_string(ctx.get(key))
            if raw is None:
                return absent
            hit = any(glob_match(p, raw, ignore_case=False) for p in patterns)
            return hit != negate

        return test_like

    if op == "Bool":
        want = cond.values[0] == "true"

        def test_bool(ctx: Mapping[str, object]) -> bool:
            raw = ctx.get(key)
            if raw is None:  # absent: no boolean (and no call to find that out)
                return False
            got = _EXACT_BOOLS.get(raw) if isinstance(raw, str | bool) else None
            if got is None:
                got = parse_bool(raw)  # "TRUE" and the like
            return got is not None and got == want

        return test_bool

    if op.startswith("Numeric"):
        limits = tuple(Decimal(v) for v in cond.values)
        compare = _COMPARE[op.removeprefix("Numeric")]
        if op == "NumericNotEquals":
            # Not equal to any listed value (the negation of NumericEquals over the list).
            def test_num_ne(ctx: Mapping[str, object]) -> bool:
                n = _as_number(ctx.get(key))
                return True if n is None else all(n != v for v in limits)

            return test_num_ne

        def test_num(ctx: Mapping[str, object]) -> bool:
            n = _as_number(ctx.get(key))
            return n is not None and any(compare(n, v) for v in limits)

        return test_num

    if op.startswith("Date"):
        limits_t = tuple(datetime.fromisoformat(v) for v in cond.values)
        compare_t = _COMPARE[op.removeprefix("Date")]
        if op == "DateNotEquals":

            def test_date_ne(ctx: Mapping[str, object]) -> bool:
                raw = ctx.get(key)
                when = parse_time(raw) if isinstance(raw, str) else None
                return True if when is None else all(when != v for v in limits_t)

            return test_date_ne

        def test_date(ctx: Mapping[str, object]) -> bool:
            raw = ctx.get(key)
            when = parse_time(raw) if isinstance(raw, str) else None
            return when is not None and any(compare_t(when, v) for v in limits_t)

        return test_date

    raise ValueError(f"no evaluator for condition operator {op}")


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "Equals": operator.eq,
    "NotEquals": operator.ne,  # not used: the NotEquals tests are written out above
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
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
