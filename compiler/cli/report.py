"""Readable summaries of a simulation report, drawn with rich.

Reads only the report dict (the ``--report`` JSON), so what the table shows and what the
JSON holds cannot drift apart. Every cell and title goes through ``_row``/``text``: trace and
rule text (access keys, event ids, rule lines, file names) is data, never rich markup, and its
control characters are shown escaped.
"""

from __future__ import annotations

from pathlib import PurePath

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from compiler.cli.render import text
from compiler.language.diagnostics import counted
from compiler.report.values import LOWER_BOUND, bounds_caption, is_approximate

TOP = 10
_BY_TITLES = {
    "principal": "principal",
    "type": "identity type",
    "account": "account",
    "name": "user or role name",
    "access_key": "AccessKey",
    "source_ip": "source IP",
    "region": "region",
    "service": "service",
    "operation": "operation",
    "rule": "rule",
}


def _row(table: Table, *cells: object) -> None:
    table.add_row(*(text(c) for c in cells))


def _fmt_ns(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1000:
        return f"{value:,.0f} ns"
    return f"{value / 1000:,.1f} µs"


def _fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _calls(n: int) -> str:
    return counted(n, "call")


def plan_line(line: dict) -> Text:
    """``+ 3 calls by role ci-deployer would be denied (ecs:RunInstances in cn-hangzhou) —
    rule guard.rules:12``: every value from the trace or the rules enters as plain text."""
    newly = line["change"] == "+"
    out = Text()
    out.append(line["change"], style="bold red" if newly else "bold green")
    out.append(f" {_calls(line['calls'])} by ")
    out.append(text(line["principal"]["label"], style="bold"))
    out.append(" would be denied (" if newly else " would no longer be denied (")
    out.append(text(line["action"]))
    if line["region"]:
        out.append(" in ")
        out.append(text(line["region"]))
    out.append(")")
    nodes = [r["node"] for r in line["rules"] if r.get("node")]
    wheres = [r["where"] for r in line["rules"] if not r.get("node")]
    if nodes:
        out.append(" — " if newly else " — was ")
        out.append(text(f"not allowed at {', '.join(nodes)}", style="cyan"))
    if wheres:
        word = "rule" if len(wheres) == 1 else "rules"
        out.append(f" — {word} " if newly else f" — was {word} ")
        out.append(text(", ".join(wheres), style="cyan"))
    return out


def plan_summary(plan: dict, top: int) -> Group:
    head = Text()
    head.append("Plan", style="bold")
    head.append(": ")
    head.append(text(", ".join(plan["baseline"])))
    head.append(" → these rules: ")
    head.append(f"{_calls(plan['newly_denied'])} newly denied, ", style="red")
    head.append(f"{_calls(plan['no_longer_denied'])} no longer denied", style="green")
    parts: list = [head]
    if not plan["changed"]:
        parts.append(Text("No change: every call is decided as before."))
    for line in plan["lines"][:top]:
        parts.append(plan_line(line))
    more = plan["lines_total"] - min(top, len(plan["lines"]))
    if more > 0:
        shown = f"… and {counted(more, 'more plan line')} (all counts in --report)"
        parts.append(Text(shown, style="dim"))
    return Group(*parts)


def org_summary(org: dict, top: int) -> Group:
    """Where the chain stopped the denied calls: ``denied at folder fd-prod by rule …`` (an
    explicit Deny) apart from ``not allowed at folder fd-prod`` (an allow list's implicit
    deny); and the events of accounts org.toml does not describe, never left unsaid."""
    head = Text()
    head.append("Org", style="bold")
    head.append(": ")
    head.append(text(org["path"]))
    head.append(f" — {_calls(org['placed'])} decided along their account's chain")
    unplaced = org["unplaced"]
    if unplaced["count"]:
        head.append(f"; {_calls(unplaced['count'])} of {counted(unplaced['distinct'], 'account')} ")
        head.append("not in it ", style="yellow")
        head.append(text(f"decided {unplaced['decided_as']}"))
        shown = ", ".join(
            f"{a['account'] or '(none)'} ({a['events']:,})" for a in unplaced["accounts"][:top]
        )
        head.append(": ")
        head.append(text(shown))
    exempt = org.get("exempt") or {}
    if exempt.get("count"):
        head.append(
            f"; {_calls(exempt['count'])} by accounts themselves (root-account) not bound by "
            "control policies: RAM guardrails only"
        )
    denied = org["denied"]
    counts = Text(
        f"Denied: {denied['explicit_deny']:,} by an explicit Deny, {denied['implicit_deny']:,} "
        f"not allowed by an allow list (implicit deny), {denied['guardrail']:,} by a RAM "
        "guardrail after the chain"
    )
    parts: list = [head, counts]
    lists = org.get("allow_lists") or []
    if lists:
        line = Text("Allow lists (Allow rules that let a call pass their node): ")
        line.append(
            text(
                ", ".join(
                    f"{a['policy']} {a['allowed']}/{a['allow_rules']} ({a['percent']:.1f}%)"
                    for a in lists
                )
            )
        )
        parts.append(line)
    if org["stopped"]:
        table = Table(
            title=f"Where the chain stopped denied calls (top {min(top, len(org['stopped']))} "
            f"of {org['stopped_total']:,})",
            title_justify="left",
        )
        table.add_column("calls", justify="right")
        table.add_column("where")
        table.add_column("first")
        for row in org["stopped"][:top]:
            first = row["first"]
            shown = "–" if first is None else f"{first['file']}:{first['line']} {first['event_id']}"
            _row(table, f"{row['calls']:,}", row["text"], shown)
        parts.append(table)
    return Group(*parts)


def by_table(who: dict, by: str, top: int) -> Table | Group:
    table_data = who["tables"][by]
    rows = table_data["rows"][:top]
    of = f"{table_data['distinct']:,}"
    if table_data.get("distinct_estimated"):
        # Past a bounded set the count is a HyperLogLog estimate: say so, and how close.
        of = f"~{of}, estimated ±{100 * table_data['distinct_relative_error']:.1f}%"
    title = f"Calls by {_BY_TITLES[by]} (top {len(rows)} of {of})"
    # A bounded table (source addresses past 512 in a split) counts each row from when it was
    # last taken in: its counts are lower bounds, shown ``≥ 432``, and a line under the table
    # says by how much they may be short, from the report's own numbers. A line of its own,
    # not the table's caption: a caption wraps at the table's width even in a pipe.
    approximate = is_approximate(table_data)
    bound = LOWER_BOUND if approximate else ""
    table = Table(title=text(title), title_justify="left")
    table.add_column(_BY_TITLES[by])
    if by == "principal":
        table.add_column("type")
    if by == "rule":
        table.add_column("rule")
    table.add_column("events", justify="right")
    table.add_column("denied", justify="right")
    table.add_column("first denied")
    for row in rows:
        first = row["first_denied"]
        shown = "–" if first is None else f"{first['file']}:{first['line']} {first['event_id']}"
        cells: list = ["(none)" if row["key"] is None else row["key"]]
        if by == "principal":
            cells.append(row.get("type") or "–")
        if by == "rule":
            cells.append(row["rule"])
        cells += [f"{bound}{row['events']:,}", f"{bound}{row['denied']:,}", shown]
        _row(table, *cells)
    if approximate:
        return Group(table, text(bounds_caption(table_data), style="yellow"))
    return table


def recorded_tables(recorded: dict, top: int) -> list:
    out: list = []
    if recorded.get("reasons"):
        reasons = Table(title="Recorded denies by reason", title_justify="left")
        for col in ("reason", "recorded", "rules deny too", "no rule explains"):
            reasons.add_column(col, justify="left" if col == "reason" else "right")
        for row in recorded["reasons"]:
            _row(
                reasons,
                row["reason"],
                f"{row['recorded_denies']:,}",
                f"{row['predicted']:,}",
                f"{row['unexplained']:,}",
            )
        out.append(reasons)
    unexplained = recorded.get("unexplained") or {}
    if unexplained.get("examples"):
        title = f"Recorded denies no rule explains: {unexplained['count']:,} (first)"
        ex = Table(title=text(title), title_justify="left")
        for col in ("where", "event id", "principal", "action", "reason"):
            ex.add_column(col)
        for row in unexplained["examples"][:top]:
            _row(
                ex,
                f"{row['file']}:{row['line']}",
                row["event_id"],
                row["principal"] or "–",
                row["action"],
                row["reason"],
            )
        out.append(ex)
    return out


def _coverage_per_policy(title: str, rows: list[dict], done: str) -> Table:
    per = Table(title=title, title_justify="left")
    for col in (
        "policy",
        f"rules {done}",
        "condition never held",
        "resource never matched",
        "never matched",
        f"patterns {done}",
        "coverage",
    ):
        per.add_column(col, justify="left" if col == "policy" else "right")
    for p in rows:
        pct = "–" if p["percent"] is None else f"{p['percent']:.1f}%"
        _row(
            per,
            p["policy"],
            f"{p[f'rules_{done}']}/{p['rules']}",
            f"{p['rules_condition_never_held']:,}",
            f"{p.get('rules_resource_never_matched', 0):,}",
            f"{p['rules_never_matched']:,}",
            f"{p[f'patterns_{done}']}/{p['patterns']}",
            pct,
        )
    return per


# (JSON key, title, whether the calls its action matched are shown)
_IDLE_TABLES = (
    ("rules_condition_never_held", "whose action matched but whose condition never held", 1),
    (
        "rules_resource_never_matched",
        "whose action matched but no call's resource was in their scope",
        1,
    ),
    ("rules_never_matched", "no call matched", 0),
)


def _idle_tables(coverage: dict, top: int, prefix: str = "", noun: str = "Rules") -> list:
    out = []
    for key, title, calls in _IDLE_TABLES:
        idle = coverage.get(prefix + key) or []
        if not idle:
            continue
        table = Table(
            title=f"{noun} {title} ({len(idle):,}; first {min(top, len(idle))})",
            title_justify="left",
        )
        table.add_column("where", no_wrap=True)
        if calls:
            table.add_column("calls matched", justify="right")
        table.add_column("rule")
        for r in idle[:top]:
            cells = [f"{PurePath(r['file']).name}:{r['line']}"]
            if calls:
                cells.append(f"{r['events']:,}")
            _row(table, *cells, r["rule"])
        out.append(table)
    return out


def coverage_tables(coverage: dict, top: int) -> list:
    out: list = [
        _coverage_per_policy("Coverage: rules that denied a call", coverage["policies"], "denied")
    ]
    out += _idle_tables(coverage, top)
    if coverage.get("allow_policies"):
        out.append(
            _coverage_per_policy(
                "Coverage: allow rules that let a call pass (allow-list nodes)",
                coverage["allow_policies"],
                "allowed",
            )
        )
        out += _idle_tables(coverage, top, "allow_", "Allow rules")
    risky = coverage["high_risk_not_denied"]
    if risky:
        total = coverage["high_risk_not_denied_total"]
        table = Table(
            title=f"High-risk operations called and not denied ({total:,})",
            title_justify="left",
        )
        for col in ("action", "calls", "not denied", "why"):
            table.add_column(col, justify="right" if col in ("calls", "not denied") else "left")
        for r in risky[:top]:
            _row(table, r["action"], f"{r['calls']:,}", f"{r['not_denied']:,}", ", ".join(r["why"]))
        out.append(table)
    return out


def summary(report: dict, by: str = "principal", top: int = TOP) -> Group:
    counts = Table(title="Replay", show_header=False, title_justify="left")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    mism = report["mismatches"]["count"]
    for label, value in (
        ("events", report["events"]),
        ("malformed", report["malformed"]["count"]),
        ("decided", report["decided"]),
        ("denied", report["denied"]),
        ("allowed", report["allowed"]),
        ("unmapped service", report["unmapped"]),
        ("resource unknown", report["resource_unknown"]),
        ("mismatches (trie vs RAM JSON)", mism),
        *(
            [
                (
                    "baseline mismatches (trie vs RAM JSON)",
                    report["plan"]["engine_mismatches"]["count"],
                )
            ]
            if report.get("plan") is not None and "engine_mismatches" in report["plan"]
            else []
        ),
    ):
        _row(counts, label, f"{value:,}")

    matrix = Table(title="Recorded outcome vs predicted", title_justify="left")
    matrix.add_column("recorded \\ predicted")
    matrix.add_column("deny", justify="right")
    matrix.add_column("allow", justify="right")
    for recorded, row in report["recorded"]["matrix"].items():
        _row(matrix, recorded, f"{row['deny']:,}", f"{row['allow']:,}")

    # decisions/s counts every event's answer, most of them reused for a request already
    # decided (`evaluated` distinct ones); p50/p99 time single unmemoised calls.
    speed = Table(title="Decision speed (reading and parsing excluded)", title_justify="left")
    for col in ("engine", "decisions", "evaluated", "decisions/s", "p50", "p99"):
        speed.add_column(col, justify="left" if col == "engine" else "right")
    for name, stats in report["engines"].items():
        label = {"trie": "trie", "ram": "RAM evaluator (JSON)"}.get(name, name)
        _row(
            speed,
            label,
            f"{stats['decisions']:,}",
            f"{stats.get('evaluated', stats['decisions']):,}",
            _fmt_rate(stats["decisions_per_second"]),
            _fmt_ns(stats["p50_ns"]),
            _fmt_ns(stats["p99_ns"]),
        )

    parts: list = []
    if report.get("plan") is not None:
        parts.append(plan_summary(report["plan"], top))
    if report.get("org") is not None:
        parts.append(org_summary(report["org"], top))
    parts += [counts, matrix, speed]
    if "who" in report:
        parts.append(by_table(report["who"], by, top))
    parts += recorded_tables(report["recorded"], top)
    if "coverage" in report:
        parts += coverage_tables(report["coverage"], top)
    if report["by_rule"]:
        top = report["by_rule"][:TOP]
        files = {row["file"] for row in top}
        # One rules file: its name goes in the title, so the rule text keeps the width.
        title = f"Denies by rule (top {TOP})"
        if len(files) == 1:
            title += f" — {PurePath(next(iter(files))).name}"
        rules = Table(title=text(title), title_justify="left", min_width=min(80, len(title) + 2))
        rules.add_column("denied", justify="right", no_wrap=True)
        rules.add_column("line" if len(files) == 1 else "where", no_wrap=True)
        rules.add_column("rule")  # wraps: the counts and lines must never be squeezed out
        for row in top:
            where = str(row["line"])
            if len(files) > 1:
                where = f"{PurePath(row['file']).name}:{row['line']}"
            _row(rules, f"{row['denied']:,}", where, row["rule"])
        parts.append(rules)
    keys = [k for k in report["by_access_key"] if k["denied"]][:TOP]
    if keys:
        table = Table(title=f"AccessKeys with denied calls (top {TOP})", title_justify="left")
        table.add_column("access key")
        table.add_column("events", justify="right")
        table.add_column("denied", justify="right")
        for row in keys:
            _row(table, row["access_key"], f"{row['events']:,}", f"{row['denied']:,}")
        parts.append(table)
    if mism:
        ex = Table(title="Mismatches (first examples)", title_justify="left")
        for col in ("where", "event id", "action", "trie", "RAM JSON"):
            ex.add_column(col)
        for row in report["mismatches"]["examples"]:
            _row(
                ex,
                f"{row['file']}:{row['line']}",
                row["event_id"],
                str(row["action"]),
                row["trie"],
                row["ram"],
            )
        parts.append(ex)
    if report["malformed"]["count"]:
        bad = Table(title="Malformed events (first)", title_justify="left")
        bad.add_column("where")
        bad.add_column("reason")
        for row in report["malformed"]["first"]:
            _row(bad, f"{row['file']}:{row['line']}:{row.get('col', 1)}", row["reason"])
        parts.append(bad)
    return Group(*parts)


def print_summary(
    report: dict, console: Console | None = None, by: str = "principal", top: int = TOP
) -> None:
    from compiler.cli.render import stdout_console

    (console or stdout_console()).print(summary(report, by, top))
