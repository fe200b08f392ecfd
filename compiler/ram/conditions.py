"""RAM condition blocks: parse the operators, test them against a request context.

The evaluator's own condition code, sharing nothing with the trie. Semantics
(``ram/conditional-operator``, plus the choices noted where RAM's documentation is silent):

- The values listed for one key are ORed; the keys under one operator are ANDed; the operators
  of a block are ANDed.
- Negated operators (``StringNotEquals``, ``StringNotEqualsIgnoreCase``, ``StringNotLike``,
  ``NumericNotEquals``, ``DateNotEquals``, ``NotIpAddress``) are the negation of their positive
  operator's OR: the request value must differ from every listed value.
- A key absent from the request context: positive operators do not match, negated ones do.
  A request value that cannot be read for the operator (``abc`` for a Date operator, ``Internal``
  for IpAddress, a list, None) is treated the same way — it equals none of the listed values —
  so positive operators do not match and negated ones do.
- Condition key names are matched case-insensitively (``acs:SourceIp`` = ``acs:sourceip``). RAM
  documents element names and operators as case-sensitive but spells its own keys
  inconsistently across products; folding keys means a context built from another spelling
  cannot silently skip a condition. Operators stay case-sensitive: a miscased or unknown
  operator (or ``…IfExists`` / ``Null``, which are not documented) is a document error.
- ``StringEqualsIgnoreCase`` / ``StringNotEqualsIgnoreCase`` compare ``str.lower`` of both
  sides (RAM documents "case-insensitive" and no more; README's decisions list). A request's
  number is ASCII decimal text: ``١٢`` (Arabic-Indic digits) is no number, as in the trie.
- Values on the wire are strings; for the String operators a boolean is read as ``true`` /
  ``false`` and a number as its JSON text, both in the document and in the request.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from compiler.ram.glob import GlobPattern

_BAD = object()  # a request value that cannot be read for the operator
_ABSENT = object()

# A fixed, anchored pattern over our own grammar — never built from user text.
# ASCII digits only (`\d` took `١٢`, Arabic-Indic digits, for 12, which the trie reads as no
# number): RAM documents no other digits, and a number in a document is ASCII.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ConditionError(ValueError):
    """A malformed condition block; document.py adds the document name and statement index."""

    def __init__(self, element: str, message: str) -> None:
        super().__init__(f"{element}: {message}")
        self.element = element
        self.message = message


def _show(value: object) -> str:
    """A value as JSON text, bounded so a huge value cannot flood an error message."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


# --- readers: each returns the parsed value or raises ValueError with a message -------------


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ValueError(f"expected a string, got {_show(value)}")


def _folded_text(value: object) -> str:
    return _text(value).lower()


def _like(value: object) -> GlobPattern:
    return GlobPattern(_text(value), ignore_case=False)  # StringLike is case-sensitive


def _number(value: object) -> Decimal:
    # Decimal, not float: `NumericEquals 0.1` must equal a request of "0.1", and big integers
    # must compare exactly. Floats go through their shortest repr for the same reason.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_show(value)}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # an exponent past Decimal's (`1e9999999999999999999999`)
            pass
    raise ValueError(f"{_show(value)} is not a number")


def _date(value: object) -> datetime:
    # ISO 8601; RAM's times are UTC, so a time without an offset is read as UTC and every
    # comparison is between aware datetimes.
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{_show(value)} is not an ISO 8601 time") from None
    else:
        raise ValueError(f"{_show(value)} is not an ISO 8601 time")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"expected true or false, got {_show(value)}")


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(value: object) -> _Network:
    # strict=False: `10.0.0.1/8` means 10.0.0.0/8, as network tools read it; a bare IP is a
    # one-address network.
    if isinstance(value, str):
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError:
            pass
    raise ValueError(f"{_show(value)} is not an IP address or CIDR block")


# Parsing an address or a time costs microseconds; traces repeat the same few source IPs and
# event times, so the request readers remember recent answers (typed: True is not 1 here).
@lru_cache(maxsize=4096, typed=True)
def _address(value: object) -> _Address:
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    if isinstance(value, str):
        return ipaddress.ip_address(value)  # ValueError for "Internal", a CIDR, …
    raise ValueError("not an IP address")


_request_date = lru_cache(maxsize=4096, typed=True)(_date)  # see _address on caching


def _in_network(address: _Address, network: _Network) -> bool:
    # No IPv4-mapped IPv6 translation: a version mismatch simply does not match.
    return address.version == network.version and address in network


@dataclass(frozen=True, slots=True)
class _Operator:
    parse_value: Callable[[object], object]  # a listed value; errors are document errors
    parse_request: Callable[[object], object]  # the request value; errors mean "unreadable"
    compare: Callable[[object, object], bool]  # (request, listed value) → positive match
    negated: bool = False


def _eq(request: object, value: object) -> bool:
    return request == value


def _lt(request: object, value: object) -> bool:
    return request < value  # type: ignore[operator]


def _le(request: object, value: object) -> bool:
    return request <= value  # type: ignore[operator]


def _gt(request: object, value: object) -> bool:
    return request > value  # type: ignore[operator]


def _ge(request: object, value: object) -> bool:
    return request >= value  # type: ignore[operator]


def _like_match(request: object, pattern: object) -> bool:
    return pattern.matches(request)  # type: ignore[attr-defined]


def _family(
    parse: Callable[[object], object],
    prefix: str,
    request: Callable[[object], object] | None = None,
) -> dict[str, _Operator]:
    read = request or parse
    return {
        f"{prefix}Equals": _Operator(parse, read, _eq),
        f"{prefix}NotEquals": _Operator(parse, read, _eq, negated=True),
        f"{prefix}LessThan": _Operator(parse, read, _lt),
        f"{prefix}LessThanEquals": _Operator(parse, read, _le),
        f"{prefix}GreaterThan": _Operator(parse, read, _gt),
        f"{prefix}GreaterThanEquals": _Operator(parse, read, _ge),
    }


OPERATORS: dict[str, _Operator] = {
    "StringEquals": _Operator(_text, _text, _eq),
    "StringNotEquals": _Operator(_text, _text, _eq, negated=True),
    "StringEqualsIgnoreCase": _Operator(_folded_text, _folded_text, _eq),
    "StringNotEqualsIgnoreCase": _Operator(_folded_text, _folded_text, _eq, negated=True),
    "StringLike": _Operator(_like, _text, _like_match),
    "StringNotLike": _Operator(_like, _text, _like_match, negated=True),
    **_family(_number, "Numeric"),
    **_family(_date, "Date", _request_date),
    "Bool": _Operator(_bool, _bool, _eq),
    "IpAddress": _Operator(_network, _address, _in_network),  # type: ignore[arg-type]
    "NotIpAddress": _Operator(_network, _address, _in_network, negated=True),  # type: ignore[arg-type]
}

_SCALARS = (str, bool, int, float)


@dataclass(frozen=True, slots=True)
class KeyTest:
    """One key under one operator: ``operator``, ``key`` and the (parsed) listed values."""

    operator: str
    key: str
    values: tuple[object, ...]
    _folded_key: str = field(init=False, repr=False, compare=False)
    _op: _Operator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded_key", self.key.lower())
        object.__setattr__(self, "_op", OPERATORS[self.operator])

    @property
    def negated(self) -> bool:
        return self._op.negated

    def matches(self, folded_context: Mapping[str, object]) -> bool:
        """``folded_context`` has lower-cased keys (``fold_context``)."""
        op = self._op
        raw = folded_context.get(self._folded_key, _ABSENT)
        if raw is _ABSENT:
            return op.negated
        try:
            request = op.parse_request(raw)
        except (ValueError, TypeError):
            return op.negated
        compare = op.compare
        hit = False
        for value in self.values:
            if compare(request, value):
                hit = True
                break
        return hit != op.negated


@dataclass(frozen=True, slots=True)
class Condition:
    """A statement's condition block: every test must match (operators and keys ANDed)."""

    tests: tuple[KeyTest, ...]

    def matches(self, folded_context: Mapping[str, object]) -> bool:
        return all(test.matches(folded_context) for test in self.tests)

    @classmethod
    def parse(cls, block: object) -> Condition:
        """Validate and compile a ``Condition`` element; raises ConditionError."""
        if not isinstance(block, dict):
            raise ConditionError(
                "Condition", f"expected an object of operators, got {_show(block)}"
            )
        tests: list[KeyTest] = []
        for operator, keys in block.items():
            if operator not in OPERATORS:
                raise ConditionError("Condition", _unknown_operator(operator))
            element = f"Condition.{operator}"
            if not isinstance(keys, dict):
                raise ConditionError(
                    element, f"expected an object of condition keys, got {_show(keys)}"
                )
            if not keys:
                raise ConditionError(element, "expected at least one condition key")
            for key, raw in keys.items():
                if not key:
                    raise ConditionError(element, "empty condition key")
                tests.append(KeyTest(operator, key, _parse_values(operator, key, raw)))
        return cls(tuple(tests))


def _parse_values(operator: str, key: str, raw: object) -> tuple[object, ...]:
    element = f"Condition.{operator}[{key}]"
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ConditionError(element, "expected at least one value")
    parsed = []
    for value in values:
        if not isinstance(value, _SCALARS):
            raise ConditionError(
                element,
                f"expected a string, number, boolean or a list of them, got {_show(value)}",
            )
        try:
            parsed.append(OPERATORS[operator].parse_value(value))
        except ValueError as error:
            raise ConditionError(element, str(error)) from None
    return tuple(parsed)


def _unknown_operator(operator: str) -> str:
    message = f"unknown operator `{operator}`"
    for known in OPERATORS:
        if known.lower() == operator.lower():
            return f"{message}: operators are case-sensitive, did you mean `{known}`?"
    return message


def fold_context(context: Mapping[str, object] | None) -> dict[str, object]:
    """The request context with lower-cased key names (see the module note on key case).

    Raises ValueError for a key given twice under two spellings: which value applies would
    otherwise depend on dict order.
    """
    if not context:
        return {}
    folded: dict[str, object] = {}
    for key, value in context.items():
        low = key.lower()
        if low in folded:
            raise ValueError(f"context key `{key}` given twice (keys are case-insensitive)")
        folded[low] = value
    return folded
