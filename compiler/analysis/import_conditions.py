"""A RAM statement's Condition element → the rules language's `` when … unless …`` clause.

Part of ``ramguard import`` (``compiler.importer``). Each condition maps to the language
operator the rules compile back to, so the emitted JSON carries the same operator, key and
values and RAM's absent-key behaviour is unchanged. ``DateLessThanEquals T`` is
``unless time after T``: the checker negates ``DateGreaterThan`` into the RAM operator
``DateLessThanEquals`` itself (``ir.NEGATED_OPERATOR``), not into a logical "not", so a request
without ``acs:CurrentTime`` matches neither the original nor the import (a plain logical
``not (t > T)`` would have matched it). Likewise ``DateGreaterThanEquals T`` is
``unless time before T``. The language has one ``unless`` clause and ``unless A and B`` means
``not A or not B``; a statement with both ``…Equals`` date operators is therefore an error.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

from compiler.model.conditions import parse_time
from compiler.model.keys import LANGUAGE_KEYS, RAM_KEY_TO_NAME, KeyKind, format_utc, parse_bool

_BARE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@+=")
_KEYWORDS = frozenset({"and", "in", "not", "when", "unless", "before", "after", "deny", "policy"})
_KEY_ORDER = {name: i for i, name in enumerate(LANGUAGE_KEYS)}

# RAM operator → (language operator, allowed key kind, goes under `unless`).
_OPERATORS: dict[str, tuple[str, KeyKind, bool]] = {
    "IpAddress": ("in", KeyKind.IP, False),
    "NotIpAddress": ("not in", KeyKind.IP, False),
    "Bool": ("=", KeyKind.BOOL, False),
    "DateLessThan": ("before", KeyKind.TIME, False),
    "DateGreaterThan": ("after", KeyKind.TIME, False),
    "DateLessThanEquals": ("after", KeyKind.TIME, True),
    "DateGreaterThanEquals": ("before", KeyKind.TIME, True),
    "StringEquals": ("in", KeyKind.STRING, False),
    "StringNotEquals": ("not in", KeyKind.STRING, False),
    "StringEqualsIgnoreCase": ("in ignorecase", KeyKind.STRING, False),
    "StringNotEqualsIgnoreCase": ("not in ignorecase", KeyKind.STRING, False),
    "StringLike": ("like", KeyKind.STRING, False),
    "StringNotLike": ("not like", KeyKind.STRING, False),
}
# "not in A and not in B" is "not in A ∪ B"; a repeated positive operator would intersect.
_UNION_MERGEABLE = frozenset(
    {"NotIpAddress", "StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike"}
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


def condition_clause(block: object) -> str:
    """A Condition element → `` when … unless …`` (empty when unconditional)."""
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
        word, kind, _ = _OPERATORS[operator]
        for key in sorted(keys):
            where = f"{element}[{key}]"
            named = _key_name(key)
            if named is None:
                raise Unsupported(where, f"condition key `{key}` has no rules-language form")
            name, key_kind = named
            if key_kind is not kind:
                raise Unsupported(where, f"`{operator}` on `{key}` has no rules-language form")
            values = _values(kind, operator, keys[key], where)
            slot = (operator, name)
            if slot in merged:
                if operator not in _UNION_MERGEABLE:
                    raise Unsupported(where, f"`{key}` is tested twice with `{operator}`")
                values = tuple(sorted(set(merged[slot][1]) | set(values)))
            merged[slot] = (word, values)
    when: list[tuple[tuple[int, str], str]] = []
    unless: list[tuple[tuple[int, str], str]] = []
    for (operator, name), (word, values) in merged.items():
        text = f"{name} {word} {_shown(word, values)}"
        order = (_KEY_ORDER.get(name, len(_KEY_ORDER)), text)
        (unless if _OPERATORS[operator][2] else when).append((order, text))
    if len(unless) > 1:
        raise Unsupported(
            "Condition",
            "DateLessThanEquals and DateGreaterThanEquals together have no rules-language "
            "form (one `unless` clause negates a whole conjunction)",
        )
    out = ""
    if when:
        out += " when " + " and ".join(t for _, t in sorted(when))
    if unless:
        out += " unless " + unless[0][1]
    return out


def _shown(word: str, values: tuple[str, ...]) -> str:
    if word in ("in", "not in", "in ignorecase", "not in ignorecase", "like", "not like"):
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
        times = [_time(v, where) for v in items]
        # Values of one key are ORed: t < any of them is t < the latest, and so on.
        pick = max(times) if operator in ("DateLessThan", "DateLessThanEquals") else min(times)
        return (format_utc(pick),)
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
