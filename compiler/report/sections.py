"""The page's sections, each built from one part of the report dict as a list of blocks
(headline numbers, a chart, a table, plan lines) that the template lays out.

A part this module knows by shape gets its own layout (``plan``, ``who``, ``coverage``,
``by_rule``…); when the shape is not the one expected, or for a part it does not know, the
part is shown as generic nested tables: a section added to the report later is on the page
the day it is added.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from compiler.language.diagnostics import counted
from compiler.report.charts import bar_chart, timeline
from compiler.report.values import (
    LOWER_BOUND,
    TABLE_ROWS,
    bounds_caption,
    cell,
    fmt,
    has,
    is_approximate,
    is_num,
    is_table,
    label,
    number,
    part,
    scalar_columns,
    table,
)

SUMMARY = (
    ("events", "events"),
    ("decided", "decided"),
    ("denied", "denied"),
    ("allowed", "allowed"),
    ("malformed.count", "malformed"),
    ("mismatches.count", "mismatches (trie vs RAM JSON)"),
    ("unmapped", "unmapped service"),
    ("resource_unknown", "resource unknown"),
    ("outside_window", "outside --since/--until"),
)
SHOWN_IN_SUMMARY = {"events", "decided", "denied", "allowed", "unmapped", "resource_unknown"}
SHOWN_IN_SUMMARY |= {"outside_window", "sources", "policies"}


def section(key: str, title: str, blocks: list[dict]) -> dict:
    return {"id": key.replace(".", "-").replace("_", "-"), "title": title, "blocks": blocks}


def summary(report: dict) -> dict:
    cards = [number(report, path, name) for path, name in SUMMARY if has(report, path)]
    return section("summary", "Replay", [{"kind": "cards", "items": cards}])


def over_time(report: dict) -> dict | None:
    chart = timeline(report.get("over_time"))
    return section("over_time", "Denials over time", [chart]) if chart else None


# --- top-N tables -----------------------------------------------------------------------------


def _rule_label(row: dict) -> str:
    # The file's name, not its path: the rule text is what a reader scans the chart for.
    where = f"{PurePath(str(row.get('file', '?'))).name}:{row.get('line', '?')}"
    return f"{where} {row.get('rule', '')}"


def by_rule(report: dict) -> dict | None:
    rows = report.get("by_rule")
    if not is_table(rows):
        return None
    body = table("", rows, "by_rule", ["file", "line", "rule", "denied"])
    return section(
        "by_rule",
        "Denies by rule",
        [b for b in (bar_chart(rows, "by_rule", _rule_label, "denied"), body) if b],
    )


def by_access_key(report: dict) -> dict | None:
    rows = report.get("by_access_key")
    if not is_table(rows) or not any(r.get("denied") for r in rows):
        return None
    chart = bar_chart(rows, "by_access_key", lambda r: fmt(r.get("access_key")), "denied")
    body = table("", rows, "by_access_key", ["access_key", "events", "denied"])
    return section("by_access_key", "AccessKeys with denied calls", [chart, body])


def generic_top(key: str, rows: list[dict]) -> dict:
    """Any other ``by_*`` list: a chart of its first count (denied, calls, events…)."""
    columns = scalar_columns(rows)
    names = [c for c in columns if not is_num(rows[0].get(c))]
    measure = next((c for c in ("denied", "calls", "count", "events") if c in columns), None)
    blocks = []
    if measure:
        chart = bar_chart(rows, key, lambda r: " ".join(fmt(r.get(c)) for c in names), measure)
        blocks.append(chart)
    blocks.append(table("", rows, key, columns))
    title = f"Top by {key.removeprefix('by_').replace('_', ' ')}"
    return section(key, title, [b for b in blocks if b])


_WHO_TITLES = {
    "principal": "principals",
    "type": "identity types",
    "account": "accounts",
    "name": "user and role names",
    "access_key": "AccessKeys",
    "source_ip": "source IPs",
    "region": "regions",
    "service": "services",
    "operation": "operations",
    "rule": "rules",
}


def who(report: dict) -> dict | None:
    """``who.tables.<dimension>.rows``: one chart and table per dimension, principals and
    operations first (what the issue calls "who would this have blocked")."""
    data = report.get("who")
    tables = data.get("tables") if isinstance(data, dict) else None
    if not isinstance(tables, dict):
        return None
    order = sorted(tables, key=lambda k: (k not in ("principal", "operation"), k != "principal"))
    blocks: list[dict] = []
    for dim in order:
        entry = tables[dim]
        rows = entry.get("rows") if isinstance(entry, dict) else None
        if not is_table(rows):
            continue
        path = f"who.tables.{part(dim)}.rows"
        name = _WHO_TITLES.get(dim, dim.replace("_", " "))
        distinct = entry.get("distinct")
        title = f"Top {name}"
        if is_num(distinct) and entry.get("distinct_estimated") is True:
            err = entry.get("distinct_relative_error")
            shown = f" ±{100 * err:.1f}%" if is_num(err) else ""
            title += f" (of ~{distinct:,}, estimated{shown})"
        elif is_num(distinct):
            title += f" (of {distinct:,})"
        chart = bar_chart(rows, path, _row_name, "denied")
        columns = ["key", *[c for c in scalar_columns(rows) if c not in ("key", "label")]]
        blocks.append({"kind": "heading", "text": title})
        if chart:
            blocks.append(chart)
        body = table("", rows, path, columns)
        body["head"][0] = dim.replace("_", " ")
        for i, row in enumerate(rows[:TABLE_ROWS]):
            body["rows"][i][0] = cell(_row_name(row))
        if is_approximate(entry):
            _lower_bounds(chart, body, columns)
            blocks.append({"kind": "note", "text": bounds_caption(entry)})
        blocks.append(body)
    if not blocks:
        return None
    return section("who", "Who: top principals, operations and more", blocks)


def _lower_bounds(chart: dict | None, body: dict, columns: list[str]) -> None:
    """An approximate table's counts (a bounded table that dropped values) shown as the lower
    bounds they are, ``≥ 432``, in its bars and its rows; the number itself, with its
    ``data-path``, still reads back as the report's."""
    counts = [i for i, c in enumerate(columns) if c in ("events", "denied")]
    for row in body["rows"]:
        for i in counts:
            row[i] = {**row[i], "text": LOWER_BOUND + row[i]["text"]}
    for bar in (chart or {}).get("bars", []):
        bar["value"] = LOWER_BOUND + bar["value"]
        name, sep, value = bar["title"].rpartition(": ")  # "NAME: 44", the name may hold ": "
        bar["title"] = f"{name}{sep}{LOWER_BOUND}{value}"


def _row_name(row: dict) -> str:
    if "rule" in row and "file" in row:
        return _rule_label(row)
    name = row.get("label") or row.get("key")
    if name is None:
        return "(unknown)"
    return label(name) if isinstance(name, dict) else str(name)


# --- the plan -------------------------------------------------------------------------------

_SIGNS = {"+": ("add", "would be denied"), "-": ("remove", "would no longer be denied")}


def plan(report: dict) -> dict | None:
    """``--baseline``: the headline counts, the plan lines (``+ 3 calls by role ci-deployer
    would be denied (ecs:RunInstances in cn-hangzhou) — rule guard.rules:12``) and the
    newly / no longer denied calls by principal, operation and rule."""
    data = report.get("plan")
    if not isinstance(data, dict):
        return None
    heads = [
        number(report, f"plan.{part(k)}", k.replace("_", " "))
        for k in ("changed", "newly_denied", "no_longer_denied", "lines_total")
        if is_num(data.get(k))
    ]
    blocks: list[dict] = [{"kind": "cards", "items": heads}] if heads else []
    baseline = data.get("baseline")
    if baseline:
        blocks.append({"kind": "note", "text": f"against the baseline {fmt(baseline)}"})
    lines = data.get("lines")
    if is_table(lines):
        blocks.append({"kind": "plan", "lines": [_plan_line(r, i) for i, r in enumerate(lines)]})
        total = data.get("lines_total")
        if is_num(total) and total > len(lines):
            more = counted(total - len(lines), "more line")
            blocks.append({"kind": "note", "text": f"and {more}"})
    for key, verb in (("newly_denied_by", "Newly"), ("no_longer_denied_by", "No longer")):
        by = data.get(key)
        if not isinstance(by, dict):
            continue
        for dim, rows in by.items():
            if not is_table(rows):
                continue
            path = f"plan.{key}.{part(dim)}"
            blocks.append({"kind": "heading", "text": f"{verb} denied calls by {dim}"})
            tone = "deny" if key == "newly_denied_by" else "allow"
            chart = bar_chart(rows, path, _plan_name, "calls", tone=tone)
            if chart:
                blocks.append(chart)
    rest = {
        k: v
        for k, v in data.items()
        if k not in ("lines", "newly_denied_by", "no_longer_denied_by", "examples", "baseline")
        and not (is_num(v) and k in ("changed", "newly_denied", "no_longer_denied", "lines_total"))
    }
    if rest:
        blocks.append({"kind": "node", "node": node(rest, "plan", 1)})
    return section("plan", "Plan: what the change would deny", blocks)


def _plan_name(row: dict) -> str:
    if "label" in row or "key" in row:
        return _row_name(row)
    if row.get("action"):
        return str(row["action"])
    if "file" in row:
        return _rule_label(row)
    return "(no rule)" if row.get("where", 0) is None else label(row)


def _plan_line(row: dict, i: int) -> dict:
    sign = row.get("change", "?")
    css, verb = _SIGNS.get(sign, ("", "changed"))
    principal = row.get("principal")
    who_ = label(principal) if isinstance(principal, dict) else fmt(principal)
    where = f" in {row['region']}" if row.get("region") else ""
    rules = row.get("rules") or []
    rule_text = ", ".join(_rule_label(r) if isinstance(r, dict) else fmt(r) for r in rules)
    return {
        "css": css,
        "sign": sign,
        "calls": cell(row.get("calls"), f"plan.lines.{i}.calls"),
        "text": f"calls by {who_} {verb} ({fmt(row.get('action'))}{where})",
        "rule": f"rule {rule_text}" if rule_text else "",
    }


# --- org chain --------------------------------------------------------------------------------


def org_chain(report: dict) -> dict | None:
    """``org``: where the chain stopped the denied calls (explicit Deny at a node apart from
    an allow list's implicit deny) and the events of accounts org.toml does not describe."""
    data = report.get("org")
    if not isinstance(data, dict):
        return None
    blocks: list[dict] = []
    kv = [
        number(report, f"org.{k}", k.replace("_", " ")) for k in ("placed",) if is_num(data.get(k))
    ]
    exempt = data.get("exempt")
    if isinstance(exempt, dict) and is_num(exempt.get("count")):
        kv.append(number(report, "org.exempt.count", "exempt (root-account)"))
    unplaced = data.get("unplaced")
    if isinstance(unplaced, dict) and is_num(unplaced.get("count")):
        kv.append(number(report, "org.unplaced.count", "unplaced (not in org.toml)"))
    denied = data.get("denied")
    if isinstance(denied, dict):
        for k, v in denied.items():
            if is_num(v):
                kv.append(number(report, f"org.denied.{part(k)}", k.replace("_", " ")))
    if kv:
        blocks.append({"kind": "kv", "items": kv})
    stopped = data.get("stopped")
    if is_table(stopped):
        chart = bar_chart(stopped, "org.stopped", lambda r: fmt(r.get("text")), "calls")
        if chart:
            blocks.append(chart)
        blocks.append(table("Where the chain stopped denied calls", stopped, "org.stopped"))
    if isinstance(unplaced, dict) and is_table(unplaced.get("accounts")):
        blocks.append(
            {"kind": "note", "text": f"unplaced: decided {fmt(unplaced.get('decided_as'))}"}
        )
        blocks.append(
            table("Accounts not in org.toml", unplaced["accounts"], "org.unplaced.accounts")
        )
    lists = data.get("allow_lists")
    if is_table(lists):
        blocks += _percent_by_policy(
            lists, "org.allow_lists", "Allow lists", "Allow rules that allowed"
        )
    if is_table(data.get("allow_rules")):
        blocks.append(table("Allow rules", data["allow_rules"], "org.allow_rules"))
    shown = ("placed", "denied", "stopped", "unplaced", "exempt", "allow_lists", "allow_rules")
    rest = {k: v for k, v in data.items() if k not in shown}
    if rest:
        blocks.append({"kind": "node", "node": node(rest, "org", 1)})
    return section("org", "Org chain: Root → folders → account", blocks)


def _percent_by_policy(rows: list, path: str, title: str, share: str) -> list[dict]:
    """A policy's percentage as bars (when there is something to draw) and its table."""
    chart = bar_chart(
        rows,
        path,
        lambda r: f"{fmt(r.get('policy'))} ({share})",
        "percent",
        unit="%",
        scale=100,
        tone="plain",
    )
    return [*([chart] if chart else []), table(title, rows, path)]


# --- coverage ---------------------------------------------------------------------------------


_COVERAGE_TABLES = (
    ("high_risk_not_denied", "High-risk operations called and not denied"),
    ("rules_condition_never_held", "Rules whose action matched, condition never held"),
    ("rules_resource_never_matched", "Rules whose action matched, resource never in scope"),
    ("rules_never_matched", "Rules no call matched"),
    ("patterns_condition_never_held", "Patterns matched, condition never held"),
    ("patterns_resource_never_matched", "Patterns matched, resource never in scope"),
    ("patterns_never_matched", "Patterns no call matched"),
    ("allow_rules_condition_never_held", "Allow rules whose action matched, condition never held"),
    ("allow_rules_resource_never_matched", "Allow rules matched, resource never in scope"),
    ("allow_rules_never_matched", "Allow rules no call matched"),
    ("allow_patterns_condition_never_held", "Allow patterns matched, condition never held"),
    ("allow_patterns_resource_never_matched", "Allow patterns matched, resource never in scope"),
    ("allow_patterns_never_matched", "Allow patterns no call matched"),
    # Every rule with its status last: the long tables, filterable like the others.
    ("rules", "Every rule: denied, condition never held, resource never matched, never matched"),
    ("allow_rules", "Every allow rule: allowed, condition or resource never held, never matched"),
)


def coverage(report: dict) -> dict | None:
    data = report.get("coverage")
    if not isinstance(data, dict):
        return None
    blocks: list[dict] = []
    policies = data.get("policies")
    if is_table(policies):
        blocks += _percent_by_policy(
            policies, "coverage.policies", "Per policy", "rules that denied"
        )
    allow_policies = data.get("allow_policies")
    if is_table(allow_policies):
        blocks += _percent_by_policy(
            allow_policies,
            "coverage.allow_policies",
            "Allow lists per policy",
            "allow rules that allowed",
        )
    for key, title in _COVERAGE_TABLES:
        rows = data.get(key)
        if isinstance(rows, list):
            blocks.append({"kind": "heading", "text": title})
            if rows:
                blocks.append(table("", rows, f"coverage.{part(key)}"))
            else:
                blocks.append({"kind": "note", "text": "none"})
    known = {"policies", "allow_policies", *(key for key, _title in _COVERAGE_TABLES)}
    rest = {k: v for k, v in data.items() if k not in known}
    if rest:
        blocks.append({"kind": "node", "node": node(rest, "coverage", 1)})
    return section("coverage", "Coverage", blocks)


# --- recorded outcome, engines ----------------------------------------------------------------


def recorded(report: dict) -> dict | None:
    data = report.get("recorded")
    if not isinstance(data, dict) or not isinstance(data.get("matrix"), dict):
        return None
    matrix = data["matrix"]
    predicted = list(dict.fromkeys(p for row in matrix.values() for p in row))
    rows = [
        [
            cell(name),
            *(cell(row.get(p), f"recorded.matrix.{part(name)}.{part(p)}") for p in predicted),
        ]
        for name, row in matrix.items()
    ]
    grid = {
        "kind": "table",
        "title": "",
        "head": ["recorded \\ predicted", *predicted],
        "rows": rows,
        "more": 0,
    }
    extra = [
        number(report, f"recorded.{part(k)}", k.replace("_", " "))
        for k, v in data.items()
        if k != "matrix" and is_num(v)
    ]
    blocks = [grid, {"kind": "kv", "items": extra}]
    rest = {k: v for k, v in data.items() if k != "matrix" and not is_num(v)}
    if rest:
        blocks.append({"kind": "node", "node": node(rest, "recorded", 1)})
    return section("recorded", "Recorded outcome vs predicted", blocks)


_ENGINE_COLUMNS = ("decisions", "decisions_per_second", "p50_ns", "p99_ns", "seconds")


def engines(report: dict) -> dict | None:
    data = report.get("engines")
    if not isinstance(data, dict) or not data:
        return None
    names = {"trie": "trie", "ram": "RAM evaluator (JSON)"}
    rows = [
        [
            cell(names.get(name, name)),
            *(cell(s.get(c), f"engines.{part(name)}.{c}") for c in _ENGINE_COLUMNS),
        ]
        for name, s in data.items()
        if isinstance(s, dict)
    ]
    head = ["engine", *(c.replace("_", " ") for c in _ENGINE_COLUMNS)]
    grid = {"kind": "table", "title": "", "head": head, "rows": rows, "more": 0}
    return section("engines", "Decision speed (reading and parsing excluded)", [grid])


# --- generic ----------------------------------------------------------------------------------

TITLES = {"files": "Files", "window": "Time window"}


def generic(key: str, value: Any) -> dict:
    title = TITLES.get(key, key.replace("_", " ").capitalize())
    return section(key, title, [{"kind": "node", "node": node(value, key, 0)}])


def node(value: Any, path: str, depth: int) -> dict:
    """A JSON value as nested blocks: an object as a key/value table, a list of objects as
    a table with a column per scalar key, anything else as one cell."""
    if isinstance(value, dict) and depth < 4:
        return {
            "kind": "object",
            "items": [
                {"key": str(k), "node": node(v, f"{path}.{part(k)}", depth + 1)}
                for k, v in value.items()
            ],
        }
    if is_table(value):
        return table("", value, path)
    if isinstance(value, list | dict):
        return {"kind": "cell", **cell(fmt(value))}
    return {"kind": "cell", **cell(value, path)}
