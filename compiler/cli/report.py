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

from compiler.cli.render import text

TOP = 10


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


def summary(report: dict) -> Group:
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
    ):
        _row(counts, label, f"{value:,}")

    matrix = Table(title="Recorded outcome vs predicted", title_justify="left")
    matrix.add_column("recorded \\ predicted")
    matrix.add_column("deny", justify="right")
    matrix.add_column("allow", justify="right")
    for recorded, row in report["recorded"]["matrix"].items():
        _row(matrix, recorded, f"{row['deny']:,}", f"{row['allow']:,}")

    speed = Table(title="Decision speed (reading and parsing excluded)", title_justify="left")
    for col in ("engine", "decisions", "decisions/s", "p50", "p99"):
        speed.add_column(col, justify="left" if col == "engine" else "right")
    for name, stats in report["engines"].items():
        label = {"trie": "trie", "ram": "RAM evaluator (JSON)"}.get(name, name)
        _row(
            speed,
            label,
            f"{stats['decisions']:,}",
            _fmt_rate(stats["decisions_per_second"]),
            _fmt_ns(stats["p50_ns"]),
            _fmt_ns(stats["p99_ns"]),
        )

    parts: list = [counts, matrix, speed]
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
            _row(bad, f"{row['file']}:{row['line']}", row["reason"])
        parts.append(bad)
    return Group(*parts)


def print_summary(report: dict, console: Console | None = None) -> None:
    from compiler.cli.render import stdout_console

    (console or stdout_console()).print(summary(report))
