"""A RAM statement's Condition element → the rules language's `` when …`` clause.

Part of ``ramguard import`` (``compiler.importer``). Each condition maps to the language
operator the rules compile back to, so the emitted JSON carries the same operator, key and
values and RAM's absent-key behaviour is unchanged: every operator family (``String*``,
``Numeric*``, ``Date*``, ``Bool``, ``IpAddress``/``NotIpAddress``) has its words
(``DateLessThanEquals T`` is ``time at or before T``, ``NumericLessThan 5`` is ``< 5``).

Keys: the language's named keys (``source_ip``, ``resource_tag:env``…) where there is one;
any other service key is written ``unchecked "oss:Prefix"`` — quoted, and typed by its
operator the way the checker types unchecked keys (comparisons: number, time words: time,
``= true/false``: bool, the list operators: string), so it compiles back to the same operator
whichever service's rule carries it. What that form cannot say is refused as unsupported: an
``IpAddress`` test or several values of ``NumericEquals``/``DateEquals`` on such a key, and
``acs:`` keys RAM does not define. Several values of an ordering operator are ORed, so
``NumericLessThan [3, 5]`` is ``< 5`` (the same requests; the JSON then holds the one value).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from decimal import Decimal

from compiler.model.conditions import parse_time
from compiler.model.keys import (
    LANGUAGE_KEYS,
    RAM_KEY_TO_NAME,
    KeyKind,
    ValueProblem,
    format_utc,
    parse_bool,
    parse_number,
)

_BARE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@+=")
_KEYWORDS = frozenset({"and", "in", "not", "when", "unless", "before", "after", "deny", "policy"})
_KEY_ORDER = {name: i for i, name in enumerate(LANGUAGE_KEYS)}

# RAM operator → (language operator, key kind).
_OPERATORS: dict[str, tuple[str, KeyKind]] = {
    "IpAddress": ("in", KeyKind.IP),
    "NotIpAddress": ("not in", KeyKind.IP),
    "Bool": ("=", KeyKind.BOOL),
    "DateLessThan": ("before", KeyKind.TIME),
    "DateGreaterThan": ("after", KeyKind.TIME),
    "DateLessThanEquals": ("at or before", KeyKind.TIME),
    "DateGreaterThanEquals": ("at or after", KeyKind.TIME),
    "DateEquals": ("at", KeyKind.TIME),
    "DateNotEquals": ("not at", KeyKind.TIME),
    "NumericEquals": ("=", KeyKind.NUMBER),
    "NumericNotEquals": ("!=", KeyKind.NUMBER),
    "NumericLessThan": ("<", KeyKind.NUMBER),
    "NumericLessThanEquals": ("<=", KeyKind.NUMBER),
    "NumericGreaterThan": (">", KeyKind.NUMBER),
    "NumericGreaterThanEquals": (">=", KeyKind.NUMBER),
    "StringEquals": ("in", KeyKind.STRING),
    "StringNotEquals": ("not in", KeyKind.STRING),
    "StringEqualsIgnoreCase": ("in ignorecase", KeyKind.STRING),
    "StringNotEqualsIgnoreCase": ("not in ignorecase", KeyKind.STRING),
    "StringLike": ("like", KeyKind.STRING),
    "StringNotLike": ("not like", KeyKind.STRING),
}
# Ordering operators: several values are ORed, so the loosest bound alone says the same.
_LOOSEST = {
    "DateLessThan": max,
    "DateLessThanEquals": max,
    "DateGreaterThan": min,
    "DateGreaterThanEquals": min,
    "NumericLessThan": max,
    "NumericLessThanEquals": max,
    "NumericGreaterThan": min,
    "NumericGreaterThanEquals": min,
}
# Single-value words repeated once per value; the checker unites them back into one list
# (`!= 1 and != 2` → NumericNotEquals [1, 2]).
_REPEATABLE = frozenset({"NumericNotEquals", "DateNotEquals"})
_LIST_WORDS = frozenset({"in", "not in", "in ignorecase", "not in ignorecase", "like", "not like"})
# "not in A and not in B" is "not in A ∪ B"; a repeated positive operator would intersect.
_UNION_MERGEABLE = frozenset(
    {
        "NotIpAddress",
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "NumericNotEquals",
        "DateNotEquals",
    }
)
# Tag keys: acs:ResourceTag/<k> → resource_tag:<k>, acs:RequestTag/<k> → request_tag:<k>; the
# tag key characters the rules grammar takes (letters, digits, `_.:/+-@`).
_TAG_PREFIXES = {"acs:resourcetag/": "resource_tag:", "acs:requesttag/": "request_tag:"}
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/+-@")


def _key_name(key: str) -> tuple[str, KeyKind] | None:
    """The rules-language name of a RAM key and its kind, or None."""
    name = RAM_KEY_TO_NAME.get(key.lower())
    if name is not None:
        return name, LANGUAGE_KEYS[name][1]
    for prefix, word in _TAG_PREFIXES.items():
        tag = key[len(prefix) :]
        if key.lower().startswith(prefix) and tag and set(tag) <= _TAG_CHARS:
            return word + tag, KeyKind.STRING
    return None


class Unsupported(Exception):
    """Why one element cannot be imported; ``unsupported`` is False for malformed RAM."""

    def __init__(self, element: str, message: str, unsupported: bool = True):
        super().__init__(message)
        self.element = element
        self.message = message
        self.unsupported = unsupported


def malformed(element: str, message: str) -> Unsupported:
    return Unsupported(element, message, unsupported=False)


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _unchecked(key: str, where: str) -> str:
    """``unchecked "KEY"`` for a service key the language has no name for."""
    prefix, sep, rest = key.partition(":")
    if prefix.lower() == "acs" or not key.isprintable():
        raise Unsupported(where, f"condition key `{key}` has no rules-language form")
    if not sep or not prefix or not rest or " " in key:
        raise Unsupported(where, f"`{key}` is not a RAM condition key (PREFIX:Name)")
    return "unchecked " + '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def condition_clause(block: object) -> str:
    """A Condition element → `` when …`` (empty when unconditional)."""
    if not isinstance(block, dict):
        raise malformed("Condition", "expected an object of operators")
    merged: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
    for operator in sorted(block):
        keys = block[operator]
        element = f"Condition.{operator}"
        if operator not in _OPERATORS:
            raise Unsupported(element, f"operator `{operator}` has no rules-language form")
        if not isinstance(keys, dict) or not keys:
            raise malformed(element, "expected an object of condition keys")
        word, kind = _OPERATORS[operator]
        for key in sorted(keys):
            where = f"{element}[{key}]"
            named = _key_name(key)
            if named is not None:
                name, key_kind = named
                if key_kind is not kind:
                    raise Unsupported(where, f"`{operator}` on `{key}` has no rules-language form")
            else:
                name = _unchecked(key, where)
                if kind is KeyKind.IP:
                    raise Unsupported(
                        where,
                        f"`{operator}` on `{key}` has no rules-language form (a key the "
                        "language has no name for is typed by its operator, and `in` is a "
                        "string test)",
                    )
            values = _values(kind, operator, keys[key], where)
            several = word not in _LIST_WORDS and len(values) > 1
            if several and operator not in _REPEATABLE:
                raise Unsupported(
                    where,
                    f"`{operator}` with several values on `{key}` has no rules-language "
                    "form (it takes one value in the rules language)",
                )
            slot = (operator, name)
            if slot in merged:
                if operator not in _UNION_MERGEABLE:
                    raise Unsupported(where, f"`{key}` is tested twice with `{operator}`")
                values = tuple(sorted(set(merged[slot][1]) | set(values)))
            merged[slot] = (word, values)
    when: list[tuple[tuple[int, str], str]] = []
    for (_operator, name), (word, values) in merged.items():
        if word in _LIST_WORDS or len(values) == 1:
            texts = [f"{name} {word} {_shown(word, values)}"]
        else:  # `!=` / `not at` once per value
            texts = [f"{name} {word} {v}" for v in values]
        for text in texts:
            when.append(((_KEY_ORDER.get(name, len(_KEY_ORDER)), text), text))
    if not when:
        return ""
    return " when " + " and ".join(t for _, t in sorted(when))


def _shown(word: str, values: tuple[str, ...]) -> str:
    if word in _LIST_WORDS:
        return "[" + ", ".join(values) + "]"
    return values[0]


def _values(kind: KeyKind, operator: str, raw: object, where: str) -> tuple[str, ...]:
    items = as_list(raw)
    if not items:
        raise malformed(where, "expected at least one value")
    if not all(isinstance(v, str | bool | int | float) for v in items):
        raise malformed(where, "expected a string, number, boolean or a list of them")
    if kind is KeyKind.IP:
        return tuple(_network(net) for net in _networks(items, where))
    if kind is KeyKind.BOOL:
        flags = {_flag(v, where) for v in items}
        if len(flags) > 1:
            raise Unsupported(where, "`Bool` with both true and false has no rules-language form")
        return (flags.pop(),)
    if kind is KeyKind.TIME:
        times = sorted({_time(v, where) for v in items})
        if operator in _LOOSEST:
            # Values of one key are ORed: t < any of them is t < the latest, and so on.
            times = [_LOOSEST[operator](times)]
        return tuple(format_utc(t) for t in times)
    if kind is KeyKind.NUMBER:
        numbers = sorted({_number(v, where) for v in items}, key=Decimal)
        if operator in _LOOSEST:
            numbers = [_LOOSEST[operator](numbers, key=Decimal)]
        return tuple(numbers)
    texts = sorted({_text(v, where) for v in items})
    return tuple(_quote(t) for t in texts)


def _networks(
    items: list[object], where: str
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = set()
    for v in items:
        try:
            nets.add(ipaddress.ip_network(str(v).strip(), strict=False))
        except ValueError:
            raise malformed(where, f"`{v}` is not an IP address or CIDR block") from None
    return sorted(nets, key=lambda n: (n.version, n))


def _network(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _flag(value: object, where: str) -> str:
    flag = parse_bool(value)
    if flag is None:
        raise malformed(where, f"`{value}` is not true or false")
    return "true" if flag else "false"


def _number(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise malformed(where, f"`{value}` is not a number")
    try:
        return parse_number(value if isinstance(value, str) else json.dumps(value))
    except ValueProblem:
        raise malformed(where, f"`{value}` is not a number") from None


def _time(value: object, where: str) -> datetime:
    # parse_time reads a time without an offset as UTC, as RAM does.
    when = parse_time(value) if isinstance(value, str) else None
    if when is None:
        raise malformed(where, f"`{value}` is not an ISO 8601 time")
    return when.astimezone(UTC)


def _text(value: object, where: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = json.dumps(value)
    else:
        text = str(value)
    if not text or not text.isprintable():
        raise Unsupported(where, "an empty or unprintable value has no rules-language form")
    return text


def _quote(text: str) -> str:
    if set(text) <= _BARE_CHARS and text.lower() not in _KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
