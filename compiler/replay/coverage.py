"""The ``coverage`` section of the simulate report (issue 13 item 4), from the merged
``Impact`` tallies.

Computed once, from the action table and the calls each rule denied per action
(``Impact.rule_actions``): a rule (or one of its action patterns) *denied* when it denied a
call; *resource never matched* when the trace called an action it matches but, the rule
being scoped to resources (``on`` / ``in region``), no such call's resource was in its scope
(or the resource could not be built); *condition never held* when calls of its action did
reach its scope (every call, for a rule on every resource) and it denied none; *never
matched* when no call matched its action. A NotAction rule's patterns are its exceptions:
*excepted* when they were called. A policy's coverage (``percent``) is the share of its
rules that denied at least one call.

Allow rules (control-policy allow lists, with an org.toml) get the same per rule and per
pattern statuses with *allowed* (let a call pass a node whose FullAliyunAccess is detached,
``ChainTally.allow_actions``) in place of *denied*. An allow rule's calls are the ones whose
evaluation asked its allow list (``ChainTally.allow_reached``: from an account below a node
it is attached to with FullAliyunAccess detached, the chain not stopped below that node),
and its scope is counted on those (``allow_scope``). Likewise, with an org, a control
policy's Deny rule meets the calls whose evaluation asked a node it is attached to
(``deny_reached``, ``deny_scope``); a RAM guardrail's (``for ram``), and every rule without
an org, every call of an action it matches.

Which calls reached a scoped rule's resources is tallied during the replay
(``tally_scopes``, into ``Impact.scope_actions``): per batch, one Python step per distinct
(action, resources) pair whose action a scoped rule matches, nothing for other calls.
High-risk operations are the catalog's ``riskType=high`` ones and the leaked-AccessKey list
(``high_risk.toml``).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Sequence
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
OUT_OF_SCOPE, ALLOWED = "resource_never_matched", "allowed"
COVERAGE_STATUSES = {
    DENIED: "its action matched and it denied at least one call",
    NOT_HELD: "its action matched calls whose resource was in its scope (every call, for a "
    "rule on every resource), but its conditions never held: it denied none",
    OUT_OF_SCOPE: "its action matched calls, but none of their resources was in its `on` / "
    "`in region` scope (or could be built from the event): it denied none",
    NEVER: "no call matched its action",
    EXCEPTED: "a NotAction exception: calls of it were made, which the rule does not deny",
    ALLOWED: "an allow rule: its action matched and it let at least one call pass a node "
    "whose FullAliyunAccess is detached",
}


def _status(events: int, acted: int, scoped: bool, in_scope: int, done: str = DENIED) -> str:
    if acted:
        return done
    if not events:
        return NEVER
    return OUT_OF_SCOPE if scoped and not in_scope else NOT_HELD


# --- which calls reached a scoped rule's resources (during the replay) ---------------------


class _Scopes:
    """A policy's resource-scoped Deny rules and, per action string met, the ones whose
    action patterns take it in."""

    __slots__ = ("by_action", "rules")

    def __init__(self, policy: Policy) -> None:
        # Allow rules' scope is counted by the chain replay, on the calls that asked them.
        self.rules = tuple(r for r in policy.rules if not r.any_resource)
        self.by_action: dict[str, tuple[tuple[int, tuple[str, ...]], ...]] = {}

    def for_action(self, action: str) -> tuple[tuple[int, tuple[str, ...]], ...]:
        hit = self.by_action.get(action)
        if hit is None:
            hit = tuple(
                (r.index, r.resources)
                for r in self.rules
                if any(glob_match(p, action) for p in r.actions) != r.not_actions
            )
            if len(self.by_action) >= _ACTIONS_MAX:
                self.by_action.clear()  # a trace of made-up actions must not grow this
            self.by_action[action] = hit
        return hit


_ACTIONS_MAX = 65536
_SCOPES: dict[int, tuple[Policy, _Scopes]] = {}


def _scopes(policy: Policy) -> _Scopes:
    hit = _SCOPES.get(id(policy))
    if hit is None or hit[0] is not policy:
        if len(_SCOPES) > 8:
            _SCOPES.clear()
        hit = _SCOPES[id(policy)] = (policy, _Scopes(policy))
    return hit[1]


def tally_scopes(
    held: dict[tuple[int, str], int],
    policy: Policy,
    actions: Sequence[str],
    arns: Sequence[tuple[str, ...] | None],
) -> None:
    """Add to ``held[(rule index, action)]`` the calls of each action whose resources (any
    of them: RAM checks each) a resource-scoped rule's patterns match (case-sensitive, as the
    trie matches ARNs). Calls whose resource could not be built (None) reach no scope."""
    scopes = _scopes(policy)
    if not scopes.rules:
        return
    for (action, on), k in Counter(zip(actions, arns, strict=True)).items():  # C loops
        if on is None:
            continue
        for index, patterns in scopes.for_action(action):
            if any(glob_match(p, arn, ignore_case=False) for arn in on for p in patterns):
                pair = (index, action)
                held[pair] = held.get(pair, 0) + k


def _rule_rows(
    rules,
    actions: dict,
    memo: dict,
    acted_by: dict,
    acted_actions: dict,
    scope: dict,
    done: str,
    reached: dict | None = None,
    chained: frozenset[int] = frozenset(),
) -> list[dict]:
    """Per rule and per action pattern its status (``done``: ``denied`` for Deny rules,
    ``allowed`` for Allow rules) and counts. For a rule in ``chained``, ``reached`` (rule
    index → [(action, calls)]) holds the calls that could meet it, in place of every call of
    a matching action, and ``scope`` is counted on those."""
    out = []
    for rule in rules:
        on_chain = rule.index in chained
        if not on_chain or rule.not_actions:
            counts = [_pattern_events(p, actions, memo) for p in rule.actions]
        else:
            met = reached.get(rule.index, ())
            counts = [sum(k for a, k in met if glob_match(p, a)) for p in rule.actions]
        acted = acted_by.get(rule.index, 0)
        mine = acted_actions.get(rule.index, ())
        scoped_calls = scope.get(rule.index, ())
        scoped = not rule.any_resource
        in_scope = sum(k for _a, k in scoped_calls)
        if rule.not_actions:
            # NotAction: the rule covers what matches none of the patterns; a pattern's calls
            # are the exceptions it grants, never acted on by this rule.
            excepted = {a for a in actions if any(glob_match(p, a) for p in rule.actions)}
            if not on_chain:
                events = sum(row[0] for a, row in actions.items() if a not in excepted)
            else:
                events = sum(k for _a, k in reached.get(rule.index, ()))
            patterns = [
                {"pattern": p, "status": EXCEPTED if n else NEVER, "events": n, done: 0}
                for p, n in zip(rule.actions, counts, strict=True)
            ]
        else:
            events = sum(counts)  # an action matching two patterns counts twice: only > 0 matters
            patterns = []
            for p, n in zip(rule.actions, counts, strict=True):
                d = sum(k for a, k in mine if glob_match(p, a))
                held = sum(k for a, k in scoped_calls if glob_match(p, a))
                pat = {"pattern": p, "status": _status(n, d, scoped, held, done), "events": n}
                pat[done] = d
                if scoped:
                    pat["resource_matched"] = held
                patterns.append(pat)
        row = {
            "policy": rule.policy,
            "file": rule.file,
            "line": rule.line,
            "rule": rule.text,
            "status": _status(events, acted, scoped, in_scope, done),
            "events": events,
            done: acted,
            # Calls of its action whose resource was in its scope; None: on every resource.
            "resource_matched": in_scope if scoped else None,
            "patterns": patterns,
        }
        out.append(row)
    return out


def _by_rule_actions(pairs: dict[tuple[int, str], int]) -> dict[int, list[tuple[str, int]]]:
    out: dict[int, list[tuple[str, int]]] = {}
    for (index, action), n in sorted(pairs.items()):
        out.setdefault(index, []).append((action, n))
    return out


def _policy_rows(policy_names, rows: list[dict], done: str) -> list[dict]:
    per_policy: dict[str, Counter] = {}
    for r in rows:
        stats = per_policy.setdefault(r["policy"], Counter())
        stats["rules"] += 1
        stats[f"rules_{r['status']}"] += 1
        for pat in r["patterns"]:
            stats["patterns"] += 1
            stats[f"patterns_{pat['status']}"] += 1
    out = []
    for name in policy_names:
        stats = per_policy.get(name, Counter())
        rules_n, pats = stats["rules"], stats["patterns"]
        row = {
            "policy": name,
            "rules": rules_n,
            f"rules_{done}": stats[f"rules_{done}"],
            "rules_condition_never_held": stats[f"rules_{NOT_HELD}"],
            "rules_resource_never_matched": stats[f"rules_{OUT_OF_SCOPE}"],
            "rules_never_matched": stats[f"rules_{NEVER}"],
            "patterns": pats,
            f"patterns_{done}": stats[f"patterns_{done}"],
            "patterns_condition_never_held": stats[f"patterns_{NOT_HELD}"],
            "patterns_resource_never_matched": stats[f"patterns_{OUT_OF_SCOPE}"],
            "patterns_never_matched": stats[f"patterns_{NEVER}"],
            "patterns_excepted": stats[f"patterns_{EXCEPTED}"],
            "percent": _percent(stats[f"rules_{done}"], rules_n),
            "patterns_percent": _percent(stats[f"patterns_{done}"], pats),
        }
        out.append(row)
    return out


def _flat(rows: list[dict], status: str) -> list[dict]:
    return [
        {**{k: v for k, v in r.items() if k != "patterns"}, **pat}
        for r in rows
        for pat in r["patterns"]
        if pat["status"] == status
    ]


def coverage_section(
    impact: Impact, policy: Policy, catalog, by_rule: dict[int, int], where, top: int
) -> dict:
    """Per rule and per action pattern: denied, resource never matched, action matched but
    condition never held, or never matched; per-policy coverage (the share of rules that
    denied at least one call); the same for allow rules with an org; high-risk operations
    called but not denied."""
    actions = impact.action
    lower: dict[str, int] = {}
    for action, row in actions.items():
        lower[action.lower()] = lower.get(action.lower(), 0) + row[0]
    memo: dict = {"=lower": lower}
    scope = _by_rule_actions(impact.scope_actions)
    chain = impact.chain
    reached = None
    chained: frozenset[int] = frozenset()
    if chain is not None:
        # With an org, a control policy's Deny rule meets the calls that asked a node it is
        # attached to; the RAM guardrails (`for ram`) meet every call.
        chained = frozenset(
            r.index for p in policy.policies if p.deploy == "control-policy" for r in p.rules
        )
        reached = _by_rule_actions(chain.deny_reached)
        scope = {**scope, **{i: () for i in chained}, **_by_rule_actions(chain.deny_scope)}
    rules_out = _rule_rows(
        policy.rules,
        actions,
        memo,
        by_rule,
        _by_rule_actions(impact.rule_actions),
        scope,
        DENIED,
        reached,
        chained,
    )
    policies = _policy_rows([p.name for p in policy.policies], rules_out, DENIED)
    allow_part: dict = {}
    allows = policy.ruleset.allows
    if allows and chain is not None:
        allow_rows = _rule_rows(
            allows,
            actions,
            memo,
            chain.allow_rules,
            _by_rule_actions(chain.allow_actions),
            _by_rule_actions(chain.allow_scope),
            ALLOWED,
            _by_rule_actions(chain.allow_reached),
            frozenset(r.index for r in allows),
        )
        allow_part = {
            "allow_policies": _policy_rows(
                [p.name for p in policy.policies if p.allows], allow_rows, ALLOWED
            ),
            "allow_rules_condition_never_held": [r for r in allow_rows if r["status"] == NOT_HELD],
            "allow_rules_resource_never_matched": [
                r for r in allow_rows if r["status"] == OUT_OF_SCOPE
            ],
            "allow_rules_never_matched": [r for r in allow_rows if r["status"] == NEVER],
            "allow_patterns_condition_never_held": _flat(allow_rows, NOT_HELD),
            "allow_patterns_resource_never_matched": _flat(allow_rows, OUT_OF_SCOPE),
            "allow_patterns_never_matched": _flat(allow_rows, NEVER),
            "allow_rules": allow_rows,
        }

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
        "rules_resource_never_matched": [r for r in rules_out if r["status"] == OUT_OF_SCOPE],
        "rules_never_matched": [r for r in rules_out if r["status"] == NEVER],
        "patterns_condition_never_held": _flat(rules_out, NOT_HELD),
        "patterns_resource_never_matched": _flat(rules_out, OUT_OF_SCOPE),
        "patterns_never_matched": _flat(rules_out, NEVER),
        "rules": rules_out,
        **allow_part,
        "high_risk_not_denied": risky[: max(top, 0)],
        "high_risk_not_denied_total": len(risky),
    }
