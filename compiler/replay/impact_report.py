"""The ``who``, ``plan``, ``recorded`` and ``coverage`` sections of the simulate report, from
the merged ``Impact`` tallies (``compiler.replay.impact``).

Tables are ordered by denied, then events, then key, and cut at ``top`` rows; each keeps the
count of distinct values. The coverage section is ``compiler.replay.coverage``.
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.policy import Policy
from compiler.replay.events import INFERRED_CODE_MARK, Who
from compiler.replay.impact import (
    TOP,
    Baseline,
    BoundedTable,
    Impact,
    RuleRef,
    least,
    rules_by_index,
)

PLAN_LINES = 1000
"""Plan lines kept in the report; the counts always cover every change."""


def where_of(ref: RuleRef) -> str:
    """``guard.rules:12`` for a rule, ``old.json statement 3`` for a RAM statement,
    ``not allowed at fd-prod`` for an org node whose allow list did not allow the call."""
    kind, file, number, _text = ref
    if kind == "node":
        return f"not allowed at {file}"
    return f"{file}:{number}" if kind == "rule" else f"{file} statement {number}"


def _rule_dict(ref: RuleRef) -> dict:
    kind, file, number, text = ref
    if kind == "rule":
        return {"where": where_of(ref), "file": file, "line": number, "rule": text}
    if kind == "node":  # an implicit deny of an allow list: no rule did it
        return {"where": where_of(ref), "node": file, "rule": None}
    return {"where": where_of(ref), "file": file, "statement": number, "rule": None}


def _who_dict(who: Who | None) -> dict:
    if who is None:
        return {"key": None, "type": None, "account": None, "name": None, "label": "unknown"}
    return {
        "key": who.key,
        "type": who.kind,
        "account": who.account,
        "name": who.name,
        "label": who.label,
    }


def _order(item: tuple) -> tuple:
    key, row = item
    return (-row[1], -row[0], key is not None, "" if key is None else str(key))


def _table(rows: dict, top: int, where: Callable[[int], str], extra=None) -> dict:
    ordered = sorted(rows.items(), key=_order)
    out = []
    for key, row in ordered[:top]:
        entry = {"key": key, "events": row[0], "denied": row[1]}
        if extra is not None:
            entry.update(extra(key, row))
        entry["first"] = _example_dict(row[2], where)
        entry["first_denied"] = _example_dict(row[3], where)
        out.append(entry)
    return {"distinct": len(rows), "rows": out}


def _example_dict(ex: tuple | None, where: Callable[[int], str]) -> dict | None:
    if ex is None:
        return None
    source, line, event_id, time, principal, action = ex[:6]
    return {
        "file": where(source),
        "line": line,
        "event_id": event_id,
        "time": time or None,
        "principal": principal or None,
        "action": action,
    }


def _bounds(impact: Impact, name: str) -> dict:
    """A bounded table's totals, and when it dropped values, how far its counts may be off:
    ``approximate`` is then true and each row's counts are lower bounds (see
    ``impact.BoundedTable``). ``distinct`` counts every value seen, kept or not: exact, or
    past ``sketch.EXACT`` values an estimate (``distinct_estimated: true``, with its
    relative standard error)."""
    table = impact.tables[name]
    return table.summary() if isinstance(table, BoundedTable) else {}


def _regroup(rows: dict, key_of: Callable) -> dict:
    """Rows summed under a coarser key (principal → its type, account or name)."""
    out: dict = {}
    for key, row in rows.items():
        k = key_of(key, row)
        mine = out.get(k)
        if mine is None:
            out[k] = [row[0], row[1], row[2], row[3]]
        else:
            mine[0] += row[0]
            mine[1] += row[1]
            mine[2] = least(mine[2], row[2])
            mine[3] = least(mine[3], row[3])
    return out


def who_section(
    impact: Impact,
    policy: Policy,
    by_rule: dict[int, int],
    where: Callable[[int], str],
    top: int = TOP,
) -> dict:
    """Top-``top`` tables by every dimension, each ordered by denied, then events, then key."""
    # Two identities may share a key (an ARN; a root's userName varies): summed, and the
    # facts shown are those of the identity seen first, so no dict order leaks in.
    who_rows = impact.who
    actions = impact.action
    principals = _regroup(who_rows, lambda w, _r: None if w is None else w.key)
    facts: dict = {}
    for w, row in who_rows.items():
        key = None if w is None else w.key
        seen = facts.get(key)
        if seen is None or row[2] < seen[1]:
            facts[key] = (w, row[2])
    facts = {k: w for k, (w, _ex) in facts.items()}

    def principal_extra(key, _row) -> dict:
        d = _who_dict(facts[key])
        d.pop("key")
        return d

    def service_of(_key, row) -> str | None:
        return row[4]

    rules = rules_by_index(policy)
    rule_rows = {}
    for index, n in by_rule.items():
        r = rules[index]
        first = impact.rule_first.get(index)
        rule_rows[f"{r.file}:{r.line}"] = [n, n, first, first, index]

    def rule_extra(_key, row) -> dict:
        r = rules[row[4]]
        return {"policy": r.policy, "file": r.file, "line": r.line, "rule": r.text}

    tables = {
        "principal": _table(principals, top, where, principal_extra),
        "type": _table(_regroup(who_rows, lambda w, _r: w and w.kind), top, where),
        "account": _table(_regroup(who_rows, lambda w, _r: w and w.account), top, where),
        "name": _table(_regroup(who_rows, lambda w, _r: w and w.name), top, where),
        "access_key": _table(impact.rows("access_key"), top, where),
        "source_ip": _table(impact.rows("source_ip"), top, where) | _bounds(impact, "source_ip"),
        "region": _table(impact.rows("region"), top, where),
        "service": _table(_regroup(actions, service_of), top, where),
        "operation": _table(actions, top, where, lambda _k, row: {"service": row[4]}),
        "rule": _table(rule_rows, top, where, rule_extra),
    }
    return {"top": top, "tables": tables}


def plan_section(impact: Impact, baseline: Baseline, where: Callable[[int], str], top: int) -> dict:
    lines = sorted(
        impact.plan.items(),
        key=lambda kv: (
            kv[0][0] != "+",
            -kv[1][0],
            _who_dict(kv[0][1])["label"],
            kv[0][2],
            kv[0][3] or "",
            kv[0][4],
        ),
    )
    newly = sum(n for (sign, *_), (n, _ex) in impact.plan.items() if sign == "+")
    gone = sum(n for (sign, *_), (n, _ex) in impact.plan.items() if sign == "-")

    def by(sign: str) -> dict:
        principal: dict = {}
        operation: dict = {}
        rule: dict = {}
        labels: dict = {}
        for (s, who, action, _region, rules), (n, _ex) in impact.plan.items():
            if s != sign:
                continue
            key = None if who is None else who.key
            labels[key] = _who_dict(who)
            principal[key] = principal.get(key, 0) + n
            operation[action] = operation.get(action, 0) + n
            for ref in rules or (("none", "", 0, ""),):
                rule[ref] = rule.get(ref, 0) + n

        def rows(counts: dict, shape: Callable) -> list[dict]:
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is not None, str(kv[0])))
            return [{**shape(k), "calls": n} for k, n in ordered[:top]]

        return {
            "principal": rows(principal, lambda k: labels[k]),
            "operation": rows(operation, lambda k: {"action": k}),
            "rule": rows(
                rule, lambda ref: {"where": None} if ref[0] == "none" else _rule_dict(ref)
            ),
        }

    return {
        "baseline": list(baseline.names),
        "baseline_engine": baseline.engine,
        "baseline_engines": list(baseline.engines),
        "engine_mismatches": {
            "count": impact.baseline_mismatches,
            "note": "the baseline's trie against the RAM evaluator on its emitted JSON"
            if baseline.check is not None
            else "RAM JSON in place: decided by the RAM evaluator alone",
            "examples": [
                {
                    "file": where(source),
                    "line": line,
                    "event_id": event_id,
                    "action": action,
                    "trie": trie,
                    "ram": ram,
                }
                for source, line, event_id, action, trie, ram in impact.baseline_mismatch_examples
            ],
        },
        "changed": newly + gone,
        "newly_denied": newly,
        "no_longer_denied": gone,
        "lines": [
            {
                "change": sign,
                "calls": n,
                "principal": _who_dict(who),
                "action": action,
                "region": region,
                "rules": [_rule_dict(r) for r in rules],
                "first": _example_dict(ex, where),
            }
            for (sign, who, action, region, rules), (n, ex) in lines[:PLAN_LINES]
        ],
        "lines_total": len(lines),
        "newly_denied_by": by("+"),
        "no_longer_denied_by": by("-"),
        "examples": [
            {
                "change": sign,
                "file": where(source),
                "line": line,
                "event_id": event_id,
                "time": time or None,
                "principal": _who_dict(who),
                "action": action,
                "region": region,
                "rules": [_rule_dict(r) for r in rules],
            }
            for source, line, sign, event_id, time, who, action, region, rules in (
                impact.plan_examples
            )
        ],
    }


def recorded_section(impact: Impact, policy: Policy, where: Callable[[int], str]) -> dict:
    """Why calls were recorded as denied, and which rule explains each."""
    rules = rules_by_index(policy)
    total = sum(n for n, _d in impact.reasons.values())
    explained = sum(d for _n, d in impact.reasons.values())
    guessed = {
        why.removesuffix(INFERRED_CODE_MARK): n
        for why, (n, _d) in sorted(impact.reasons.items())
        if why.endswith(INFERRED_CODE_MARK)
    }
    return {
        "reasons": [
            {"reason": why, "recorded_denies": n, "predicted": d, "unexplained": n - d}
            for why, (n, d) in sorted(impact.reasons.items(), key=lambda kv: (-kv[1][0], kv[0]))
        ],
        "inferred_codes": {
            "recorded_denies": sum(guessed.values()),
            "codes": guessed,
            "note": "counted as denied only by an error code the catalog guesses means "
            "permission denied for the event's service (`inferred` in `ramguard catalog show`)",
        },
        "explained_by_rule": [
            {
                "policy": rules[i].policy,
                "file": rules[i].file,
                "line": rules[i].line,
                "rule": rules[i].text,
                "recorded_denies": n,
            }
            for i, n in sorted(impact.explained.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "unexplained": {
            "count": total - explained,
            "note": "recorded as denied, denied by no rule here: another policy did it",
            "examples": [
                {**_example_dict(ex[:6], where), "reason": ex[6], "error_code": ex[7]}
                for ex in impact.unexplained
            ],
        },
    }
