"""Why a request is denied or not: every rule considered, every condition's outcome.

This is the trie's side of the project (it shares ``compile_condition`` and ``glob_match``
with the trie and its oracle), so the decision it reports is the one ``Policy.decide`` makes;
the tests hold it to that for random requests. Each condition is shown in the rules language
(``source_ip not in [...]``) with the request value it was decided on and a reason.

By default only the rules whose service could apply are traced — those with an action pattern
whose RAM-code part matches the action's code — so an explanation of ``ecs:RunInstances``
against a long policy stays short; ``all_rules=True`` traces every rule.

Over 400 lines: one trace per rule kind (actions, resources, each condition operator) kept
beside the trie semantics it must repeat, so a reader can check them against each other.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from compiler.decide.trie import Decision, Match
from compiler.model.conditions import as_string, compile_condition, parse_ip, parse_time
from compiler.model.glob import glob_match
from compiler.model.ir import MATCHES_ABSENT_KEY, Condition, Rule
from compiler.model.keys import RAM_KEY_TO_NAME, fold_keys, normalise_context, parse_bool

# RAM operator → how the rules language says it.
_RULES_FORM = {
    "IpAddress": "in",
    "NotIpAddress": "not in",
    "StringEquals": "in",
    "StringNotEquals": "not in",
    "StringEqualsIgnoreCase": "in ignorecase",
    "StringNotEqualsIgnoreCase": "not in ignorecase",
    "StringLike": "like",
    "StringNotLike": "not like",
    "Bool": "=",
    "NumericEquals": "in",
    "NumericNotEquals": "not in",
    "NumericLessThan": "<",
    "NumericLessThanEquals": "<=",
    "NumericGreaterThan": ">",
    "NumericGreaterThanEquals": ">=",
    "DateLessThan": "before",
    "DateGreaterThan": "after",
    "DateLessThanEquals": "at or before",
    "DateGreaterThanEquals": "at or after",
    "DateEquals": "at",
    "DateNotEquals": "not at",
}
_LIST_OPERATORS = frozenset(
    {
        "IpAddress",
        "NotIpAddress",
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
    }
)
# Characters that end a bare value in the rules grammar (VALUE: /[^\s,\[\]#"]+/).
_NEEDS_QUOTES = frozenset(',[]#"\\')


class HasRules(Protocol):
    """What ``explain`` needs of a compiled policy (``compiler.Policy`` is one): its rules."""

    @property
    def rules(self) -> Sequence[Rule]: ...


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    key: str
    """The rules language's name (``source_ip``), or the RAM key when it has none."""
    ram_key: str
    operator: str
    """The RAM operator, as emitted (``NotIpAddress``)."""
    values: tuple[str, ...]
    rules_form: str
    """The condition in the rules language: ``source_ip not in [10.0.0.0/8]``."""
    held: bool
    value: str | None
    """The request value it was decided on; None when the key is absent."""
    reason: str

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "ram_key": self.ram_key,
            "operator": self.operator,
            "values": list(self.values),
            "condition": self.rules_form,
            "held": self.held,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class ConjunctionTrace:
    conditions: tuple[ConditionTrace, ...]

    @property
    def held(self) -> bool:
        return all(c.held for c in self.conditions)

    def to_dict(self) -> dict:
        return {"held": self.held, "conditions": [c.to_dict() for c in self.conditions]}


@dataclass(frozen=True, slots=True)
class RuleTrace:
    index: int
    policy: str
    file: str
    line: int
    text: str
    actions_matched: bool
    matched_pattern: str | None
    """The first of the rule's action patterns that matches the action."""
    unconditional: bool
    conjunctions: tuple[ConjunctionTrace, ...]
    """Traced only when the actions matched; empty otherwise and for unconditional rules."""
    resources: tuple[str, ...] = ("*",)
    resource_matched: bool | None = True
    """Whether the request's resource matches the rule's Resource; None when the rule names
    resources and the request's resource is unknown."""
    not_actions: bool = False

    @property
    def conditions_hold(self) -> bool:
        return self.unconditional or any(c.held for c in self.conjunctions)

    @property
    def denies(self) -> bool:
        return self.actions_matched and self.resource_matched is True and self.conditions_hold

    @property
    def resource_unknown(self) -> bool:
        return self.actions_matched and self.resource_matched is None and self.conditions_hold

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict:
        return {
            "policy": self.policy,
            "file": self.file,
            "line": self.line,
            "rule": self.text,
            "actions_matched": self.actions_matched,
            "matched_pattern": self.matched_pattern,
            "unconditional": self.unconditional,
            "denies": self.denies,
            "conjunctions": [c.to_dict() for c in self.conjunctions],
            **(
                {}
                if self.resources == ("*",)
                else {"resources": list(self.resources), "resource_matched": self.resource_matched}
            ),
            **({"not_action": True} if self.not_actions else {}),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    action: str
    context: tuple[tuple[str, str], ...]
    """The request context, RAM-keyed, sorted, values as text."""
    decision: Decision
    rules: tuple[RuleTrace, ...]
    """The rules considered, in rule-set order."""
    total_rules: int
    all_rules: bool
    reason: str

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "context": dict(self.context),
            "decision": self.decision.decision,
            "reason": self.reason,
            "matched": [m.to_dict() for m in self.decision.matched],
            "considered": "all" if self.all_rules else "service",
            "rules_considered": len(self.rules),
            "rules_total": self.total_rules,
            "rules": [r.to_dict() for r in self.rules],
        }


def condition_keys(rules: Iterable[Rule]) -> frozenset[str]:
    """Every key the conditions of ``rules`` read, as they spell it: what a context traced
    through every rule is folded to (``compiler.model.keys.fold_keys``), as the trie reads."""
    return frozenset(c.key for rule in rules for conj in rule.conditions for c in conj)


def explain(
    policy: HasRules,
    action: str,
    context: Mapping[str, object] | None = None,
    *,
    all_rules: bool = False,
    resource: str | None = None,
) -> Explanation:
    """Trace ``action`` on ``resource`` (None: unknown) with ``context`` (RAM keys or
    language names) through every rule."""
    ctx = fold_keys(normalise_context(context), condition_keys(policy.rules))
    traces = [_trace_rule(rule, action, ctx, resource) for rule in policy.rules]
    code = action.partition(":")[0]
    shown = tuple(
        t
        for t, rule in zip(traces, policy.rules, strict=True)
        if all_rules or t.actions_matched or _service_could_apply(rule, code)
    )
    hits = tuple(t for t in traces if t.denies)
    unknown = tuple(t for t in traces if t.resource_unknown)
    decision = Decision(
        action,
        "deny" if hits else "allow",
        tuple(Match(t.policy, t.file, t.line, t.text) for t in hits),
        tuple(t.index for t in hits),
        tuple(Match(t.policy, t.file, t.line, t.text) for t in unknown),
    )
    return Explanation(
        action=action,
        context=tuple(sorted((k, _show(v)) for k, v in ctx.items())),
        decision=decision,
        rules=shown,
        total_rules=len(traces),
        all_rules=all_rules,
        reason=_summary(action, traces, hits),
    )


def _service_could_apply(rule: Rule, code: str) -> bool:
    if rule.not_actions:
        return True
    for pattern in rule.actions:
        head, colon, _ = pattern.partition(":")
        # A pattern without a colon (`*`) can match any code: its glob spans the colon.
        if glob_match(head, code) if colon else "*" in pattern:
            return True
    return False


def _trace_rule(
    rule: Rule, action: str, ctx: Mapping[str, object], resource: str | None
) -> RuleTrace:
    pattern = next((p for p in rule.actions if glob_match(p, action)), None)
    # A NotAction rule covers the action when none of its exceptions match; the pattern
    # reported is then the exception that spared it, if any.
    matched = (pattern is None) if rule.not_actions else (pattern is not None)
    resource_matched: bool | None = True
    if not rule.any_resource:
        resource_matched = (
            None
            if resource is None
            else any(glob_match(p, resource, ignore_case=False) for p in rule.resources)
        )
    conjunctions: tuple[ConjunctionTrace, ...] = ()
    if matched and not rule.unconditional:
        conjunctions = tuple(
            ConjunctionTrace(tuple(trace_condition(c, ctx) for c in conj))
            for conj in rule.conditions
        )
    return RuleTrace(
        index=rule.index,
        policy=rule.policy,
        file=rule.file,
        line=rule.line,
        text=rule.text,
        actions_matched=matched,
        matched_pattern=pattern,
        unconditional=rule.unconditional,
        conjunctions=conjunctions,
        resources=rule.resources,
        resource_matched=resource_matched,
        not_actions=rule.not_actions,
    )


def _summary(action: str, traces: list[RuleTrace], hits: tuple[RuleTrace, ...]) -> str:
    if hits:
        noun = "rule" if len(hits) == 1 else "rules"
        return f"matched by {len(hits)} {noun}: " + ", ".join(t.location for t in hits)
    unknown = [t for t in traces if t.resource_unknown]
    if unknown:
        noun = "rule needs" if len(unknown) == 1 else "rules need"
        return f"not denied; {len(unknown)} {noun} the request's resource to decide: " + ", ".join(
            t.location for t in unknown
        )
    candidates = [t for t in traces if t.actions_matched]
    if not candidates:
        return f"no rule's actions match {action}"
    if len(candidates) == 1:
        return "1 rule matches the action, but none of its conjunctions of conditions holds"
    return (
        f"{len(candidates)} rules match the action, but none of their conjunctions of "
        "conditions holds"
    )


# -- conditions ---------------------------------------------------------------------------


def trace_condition(cond: Condition, ctx: Mapping[str, object]) -> ConditionTrace:
    """One condition's outcome on ``ctx`` (RAM-keyed), with the value and the reason."""
    held = compile_condition(cond)(ctx)
    raw = ctx.get(cond.key)
    name = RAM_KEY_TO_NAME.get(cond.key.lower(), cond.key)
    value = None if raw is None else _show(raw)
    return ConditionTrace(
        key=name,
        ram_key=cond.key,
        operator=cond.operator,
        values=cond.values,
        rules_form=rules_form(cond),
        held=held,
        value=value,
        reason=_reason(cond, name, raw, held),
    )


def rules_form(cond: Condition) -> str:
    """``NotIpAddress acs:SourceIp [10.0.0.0/8]`` → ``source_ip not in [10.0.0.0/8]``."""
    name = RAM_KEY_TO_NAME.get(cond.key.lower(), cond.key)
    word = _RULES_FORM.get(cond.operator, cond.operator)
    if cond.operator in _LIST_OPERATORS:
        return f"{name} {word} [{', '.join(_literal(v) for v in cond.values)}]"
    return f"{name} {word} {_literal(cond.values[0])}"


def _literal(value: str) -> str:
    """A value as the rules language writes it: bare when it can be, quoted otherwise."""
    if value and not any(ch.isspace() or ch in _NEEDS_QUOTES for ch in value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _verdict(op: str, held: bool) -> str:
    return f"so {op} {'holds' if held else 'fails'}"


def _reason(cond: Condition, name: str, raw: object, held: bool) -> str:
    op = cond.operator
    if raw is None:
        if op in MATCHES_ABSENT_KEY:
            return f"{name} absent: {op} holds for a missing key"
        if op == "Bool":
            return f"{name} absent: Bool needs {cond.values[0]}"
        return f"{name} absent: {op} needs a value, so it fails"
    shown = _literal(_show(raw))
    if op in ("IpAddress", "NotIpAddress"):
        return _ip_reason(cond, name, raw, shown, held)
    if op.startswith("String"):
        listed = ", ".join(_literal(v) for v in cond.values)
        text = as_string(raw)
        if text is None:
            return f"{name} {shown} is not a string, {_verdict(op, held)}"
        positive = held != (op in MATCHES_ABSENT_KEY)
        if "Like" in op:
            where = "matches one of" if positive else "matches none of"
        else:
            where = "is one of" if positive else "is none of"
        return f"{name} {shown} {where} [{listed}], {_verdict(op, held)}"
    if op == "Bool":
        got = parse_bool(raw)
        if got is None:
            return f"{name} {shown} is neither true nor false: Bool needs {cond.values[0]}"
        return f"{name} is {_show(got)}; Bool needs {cond.values[0]}, {_verdict(op, held)}"
    if op.startswith("Date"):
        return _date_reason(cond, name, raw, shown, held)
    return f"{name} {shown}: {_verdict(op, held)}"


def _ip_reason(cond: Condition, name: str, raw: object, shown: str, held: bool) -> str:
    op = cond.operator
    addr = parse_ip(raw) if isinstance(raw, str) else None
    if addr is None:
        return f"{name} {shown} is not an IP address, {_verdict(op, held)}"
    nets = [ipaddress.ip_network(v, strict=False) for v in cond.values]
    inside = next((n for n in nets if n.version == addr.version and addr in n), None)
    if inside is not None:
        return f"{name} {addr} is inside {inside}, {_verdict(op, held)}"
    listed = ", ".join(str(n) for n in nets)
    return f"{name} {addr} is outside {listed}, {_verdict(op, held)}"


def _date_reason(cond: Condition, name: str, raw: object, shown: str, held: bool) -> str:
    op = cond.operator
    when = parse_time(raw) if isinstance(raw, str) else None
    if when is None:
        return f"{name} {shown} is not an ISO 8601 time, {_verdict(op, held)}"
    if len(cond.values) != 1:
        return f"{name} {shown}: {_verdict(op, held)}"
    limit = datetime.fromisoformat(cond.values[0])
    relation = "before" if when < limit else "after" if when > limit else "at"
    return f"{name} {shown} is {relation} {cond.values[0]}, {_verdict(op, held)}"


# One rule's trace, for the Resource Directory chain's explanation (``explain_chain``).
trace_rule = _trace_rule
