"""The checked rules: what the trie is built from and what the emitter lays out.

A ``Rule`` has already been resolved against the catalog: its actions are RAM action patterns
(``ecs:RunInstances``, ``ram:*``) and its condition is in disjunctive normal form, each
conjunction a tuple of RAM conditions. ``unless`` has been pushed into the conditions here, so
the trie and the emitter see one meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compiler.language.diagnostics import Span

# RAM operator → the operator that holds exactly when it does not, for a present key. Negation
# of a Bool condition flips the value instead (RAM has no negated Bool operator); see
# ``Condition.negate``.
#
# Only pairs that are exact complements for every request are listed: `NotIpAddress` holds on
# an absent or malformed value and `IpAddress` does not, so they complement each other. The
# ordering operators (`NumericLessThan`, `DateGreaterThan`, …) fail on an absent or malformed
# value and so do their "complements", which is why ``negate`` refuses them (``None``): the
# checker reports that `unless` cannot state them exactly.
NEGATED_OPERATOR = {
    "IpAddress": "NotIpAddress",
    "NotIpAddress": "IpAddress",
    "StringEquals": "StringNotEquals",
    "StringNotEquals": "StringEquals",
    "StringEqualsIgnoreCase": "StringNotEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringLike": "StringNotLike",
    "StringNotLike": "StringLike",
    "NumericEquals": "NumericNotEquals",
    "NumericNotEquals": "NumericEquals",
    "DateEquals": "DateNotEquals",
    "DateNotEquals": "DateEquals",
    # Kept from before issue 10 (the seed's `unless time …` forms): negating an ordering is
    # exact for a present, well-formed time; an absent time fails both sides.
    "DateLessThan": "DateGreaterThanEquals",
    "DateGreaterThanEquals": "DateLessThan",
    "DateGreaterThan": "DateLessThanEquals",
    "DateLessThanEquals": "DateGreaterThan",
    "NumericLessThan": "NumericGreaterThanEquals",
    "NumericGreaterThanEquals": "NumericLessThan",
    "NumericGreaterThan": "NumericLessThanEquals",
    "NumericLessThanEquals": "NumericGreaterThan",
}

# Operators that hold when the key is absent from the request, or its value is not of the
# key's type (TEAM.md, issue 10: negated operators match, positive ones do not).
MATCHES_ABSENT_KEY = frozenset(
    {
        "NotIpAddress",
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "NumericNotEquals",
        "DateNotEquals",
    }
)

# Every RAM condition operator, by family (``ram/conditional-operator``).
STRING_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    }
)
NUMERIC_OPERATORS = frozenset(
    {
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    }
)
DATE_OPERATORS = frozenset(
    {
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    }
)
IP_OPERATORS = frozenset({"IpAddress", "NotIpAddress"})
BOOL_OPERATORS = frozenset({"Bool"})
ALL_OPERATORS = (
    STRING_OPERATORS | NUMERIC_OPERATORS | DATE_OPERATORS | IP_OPERATORS | BOOL_OPERATORS
)


@dataclass(frozen=True, slots=True, order=True)
class Condition:
    """One RAM condition: ``operator`` on ``key`` against ``values`` (ORed)."""

    operator: str
    key: str
    values: tuple[str, ...]

    def negate(self) -> Condition:
        if self.operator == "Bool":
            # `unless mfa = true` becomes `Bool false`: a request without the key matches
            # neither, exactly as RAM evaluates the emitted Bool condition.
            flipped = "false" if self.values[0] == "true" else "true"
            return Condition("Bool", self.key, (flipped,))
        return Condition(NEGATED_OPERATOR[self.operator], self.key, self.values)


Conjunction = tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """A checked ``deny`` rule.

    ``conditions`` is a disjunction of conjunctions; ``((),)`` means unconditional.
    """

    index: int
    """Position in the rule set; ties decisions and statements back to one source rule."""
    policy: str
    file: str
    line: int
    text: str
    service: str
    """Catalog service name, or ``*``."""
    operations: tuple[str, ...]
    """Operations as written after catalog spelling (globs kept)."""
    version: str | None
    actions: tuple[str, ...]
    conditions: tuple[Conjunction, ...]
    span: Span = field(compare=False)
    effect: str = "Deny"
    """``Deny`` (``Allow`` comes with control policies)."""
    not_actions: bool = False
    """``actions`` are a NotAction list: the rule covers every action matching none of them."""
    resources: tuple[str, ...] = ("*",)
    """ARN patterns (case-sensitive globs); ``("*",)`` when the rule names no resource."""

    @property
    def any_resource(self) -> bool:
        return "*" in self.resources

    @property
    def unconditional(self) -> bool:
        return any(not conj for conj in self.conditions)


@dataclass(frozen=True, slots=True)
class PolicyIR:
    name: str
    description: str | None
    file: str
    rules: tuple[Rule, ...]
    span: Span | None = field(default=None, compare=False)
    """Where the policy is named: the name in its ``policy`` header, else the first line."""
    deploy: str = "ram"
    """Where it is meant to go (``policy NAME for control-policy``): ``ram`` (a RAM custom
    policy on principals) or ``control-policy`` (a Resource Directory control policy); picks
    the size and count limits and the lints."""
    attach: tuple[str, ...] = ()
    """``attach [...]``: the nodes (Root, folder or account ids) Terraform/ROS attach it to."""
    allows: tuple[Rule, ...] = ()
    """``allow`` rules (``effect="Allow"``; only ``for control-policy``): the allow list of a
    Resource Directory node. Kept apart from ``rules`` on purpose: every deny-wins consumer
    (trie, lints, replay, diff) reads ``rules`` and must not take an Allow for a Deny; the
    emitter and the organisation chain (``decide/chain.py``) read both."""

    @property
    def emitted_rules(self) -> tuple[Rule, ...]:
        """Deny and Allow rules together, as the emitter lays them out."""
        return self.rules + self.allows if self.allows else self.rules


@dataclass(frozen=True, slots=True)
class RuleSet:
    policies: tuple[PolicyIR, ...]

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for p in self.policies for r in p.rules)

    @property
    def allows(self) -> tuple[Rule, ...]:
        """Every ``allow`` rule (allow-list mode of control policies)."""
        return tuple(r for p in self.policies for r in p.allows)
