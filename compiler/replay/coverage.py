"""The ``coverage`` section of the simulate report (issue 13 item 4), from the merged
``Impact`` tallies.

Computed once, from the action table and the calls each rule denied per action
(``Impact.rule_actions``): a rule (or one of its action patterns) *denied* when it denied a
call; its *condition never held* when the trace called an action it matches but it denied none
(its conditions, or its resources, never held); it *never matched* when no call matched its
action. A NotAction rule's patterns are its exceptions: *excepted* when they were called. A
policy's coverage (``percent``) is the share of its rules that denied at least one call.
High-risk operations are the catalog's ``riskType=high`` ones and the leaked-AccessKey list
(``high_risk.toml``).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from functools import cache
from importlib import resources

from compiler.model.glob import glob_match
from compiler.policy import Policy
from compiler.replay.impact import Impact
from compiler.replay.impact_report import _example_dict


@cache
def seed_high_risk() -> dict[str, frozenset[str]]:
    """Service → operations (``*``: every one) of the leaked-AccessKey protection list."""
    data = tomllib.loads(
        resources.files(__package__).joinpath("high_risk.toml").read_text(encoding="utf-8")
    )
    return {svc: frozenset(op.lower() for op in ops) for svc, ops in data["services"].items()}


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _pattern_events(pattern: str, actions: dict[str, list], cache_: dict) -> int:
    hit = cache_.get(pattern)
    if hit is None:
        if "*" in pattern or "?" in pattern:
            hit = sum(row[0] for a, row in actions.items() if glob_match(pattern, a))
        else:
            hit = cache_["=lower"].get(pattern.lower(), 0)
        cache_[pattern] = hit
    return hit


DENIED, NOT_HELD, NEVER, EXCEPTED = "denied", "condition_never_held", "never_matched", "excepted"
COVERAGE_STATUSES = {
    DENIED: "its action matched and it denied at least one call",
    NOT_HELD: "its action matched calls, but its conditions (or resources) never held: "
    "it denied none",
    NEVER: "no call matched its action",
    EXCEPTED: "a NotAction exception: calls of it were made, which the rule does not deny",
}


def _status(events: int, denied: int) -> str:
    return DENIED if denied else NOT_HELD if events else NEVER


def coverage_section(
    impact: Impact, policy: Policy, catalog, by_rule: dict[int, int], where, top: int
) -> dict:
    """Per rule and per action pattern: denied, action matched but condition never held, or
    never matched; per-policy coverage (the share of rules that denied at least one call);
    high-risk operations called but not denied."""
    actions = impact.action
    lower: dict[str, int] = {}
    for action, row in actions.items():
        lower[action.lower()] = lower.get(action.lower(), 0) + row[0]
    memo: dict = {"=lower": lower}
    denied_actions: dict[int, list[tuple[str, int]]] = {}
    for (index, action), n in sorted(impact.rule_actions.items()):
        denied_actions.setdefault(index, []).append((action, n))
    per_policy: dict[str, Counter] = {}
    rules_out = []
    for rule in policy.rules:
        counts = [_pattern_events(p, actions, memo) for p in rule.actions]
        denied = by_rule.get(rule.index, 0)
        mine = denied_actions.get(rule.index, ())
        if rule.not_actions:
            # NotAction: the rule covers what matches none of the patterns; a pattern's calls
            # are the exceptions it grants, never denied by this rule.
            excepted = {a for a in actions if any(glob_match(p, a) for p in rule.actions)}
            events = sum(row[0] for a, row in actions.items() if a not in excepted)
            patterns = [
                {"pattern": p, "status": EXCEPTED if n else NEVER, "events": n, "denied": 0}
                for p, n in zip(rule.actions, counts, strict=True)
            ]
        else:
            events = sum(counts)  # an action matching two patterns counts twice: only > 0 matters
            patterns = []
            for p, n in zip(rule.actions, counts, strict=True):
                d = sum(k for a, k in mine if glob_match(p, a))
                patterns.append({"pattern": p, "status": _status(n, d), "events": n, "denied": d})
        status = _status(events, denied)
        stats = per_policy.setdefault(rule.policy, Counter())
        stats["rules"] += 1
        stats[f"rules_{status}"] += 1
        for pat in patterns:
            stats["patterns"] += 1
            stats[f"patterns_{pat['status']}"] += 1
        rules_out.append(
            {
                "policy": rule.policy,
                "file": rule.file,
                "line": rule.line,
                "rule": rule.text,
                "status": status,
                "events": events,
                "denied": denied,
                "patterns": patterns,
            }
        )
    policies = []
    for p in policy.policies:
        stats = per_policy.get(p.name, Counter())
        rules_n, pats = stats["rules"], stats["patterns"]
        policies.append(
            {
                "policy": p.name,
                "rules": rules_n,
                "rules_denied": stats[f"rules_{DENIED}"],
                "rules_condition_never_held": stats[f"rules_{NOT_HELD}"],
                "rules_never_matched": stats[f"rules_{NEVER}"],
                "patterns": pats,
                "patterns_denied": stats[f"patterns_{DENIED}"],
                "patterns_condition_never_held": stats[f"patterns_{NOT_HELD}"],
                "patterns_never_matched": stats[f"patterns_{NEVER}"],
                "patterns_excepted": stats[f"patterns_{EXCEPTED}"],
                "percent": _percent(stats[f"rules_{DENIED}"], rules_n),
                "patterns_percent": _percent(stats[f"patterns_{DENIED}"], pats),
            }
        )

    def flat(status: str) -> list[dict]:
        return [
            {**{k: v for k, v in r.items() if k != "patterns"}, **pat}
            for r in rules_out
            for pat in r["patterns"]
            if pat["status"] == status
        ]

    seed = seed_high_risk()
    risky = []
    for action, row in actions.items():
        calls, denied, _first, _fd, service, event_name = row
        if calls == denied or service is None:
            continue
        why = []
        svc = catalog.service(service)
        name = svc.canonical_operation(event_name) if svc is not None else None
        if svc is not None and name is not None and svc.risk(name) == "high":
            why.append("riskType=high")
        ops = seed.get(service)
        if ops is not None and ("*" in ops or event_name.lower() in ops):
            why.append("leaked-AccessKey list")
        if why:
            risky.append(
                {
                    "service": service,
                    "operation": event_name,
                    "action": action,
                    "calls": calls,
                    "not_denied": calls - denied,
                    "why": why,
                    "first": _example_dict(row[2], where),
                }
            )
    risky.sort(key=lambda r: (-r["not_denied"], r["action"]))
    return {
        "statuses": COVERAGE_STATUSES,
        "policies": policies,
        "rules_condition_never_held": [r for r in rules_out if r["status"] == NOT_HELD],
        "rules_never_matched": [r for r in rules_out if r["status"] == NEVER],
        "patterns_condition_never_held": flat(NOT_HELD),
        "patterns_never_matched": flat(NEVER),
        "rules": rules_out,
        "high_risk_not_denied": risky[: max(top, 0)],
        "high_risk_not_denied_total": len(risky),
    }
