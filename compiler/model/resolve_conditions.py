"""Conditions of one rule: each checked against its key's kind, then ``unless`` pushed into
disjunctive normal form with equal (operator, key) slots merged.

``check_condition`` turns a ``ConditionNode`` into a ``Condition`` (or diagnostics);
``normalise`` turns a rule's ``when``/``unless`` lists into its conjunctions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from difflib import get_close_matches
from functools import lru_cache

from compiler.catalog import Service
from compiler.language.ast import ConditionNode, RuleNode, Value
from compiler.language.diagnostics import Diagnostic, error, shorten, warning
from compiler.model.catalog_access import service_keys
from compiler.model.glob import has_glob
from compiler.model.ir import Condition, Conjunction
from compiler.model.keys import (
    GLOBAL_KEYS,
    LANGUAGE_KEYS,
    TAG_KEY_CHARS,
    TAG_KEYS,
    KeyKind,
    ValueProblem,
    parse_value,
    ram_key,
    tag_key,
)

# rules-language operator → RAM operator, per key kind.
_OPERATORS: dict[KeyKind, dict[str, str]] = {
    KeyKind.IP: {"in": "IpAddress", "not in": "NotIpAddress"},
    KeyKind.STRING: {
        "in": "StringEquals",
        "not in": "StringNotEquals",
        "in ignorecase": "StringEqualsIgnoreCase",
        "not in ignorecase": "StringNotEqualsIgnoreCase",
        "like": "StringLike",
        "not like": "StringNotLike",
    },
    KeyKind.BOOL: {"=": "Bool"},
    KeyKind.NUMBER: {
        "=": "NumericEquals",
        "in": "NumericEquals",
        "!=": "NumericNotEquals",
        "not in": "NumericNotEquals",
        "<": "NumericLessThan",
        "<=": "NumericLessThanEquals",
        ">": "NumericGreaterThan",
        ">=": "NumericGreaterThanEquals",
    },
    KeyKind.TIME: {
        "before": "DateLessThan",
        "after": "DateGreaterThan",
        "at or before": "DateLessThanEquals",
        "at or after": "DateGreaterThanEquals",
        "at": "DateEquals",
        "not at": "DateNotEquals",
    },
}
_KIND_USAGE = {
    KeyKind.IP: "`in [CIDR, …]` or `not in [CIDR, …]`",
    KeyKind.STRING: "`in`, `not in`, `in ignorecase`, `not in ignorecase`, `like` or "
    "`not like` and a list of values",
    KeyKind.BOOL: "`= true` or `= false`",
    KeyKind.NUMBER: "`=`, `!=`, `<`, `<=`, `>`, `>=` and a number, or `in`/`not in` a list",
    KeyKind.TIME: "`before`, `after`, `at or before`, `at or after`, `at` or `not at` and a "
    "time (ISO 8601 with an offset, e.g. 2026-12-01T00:00:00Z)",
}
# Operators that take one value, not a list.
_SINGLE = frozenset({"=", "!=", "<", "<=", ">", ">=", "before", "after", "at or before"})
_SINGLE |= {"at or after", "at", "not at"}
_EQUALITY = frozenset(
    {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}
)
# Operators whose repeated use on one key can be merged by uniting the values: "not in A and
# not in B" is "not in A ∪ B". Positive repeats intersect and are rejected instead.
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


def _unknown_key(node: ConditionNode, candidates: Sequence[str], diags: list[Diagnostic]):
    text = node.key.text
    lowered = {c.lower(): c for c in candidates}
    close = [lowered[text.lower()]] if text.lower() in lowered else []
    close = close or get_close_matches(text[:60], list(candidates), n=1)
    shown = "`" + shorten(text) + "`" if node.key_form == "named" else f'`"{shorten(text)}"`'
    if close:
        hint = f"did you mean {close[0]}?"
    elif node.key_form == "named":
        hint = "known keys: " + ", ".join([*LANGUAGE_KEYS, "resource_tag:K", "request_tag:K"])
    else:
        hint = 'write `unchecked "KEY"` for a key the catalog does not list'
    diags.append(error("E0230", f"unknown condition key {shown}", node.key.span, help=hint))


def resolve_key(
    node: ConditionNode, services: Sequence[Service] | None, diags: list[Diagnostic]
) -> tuple[str, KeyKind] | None:
    """The RAM key and kind a condition tests; None (with a diagnostic) when unknown."""
    text = node.key.text
    if node.key_form == "named":
        family, sep, tag = text.partition(":")
        if sep:
            if family not in TAG_KEYS:
                diags.append(
                    error(
                        "E0232",
                        f"`{shorten(family)}:` is not a tag key family",
                        node.key.span,
                        help="write resource_tag:KEY or request_tag:KEY",
                    )
                )
                return None
            return TAG_KEYS[family] + tag, KeyKind.STRING
        entry = LANGUAGE_KEYS.get(text)
        if entry is None:
            _unknown_key(node, list(LANGUAGE_KEYS), diags)
            return None
        return entry
    if text.count(":") < 1 or not text.split(":", 1)[0] or not text.split(":", 1)[1]:
        diags.append(
            error(
                "E0233",
                f"`{shorten(text)}` is not a RAM condition key",
                node.key.span,
                help="RAM keys are PREFIX:Name, e.g. acs:SourceIp or oss:Prefix",
            )
        )
        return None
    if not text.isprintable() or " " in text:
        diags.append(error("E0233", "a condition key cannot hold spaces", node.key.span))
        return None
    known = ram_key(text)
    if known is not None:
        tagged = tag_key(known)
        if tagged is not None:
            if not set(tagged[1]) <= TAG_KEY_CHARS:
                diags.append(error("E0232", "unexpected character in a tag key", node.key.span))
                return None
            return known, KeyKind.STRING
        return known, GLOBAL_KEYS[known]
    if node.key_form == "unchecked":
        return text, _unchecked_kind(node)
    prefix = text.split(":", 1)[0].lower()
    if prefix == "acs":
        _unknown_key(node, list(GLOBAL_KEYS), diags)
        return None
    pool = list(services or ())
    keys: dict[str, str] = {}
    listed = False
    for svc in pool:
        found = service_keys(svc)
        if found is not None:
            listed = True
            keys.update(found)
    codes = {c.lower() for svc in pool for c in svc.all_codes}
    if listed:
        by_lower = {k.lower(): k for k in keys}
        hit = by_lower.get(text.lower())
        if hit is None:
            family = next((k for k in sorted(keys) if _same_tag_family(k, text)), None)
            if family is None:
                _unknown_key(node, [*keys, *GLOBAL_KEYS], diags)
                return None
            return text, KeyKind(keys[family])
        return hit, KeyKind(keys[hit])
    if pool and prefix not in codes:
        diags.append(
            error(
                "E0234",
                f"`{shorten(text)}` is not a key of {' or '.join(s.name for s in pool)}",
                node.key.span,
                help=f"its keys start with {', '.join(sorted(codes))}:; "
                'write `unchecked "KEY"` to use it anyway',
            )
        )
        return None
    # The catalog lists no keys for this service: the key is taken as written, a string.
    return text, KeyKind.STRING


_NUMERIC_WORDS = frozenset({"!=", "<", "<=", ">", ">="})
_TIME_WORDS = frozenset({"before", "after", "at or before", "at or after", "at", "not at"})


def _unchecked_kind(node: ConditionNode) -> KeyKind:
    """An unchecked key has no kind in any table: the operator says it. Comparisons make a
    number, the time words a time, `=` a boolean (`= true`/`= false`) or else a number; the
    list operators (`in`, `like`, …) a string."""
    if node.operator in _NUMERIC_WORDS:
        return KeyKind.NUMBER
    if node.operator in _TIME_WORDS:
        return KeyKind.TIME
    if node.operator == "=":
        is_bool = len(node.values) == 1 and node.values[0].text.lower() in ("true", "false")
        return KeyKind.BOOL if is_bool else KeyKind.NUMBER
    return KeyKind.STRING


def _same_tag_family(listed: str, text: str) -> bool:
    """A listed key with a placeholder (``ecs:tag/<tag-key>``, ``ecs:tag/${TagKey}``) names
    a family: any key with its literal head and a non-empty tail belongs to it."""
    for mark in ("<", "${", "{"):
        head, sep, _ = listed.partition(mark)
        if sep:
            return text.lower().startswith(head.lower()) and len(text) > len(head)
    return listed.lower() == text.lower()


def check_condition(
    node: ConditionNode,
    diags: list[Diagnostic],
    services: Sequence[Service] | None = None,
) -> Condition | None:
    resolved = resolve_key(node, services, diags)
    if resolved is None:
        return None
    key, kind = resolved
    operator = _OPERATORS[kind].get(node.operator)
    if operator is None:
        diags.append(
            error(
                "E0231",
                f"`{shorten(node.key.text)}` is {'an' if kind == 'ip' else 'a'} {kind} key and "
                f"does not take `{node.operator}`",
                node.operator_span or node.span,
                help=f"write `{node.key_source()}` with {_KIND_USAGE[kind]}",
            )
        )
        return None
    if node.operator in _SINGLE and kind is not KeyKind.BOOL and len(node.values) != 1:
        diags.append(
            error(
                "E0235",
                f"`{node.operator}` takes one value",
                node.values[0].span,
                help="write one value, or use `in [...]` for a list",
            )
        )
        return None
    if kind is KeyKind.BOOL and len(node.values) != 1:
        diags.append(error("E0241", "a boolean takes one value", node.values[0].span))
        return None
    values: list[str] = []
    for value in node.values:
        parsed = _parse_value(kind, value, diags)
        if parsed is not None:
            values.append(parsed)
            if operator in _EQUALITY and has_glob(value.text):
                diags.append(
                    warning(
                        "W0230",
                        f"`{shorten(value.text)}` holds a glob character, but `{node.operator}` "
                        "compares it literally",
                        value.span,
                        help=f"write `{node.key_source()} "
                        f"{'not like' if 'not' in node.operator else 'like'} [...]` to match "
                        "a pattern",
                    )
                )
    if len(values) != len(node.values):
        return None
    return Condition(operator, key, tuple(sorted(set(values))))


_ERROR_CODES = {
    KeyKind.IP: "E0240",
    KeyKind.BOOL: "E0241",
    KeyKind.TIME: "E0242",
    KeyKind.STRING: "E0243",
    KeyKind.NUMBER: "E0244",
}


# A rule set repeats a few values (the same CIDRs, times, booleans) thousands of times, and
# ipaddress parsing each again was a tenth of checking 10,000 rules. Pure, so cached, bounded;
# a bad value raises every time (exceptions are not cached).
_canonical_value = lru_cache(maxsize=4096)(parse_value)


def _parse_value(kind: KeyKind, value: Value, diags: list[Diagnostic]) -> str | None:
    try:
        return _canonical_value(kind, value.text)
    except ValueProblem as problem:
        diags.append(error(_ERROR_CODES[kind], problem.message, value.span, help=problem.help))
        return None


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
