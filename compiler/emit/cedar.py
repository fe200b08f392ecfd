"""Checked rules → Cedar policies (``ramguard compile --target cedar``), and the Cedar request
for a RAM request, so that Cedar decides exactly what the trie and the RAM JSON decide.

The model, one request shape for every rule:

- principal, action and resource are fixed placeholders (``User::"caller"``,
  ``Action::"call"``, ``Resource::"*"``): a RAM action is a glob-matched string, and Cedar
  matches strings only with ``like``, never entity ids, so the RAM action travels in
  ``context.action``.
- ``context.action`` is ``<ram-code>:<Operation>`` lowercased, and every pattern is lowercased
  here: RAM matches actions case-insensitively, Cedar's ``==`` and ``like`` do not.
- A literal pattern is ``==`` (several: ``[...].contains``); a pattern with ``*`` is ``like``.
  Cedar's ``like`` has no one-character wildcard, so a pattern with ``?`` is not translatable:
  ``cedar_for`` raises a ``CompileError`` naming the rule (E0401) rather than widening it.
- Condition keys become context attributes named as in the rules language: ``source_ip``
  (Cedar ``ipaddr``, compared with ``isInRange``), ``mfa`` and ``secure_transport`` (Bool),
  ``vpc``, ``access_key``, ``principal`` and ``resource_group`` (String; a boolean or
  number request value as the text the trie's string operators read, ``true`` / ``7``),
  and ``time_us`` for ``acs:CurrentTime``: a Long of
  microseconds since the epoch, because Cedar strings have no ``<`` and its ``datetime``
  keeps only milliseconds, which would move a request across a boundary the trie respects.
- Context keys are read as the trie reads them (``compiler.model.keys.spelled_context``):
  RAM keys and language names in any case (``acs:sourceip``, ``SOURCE_IP``); a key that is
  no context key, or one key in two spellings, raises KeyError as ``Policy.decide`` does.
- A key absent from the request, or a value that does not parse for its kind, is absent from
  the Cedar context (``cedar_request`` drops it). Values are read by the trie's own parsers
  (``compiler.model.conditions.parse_ip`` / ``parse_time``), so that no engine reads a value
  another way: a padded address or time is none, a time without an offset is UTC, a scoped
  IPv6 address (``fe80::1%eth0``) is its address without the zone. Positive operators test
  ``context has k && …`` and fail, negated ones ``!(context has k) || …`` and hold, as in
  DESIGN.md.
- ``StringLike`` / ``StringNotLike`` (``principal like [...]``, the org baseline's
  ``unless principal like [acs:ram:*:*:role/resourcedirectoryaccountaccessrole]``
  exemption) are ``like``: both are case-sensitive and ``*`` is any run, also empty, in both,
  so a pattern without ``?`` means the same thing (Cedar's own literal star, ``\\*``, never
  arises: every ``*`` of a RAM pattern is a wildcard). A value with ``?`` is refused (E0401).
- A resource-scoped rule (``on [...]``, ``in region [...]``) tests ``context.resource``, the
  request's resource ARN, with ``like`` (ARN patterns are case-sensitive globs, as in the
  trie); a request without a resource has no ``resource`` attribute and the rule does not
  match it, which is what the trie decides (it lists such a rule under ``resource_unknown``
  without denying). ``except [...]`` (NotAction) is the negated action test.
- What Cedar cannot express is refused with the rule's FILE:LINE:COL and the reason (E0401,
  E0402): ``?`` (``like`` has only ``*``), the ``IgnoreCase`` operators (Cedar has no case
  folding), ``Numeric…`` (RAM compares decimals, Cedar has 64-bit integers only), and keys
  with no attribute in this request shape (tags, service keys). ``DateEquals`` /
  ``DateNotEquals`` are refused too: RAM's equality of times is not documented closely
  enough to state it.
- Each deny rule is one ``forbid``; one ``permit(principal, action, resource);`` per file makes
  "not forbidden" Cedar's Allow, which is this project's ``allow`` (not denied by these rules).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from compiler.language.diagnostics import CompileError, Diagnostic, error
from compiler.model.conditions import as_string, parse_ip, parse_time
from compiler.model.ir import Condition, Conjunction, PolicyIR, Rule
from compiler.model.keys import LANGUAGE_KEYS, KeyKind, parse_bool, spelled_context

SUFFIX = ".cedar"
PRINCIPAL = 'User::"caller"'
ACTION = 'Action::"call"'
RESOURCE = 'Resource::"*"'
TIME_ATTRIBUTE = "time_us"
RESOURCE_ATTRIBUTE = "resource"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# RAM key → Cedar context attribute.
ATTRIBUTES: dict[str, str] = {
    ram: (TIME_ATTRIBUTE if name == "time" else name) for name, (ram, _) in LANGUAGE_KEYS.items()
}
_KIND = {ram: kind for ram, kind in LANGUAGE_KEYS.values()}
_DATE_OPERATORS = {
    "DateLessThan": "<",
    "DateLessThanEquals": "<=",
    "DateGreaterThan": ">",
    "DateGreaterThanEquals": ">=",
}


@dataclass(frozen=True, slots=True)
class CedarPolicy:
    """One policy's Cedar text and the file it goes to (same fields ``plan_output`` reads)."""

    policy: str
    filename: str
    text: str


def _string(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + out.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"'


def _like(pattern: str) -> str:
    # Inside a `like` pattern `*` is the wildcard and `\*` a literal star; every `*` of a RAM
    # pattern is a wildcard, so only `\` and `"` need escaping.
    return _string(pattern)


def _micros(text: str) -> int | None:
    # The trie's own reading (compiler.model.conditions.parse_time): no stripping (a padded
    # time is no time), a time without an offset is UTC. Reading it here another way made
    # Cedar allow `2026-12-02` under `time after 2026-12-01T00:00:00Z` where the trie and the
    # JSON deny, and deny ` 2026-12-01T00:00:01Z` where they allow.
    when = parse_time(text)
    if when is None:
        return None
    delta = when - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _untranslatable(
    rule: Rule, pattern: str, source: str | None, what: str = "the operations"
) -> Diagnostic:
    return error(
        "E0401",
        f"`{pattern}` uses `?`, which Cedar cannot express: its `like` has only `*`",
        rule.span,
        help=f"list {what}, or use `*` if the wider match is intended; "
        "`--target ram` is unaffected",
        source=source,
    )


def _actions(rule: Rule, source: str | None, diags: list[Diagnostic]) -> str | None:
    """The action test, or None when any action matches (a bare `*`)."""
    for pattern in rule.actions:
        if "?" in pattern:
            diags.append(_untranslatable(rule, pattern, source))
    patterns = sorted({p.lower() for p in rule.actions})
    if "*" in patterns:
        return None
    literals, globs = [], []
    for pattern in patterns:
        if "?" in pattern:
            continue
        if "*" in pattern:
            globs.append(f"context.action like {_like(pattern)}")
        else:
            literals.append(pattern)
    tests = []
    if len(literals) == 1:
        tests.append(f"context.action == {_string(literals[0])}")
    elif literals:
        tests.append("[" + ", ".join(_string(a) for a in literals) + "].contains(context.action)")
    tests.extend(globs)
    return tests[0] if len(tests) == 1 else "(" + " || ".join(tests) + ")"


def _condition(cond: Condition) -> str:
    attr = ATTRIBUTES.get(cond.key)
    if attr is None:
        raise ValueError(f"no Cedar attribute for condition key {cond.key}")
    value = f"context.{attr}"
    has = f"context has {attr}"
    op = cond.operator
    if op in ("IpAddress", "NotIpAddress"):
        nets = [str(ipaddress.ip_network(v, strict=False)) for v in cond.values]
        inside = " || ".join(f"{value}.isInRange(ip({_string(n)}))" for n in nets)
        if op == "IpAddress":
            return f"({has} && ({inside}))"
        return f"(!({has}) || !({inside}))"
    if op in ("StringEquals", "StringNotEquals"):
        values = sorted(set(cond.values))
        member = (
            f"{value} == {_string(values[0])}"
            if len(values) == 1
            else "[" + ", ".join(_string(v) for v in values) + f"].contains({value})"
        )
        if op == "StringEquals":
            return f"({has} && {member})"
        return f"(!({has}) || !({member}))"
    if op in ("StringLike", "StringNotLike"):
        # `?` never gets here (``_unstated`` refuses it).
        like = " || ".join(f"{value} like {_like(v)}" for v in sorted(set(cond.values)))
        if op == "StringLike":
            return f"({has} && ({like}))"
        return f"(!({has}) || !({like}))"
    if op == "Bool":
        return f"({has} && {value} == {'true' if cond.values[0] == 'true' else 'false'})"
    if op in _DATE_OPERATORS:
        micros = _micros(cond.values[0])
        if micros is None:
            raise ValueError(f"not a time with a zone: {cond.values[0]}")
        return f"({has} && {value} {_DATE_OPERATORS[op]} {micros})"
    raise ValueError(f"no Cedar translation for condition operator {op}")


def _conjunction(conj: Conjunction) -> str | None:
    if not conj:
        return None
    return " && ".join(_condition(c) for c in conj)


# Operators this translation states exactly; the rest are refused rather than approximated,
# each with what Cedar lacks for it.
_CEDAR_OPERATORS = frozenset(
    {
        "IpAddress",
        "NotIpAddress",
        "StringEquals",
        "StringNotEquals",
        "StringLike",
        "StringNotLike",
        "Bool",
        *_DATE_OPERATORS,
    }
)
_WHY_NOT = {
    "StringEqualsIgnoreCase": "Cedar has no case-insensitive comparison or case folding",
    "StringNotEqualsIgnoreCase": "Cedar has no case-insensitive comparison or case folding",
    "DateEquals": "RAM's equality of two times is not documented closely enough to state it",
    "DateNotEquals": "RAM's equality of two times is not documented closely enough to state it",
}
_NUMERIC_WHY = "RAM compares decimal numbers, Cedar has only 64-bit integers (Long)"


def _refusal(rule: Rule, what: str, why: str, source: str | None) -> Diagnostic:
    return error(
        "E0402",
        f"Cedar output cannot state {what}: {why}",
        rule.span,
        help="`--target ram` states it; drop the rule from the Cedar policy set or rewrite it",
        source=source,
    )


def _unstated(rule: Rule, source: str | None) -> list[Diagnostic]:
    """What Cedar (or this request shape) cannot state exactly: ``?`` in a resource or a
    ``like`` value, the operators outside ``_CEDAR_OPERATORS``, keys without a Cedar
    attribute. (A ``?`` in an action is ``_actions``'s, reported once per pattern.)"""
    out = []
    if not rule.any_resource:
        for pattern in rule.resources:
            if "?" in pattern:
                out.append(_untranslatable(rule, pattern, source, "the resources"))
    for conj in rule.conditions:
        for cond in conj:
            op = cond.operator
            if op not in _CEDAR_OPERATORS:
                why = _NUMERIC_WHY if op.startswith("Numeric") else _WHY_NOT.get(op, "")
                out.append(
                    _refusal(
                        rule, f"the {op} operator", why or "it has no Cedar counterpart", source
                    )
                )
            elif cond.key not in ATTRIBUTES:
                out.append(
                    _refusal(
                        rule,
                        f"the condition key `{cond.key}`",
                        "the Cedar request carries only action, resource and the keys "
                        + ", ".join(f"`{k}`" for k in LANGUAGE_KEYS),
                        source,
                    )
                )
            elif op in ("StringLike", "StringNotLike"):
                for value in cond.values:
                    if "?" in value:
                        out.append(_untranslatable(rule, value, source, "the values"))
    return out


def _resources(rule: Rule) -> str | None:
    """The resource test, or None for a rule on every resource."""
    if rule.any_resource:
        return None
    attr = RESOURCE_ATTRIBUTE
    like = " || ".join(f"context.{attr} like {_like(p)}" for p in sorted(set(rule.resources)))
    return f"(context has {attr} && ({like}))"


def _comment(text: str) -> str:
    """``text`` made safe for one ``//`` line: Cedar ends a comment at a line break, so every
    control, line- or paragraph-separator character (``\\n``, ``\\r``, U+2028, …) is written as
    ``\\uXXXX`` — a description or file name is data and can never start a policy (issue 16 F4).
    """
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text
    )


def _rule(rule: Rule, position: int, source: str | None, diags: list[Diagnostic]) -> str:
    refused = _unstated(rule, source)
    if refused:
        diags.extend(refused)
        return ""
    action = _actions(rule, source, diags)
    conjunctions = [_conjunction(c) for c in rule.conditions]
    if rule.not_actions:
        # `except [...]`: every action matching none of them (`except [*]` matches nothing).
        tests = (
            ["false"] if action is None else [f"!{action}" if action[0] == "(" else f"!({action})"]
        )
    else:
        tests = [] if action is None else [action]
    resource = _resources(rule)
    if resource is not None:
        tests.append(resource)
    if None not in conjunctions:  # an unconditional branch makes the whole rule unconditional
        if len(conjunctions) == 1:
            tests.append(conjunctions[0])
        else:
            # Each condition is parenthesised already; a conjunction of several needs its own.
            either = " || ".join(
                f"({c})" if len(conj) > 1 else c
                for c, conj in zip(conjunctions, rule.conditions, strict=True)
            )
            tests.append(f"({either})" if tests else either)
    body = " && ".join(tests) if tests else "true"
    comment = "\n".join(f"// {_comment(line)}".rstrip() for line in rule.text.splitlines())
    return (
        f"// {_comment(rule.file)}:{rule.line}\n{comment}\n"
        f"@id({_string(f'{rule.policy}/{position}')})\n"
        f"forbid (principal, action, resource)\nwhen {{ {body} }};\n"
    )


def cedar_for(policy: PolicyIR, source: str | None = None) -> CedarPolicy:
    """One policy as Cedar text; ``CompileError`` (E0401) when a rule cannot be translated."""
    diags: list[Diagnostic] = []
    header = [f"// Generated by ramguard from {_comment(policy.file)}; do not edit."]
    described = f": {policy.description}" if policy.description else ""
    header.append(_comment(f"// policy {policy.name}{described}"))
    header.append(
        "// Request: context.action = lowercased `<ram-code>:<Operation>`; context.resource "
        "= the resource ARN when known; context keys source_ip (ip), mfa, secure_transport "
        "(Bool), vpc, access_key, principal, resource_group (String), time_us (Long, "
        "microseconds since 1970-01-01T00:00:00Z)."
    )
    parts = ["\n".join(header) + "\n"]
    for rule in policy.allows:
        # This translation is a deny list ending in `permit`; an allow list is decided along
        # a Resource Directory chain (each level must allow), which one Cedar file cannot say.
        diags.append(
            error(
                "E0403",
                "the cedar target cannot carry an allow list",
                rule.span,
                help="compile this control policy with `--target control-policy` (or "
                "terraform/ros); `ramguard test` and `prove --org` check its chain",
                source=source,
            )
        )
    for position, rule in enumerate(policy.rules, start=1):
        parts.append(_rule(rule, position, source, diags))
    if diags:
        raise CompileError(diags)
    parts.append("// Not denied by these rules: allow.\npermit (principal, action, resource);\n")
    return CedarPolicy(policy.name, policy.name + SUFFIX, "\n".join(parts))


def cedar_policies(
    policies: tuple[PolicyIR, ...], sources: Mapping[str, str] | None = None
) -> list[CedarPolicy]:
    """Every policy translated; all untranslatable rules reported together."""
    out: list[CedarPolicy] = []
    diags: list[Diagnostic] = []
    for policy in policies:
        try:
            out.append(cedar_for(policy, (sources or {}).get(policy.file)))
        except CompileError as exc:
            diags.extend(exc.diagnostics)
    if diags:
        raise CompileError(diags)
    return out


def cedar_context(context: Mapping[str, object] | None) -> dict[str, object]:
    """A RAM-keyed context as Cedar context attributes; unparsable values are left out.

    Keys are read as ``Policy.decide`` reads them (``spelled_context``): RAM keys and
    language names in any case, and KeyError for a key that is none (``sorce_ip``) or one
    key given in two spellings (``oss:Prefix`` and ``oss:prefix``), which the trie and the
    RAM evaluator refuse too. Before, Cedar dropped such keys and decided the request."""
    out: dict[str, object] = {}
    for key, raw in (spelled_context(context) if context else {}).items():
        attr = ATTRIBUTES.get(key)
        if attr is None:
            continue
        kind = _KIND[key]
        if kind == "ip":
            # The trie's reading (parse_ip): no stripping, so `" 10.0.0.1"` is no address
            # (it was stripped here, and Cedar denied what the trie and the JSON allow). A
            # scoped IPv6 address (`fe80::1%eth0`) is the address the trie compares, its
            # number: Cedar's `ip()` refuses the zone and answered NoDecision.
            addr = parse_ip(raw) if isinstance(raw, str) else None
            if addr is None:
                continue
            if addr.version == 6:
                addr = ipaddress.IPv6Address(int(addr))
            out[attr] = {"__extn": {"fn": "ip", "arg": str(addr)}}
        elif kind == "bool":
            flag = parse_bool(raw)
            if flag is not None:
                out[attr] = flag
        elif kind == "time":
            micros = _micros(raw) if isinstance(raw, str) else None
            if micros is not None:
                out[attr] = micros
        elif isinstance(raw, str):
            out[attr] = raw
        elif kind is KeyKind.STRING and as_string(raw) is not None:
            # A boolean or number, read as the text the trie's string operators read.
            out[attr] = as_string(raw)
    return out


def cedar_request(
    action: str, context: Mapping[str, object] | None = None, resource: str | None = None
) -> dict:
    """The cedarpy request deciding ``action`` (on ``resource``, when known) under a
    RAM-keyed ``context``."""
    ctx = cedar_context(context)
    ctx["action"] = action.lower()
    if resource is not None:
        ctx[RESOURCE_ATTRIBUTE] = resource
    return {"principal": PRINCIPAL, "action": ACTION, "resource": RESOURCE, "context": ctx}
