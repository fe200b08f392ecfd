"""The simulation report as one self-contained HTML page.

Python decides the content, the Jinja template (``templates/report.html.j2``, autoescaped)
only lays it out: charts are computed here as plain geometry (bars with x, y, width, height)
and drawn by the template as SVG; every text from a trace or a rule enters the page as an
escaped value, and the examples table's data enters its ``<script type="application/json">``
block through ``tojson`` (``<``, ``>``, ``&`` and ``'`` as ``\\u003c``…), so ``</script>`` in
an access key cannot end the block. The one script is ours, allowed by its hash in the page's
Content-Security-Policy, which also forbids every fetch: the page works from a file, offline.

Every number shown carries ``data-path``, the place in the report it came from
(``by_rule.0.denied``), so a test can check each one against the JSON. Sections the page has
no special layout for (added to the report later) are still shown, as generic tables.
"""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import datetime, timedelta
from importlib import resources
from pathlib import PurePath
from typing import Any

import jinja2

TOP = 10
"""Rows in a top-N chart; its table shows up to ``TABLE_ROWS``."""
TABLE_ROWS = 50
MAX_BINS = 240
"""Bars in the denials-over-time chart at most: hours are merged into wider bins past it."""
MAX_EXAMPLES = 5_000
LABEL_CHARS = 48
"""A chart label is cut to this many characters (the full text is in its tooltip and table)."""

# Sections with a layout of their own; every other top-level key is drawn generically.
_SUMMARY = (
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
_LAID_OUT = {
    "sources",
    "policies",
    "events",
    "decided",
    "denied",
    "allowed",
    "malformed",
    "mismatches",
    "unmapped",
    "resource_unknown",
    "outside_window",
    "over_time",
    "by_rule",
    "by_access_key",
    "recorded",
    "engines",
}
# Where sections the page knows only by name go, and their titles.
_TITLES = {
    "plan": "Plan: what the change would deny",
    "coverage": "Coverage",
    "who": "Who",
    "files": "Files",
    "window": "Time window",
}
_FIRST = ("plan",)
"""Generic sections drawn before the top-N tables (the plan is what a reviewer reads first)."""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compiler.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def _script() -> str:
    return resources.files("compiler.report").joinpath("templates/report.js").read_text("utf-8")


def render_html(report: dict) -> str:
    """The page for one ``--report`` dict (as ``report_dict`` builds it, plus later sections)."""
    script = _script()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    examples = collect_examples(report)
    context = {
        "sources": [str(s) for s in report.get("sources", [])],
        "policies": [str(p) for p in report.get("policies", [])],
        "summary": [_number(report, path, label) for path, label in _SUMMARY if _has(report, path)],
        "timeline": timeline(report.get("over_time")),
        "first": [_generic(k, report[k]) for k in _FIRST if k in report],
        "tops": _tops(report),
        "recorded": _recorded(report.get("recorded")),
        "engines": _engines(report.get("engines")),
        "others": [
            _generic(k, report[k])
            for k in sorted(report)
            if k not in _LAID_OUT and k not in _FIRST and not _in_tops(k, report[k])
        ],
        "examples": examples,
        "script": jinja2.utils.markupsafe.Markup(script),  # our own file, not data
        "script_hash": f"sha256-{digest}",
    }
    return _environment().get_template("report.html.j2").render(context)


# --- numbers and paths --------------------------------------------------------------------


def _get(report: Any, path: str) -> Any:
    node = report
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _has(report: dict, path: str) -> bool:
    try:
        _get(report, path)
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True


def fmt(value: Any) -> str:
    """A value as the page shows it; numbers with thousands separators, exactly."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def _cell(value: Any, path: str | None) -> dict:
    """A table cell; numbers keep the path they came from."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return {"text": fmt(value), "path": path if number else None, "num": number}


def _number(report: dict, path: str, label: str) -> dict:
    return {"label": label, **_cell(_get(report, path), path)}


# --- denials over time ----------------------------------------------------------------------

_CHART_W, _CHART_H = 960, 200
_PAD_L, _PAD_B, _PAD_T = 56, 28, 10


def timeline(over_time: dict | None) -> dict | None:
    """Bars for events and denies per time bin, dense from the first bucket to the last."""
    if not over_time or not over_time.get("series"):
        return None
    step = timedelta(hours=1) if over_time.get("bucket") == "hour" else timedelta(days=1)
    points = []
    for index, row in enumerate(over_time["series"]):
        try:
            start = datetime.fromisoformat(row["start"])
        except (TypeError, ValueError):
            continue
        points.append((start, row["events"], row["denied"], index))
    if not points:
        return None
    first, last = points[0][0], points[-1][0]
    buckets = int((last - first) / step) + 1
    per_bin = max(1, math.ceil(buckets / MAX_BINS))
    width = step * per_bin
    count = math.ceil(buckets / per_bin)
    bins = [[0, 0, []] for _ in range(count)]
    for start, events, denied, index in points:
        slot = bins[min(count - 1, int((start - first) / width))]
        slot[0] += events
        slot[1] += denied
        slot[2].append(index)
    top = max(b[0] for b in bins) or 1
    plot_w = _CHART_W - _PAD_L - 8
    plot_h = _CHART_H - _PAD_B - _PAD_T
    bar_w = plot_w / count
    bars = []
    for i, (events, denied, members) in enumerate(bins):
        begin = first + width * i
        x = _PAD_L + i * bar_w
        eh = plot_h * events / top
        dh = plot_h * denied / top
        when = _when(begin, width)
        bars.append(
            {
                "x": round(x, 2),
                "w": round(max(bar_w - (1 if bar_w > 3 else 0), 0.5), 2),
                "ey": round(_PAD_T + plot_h - eh, 2),
                "eh": round(eh, 2),
                "dy": round(_PAD_T + plot_h - dh, 2),
                "dh": round(dh, 2),
                "events": events,
                "denied": denied,
                "series": ",".join(map(str, members)),
                "title": f"{when}: {events:,} events, {denied:,} denied",
            }
        )
    ticks = [
        {"y": round(_PAD_T + plot_h - plot_h * f, 2), "text": fmt(round(top * f))}
        for f in (0, 0.5, 1)
    ]
    labels = []
    for i in sorted({0, count // 3, 2 * count // 3, count - 1}):
        # The first and last labels hang inwards: centred, they would be cut at the edges.
        anchor = "start" if i == 0 else "end" if i == count - 1 else "middle"
        x = _PAD_L + i * bar_w + {"start": 0, "middle": bar_w / 2, "end": bar_w}[anchor]
        labels.append({"x": round(x, 2), "text": _when(first + width * i, step), "anchor": anchor})
    return {
        "width": _CHART_W,
        "height": _CHART_H,
        "base": _PAD_T + plot_h,
        "left": _PAD_L,
        "right": _CHART_W - 8,
        "bars": bars,
        "ticks": ticks,
        "labels": labels,
        "bin": _duration(width),
        "bucket": over_time.get("bucket", "hour"),
        "total_events": sum(b[0] for b in bins),
        "total_denied": sum(b[1] for b in bins),
    }


def _when(start: datetime, width: timedelta) -> str:
    if width < timedelta(days=1):
        return start.strftime("%Y-%m-%d %H:%M UTC")
    return start.strftime("%Y-%m-%d")


def _duration(width: timedelta) -> str:
    hours = int(width / timedelta(hours=1))
    if hours % 24 == 0:
        days = hours // 24
        return "1 day" if days == 1 else f"{days} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


# --- top-N charts and tables --------------------------------------------------------------

_BAR_ROW = 22
_BAR_LABEL_W = 330
_BAR_W = 960


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def bar_chart(rows: list[dict], path: str, label_of, value_key: str) -> dict | None:
    """Horizontal bars for the first ``TOP`` rows with a non-zero ``value_key``."""
    shown = [(i, r) for i, r in enumerate(rows) if _is_num(r.get(value_key)) and r[value_key]]
    shown = shown[:TOP]
    if not shown:
        return None
    top = max(r[value_key] for _, r in shown) or 1
    room = _BAR_W - _BAR_LABEL_W - 90
    bars = []
    for n, (i, row) in enumerate(shown):
        label = label_of(row)
        value = row[value_key]
        w = room * value / top
        bars.append(
            {
                "y": n * _BAR_ROW,
                "w": round(max(w, 1), 2),
                "label": _short(label),
                "title": f"{label}: {value:,}",
                "value": fmt(value),
                "path": f"{path}.{i}.{value_key}",
            }
        )
    return {
        "width": _BAR_W,
        "height": len(bars) * _BAR_ROW + 4,
        "left": _BAR_LABEL_W,
        "bars": bars,
        "measure": value_key,
    }


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rule_label(row: dict) -> str:
    # The file's name, not its path: the rule text is what a reader scans the chart for.
    return (
        f"{PurePath(str(row.get('file', '?'))).name}:{row.get('line', '?')} {row.get('rule', '')}"
    )


def _in_tops(key: str, value: Any) -> bool:
    return (key.startswith("by_") and _is_table(value)) or (
        key == "who" and isinstance(value, dict)
    )


def _tops(report: dict) -> list[dict]:
    """``by_rule``, ``by_access_key`` with their own columns; every other ``by_*`` list
    (principals, operations…) and each table under ``who`` generically."""
    out = []
    if report.get("by_rule"):
        out.append(
            _top(
                "by_rule",
                "Denies by rule",
                report["by_rule"],
                [("where", None), ("rule", "rule"), ("denied", "denied")],
                _rule_label,
                "denied",
            )
        )
    keys = [r for r in report.get("by_access_key", []) if r.get("denied")]
    if keys:
        out.append(
            _top(
                "by_access_key",
                "AccessKeys with denied calls",
                report["by_access_key"],
                [("access key", "access_key"), ("events", "events"), ("denied", "denied")],
                lambda r: str(r.get("access_key")),
                "denied",
            )
        )
    tables = [(k, report[k]) for k in sorted(report) if k.startswith("by_")]
    tables = [(k, v) for k, v in tables if k not in ("by_rule", "by_access_key")]
    who = report.get("who")
    if isinstance(who, dict):
        tables += [(f"who.{k}", v) for k, v in sorted(who.items())]
    for path, rows in tables:
        if not _is_table(rows):
            continue
        columns = _scalar_columns(rows)
        labels = [c for c in columns if not _is_num(rows[0].get(c))]
        measure = next(
            (c for c in ("denied", "count", "events", "calls") if c in columns),
            next((c for c in columns if _is_num(rows[0].get(c))), None),
        )
        name = path.rsplit(".", 1)[-1].removeprefix("by_").replace("_", " ")
        out.append(
            _top(
                path,
                f"Top by {name}",
                rows,
                [(c.replace("_", " "), c) for c in columns],
                lambda r, labels=labels: " ".join(fmt(r.get(c)) for c in labels) or "?",
                measure,
            )
        )
    return out


def _top(path, title, rows, columns, label_of, measure) -> dict:
    body = []
    for i, row in enumerate(rows[:TABLE_ROWS]):
        cells = []
        for _, key in columns:
            if key is None:  # by_rule's "where"
                cells.append(_cell(f"{row.get('file', '?')}:{row.get('line', '?')}", None))
            else:
                cells.append(_cell(row.get(key), f"{path}.{i}.{key}"))
        body.append(cells)
    return {
        "id": path.replace(".", "-"),
        "title": title,
        "chart": bar_chart(rows, path, label_of, measure) if measure else None,
        "head": [c for c, _ in columns],
        "rows": body,
        "more": max(0, len(rows) - TABLE_ROWS),
        "total": len(rows),
    }


def _is_table(rows: Any) -> bool:
    return isinstance(rows, list) and bool(rows) and all(isinstance(r, dict) for r in rows)


def _scalar_columns(rows: list[dict], limit: int = TABLE_ROWS) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows[:limit]:
        for key, value in row.items():
            if not isinstance(value, dict | list):
                seen.setdefault(key, None)
    return list(seen)


# --- recorded outcome, engines ------------------------------------------------------------


def _recorded(recorded: dict | None) -> dict | None:
    if not isinstance(recorded, dict) or not isinstance(recorded.get("matrix"), dict):
        return None
    matrix = recorded["matrix"]
    predicted = sorted({p for row in matrix.values() for p in row}, key=("deny", "allow").index)
    rows = [
        {
            "recorded": name,
            "cells": [_cell(row.get(p), f"recorded.matrix.{name}.{p}") for p in predicted],
        }
        for name, row in matrix.items()
    ]
    extra = [
        {"label": k.replace("_", " "), **_cell(v, f"recorded.{k}")}
        for k, v in recorded.items()
        if k != "matrix" and _is_num(v)
    ]
    return {"predicted": predicted, "rows": rows, "extra": extra}


_ENGINE_COLUMNS = ("decisions", "decisions_per_second", "p50_ns", "p99_ns", "seconds")


def _engines(engines: dict | None) -> dict | None:
    if not isinstance(engines, dict) or not engines:
        return None
    names = {"trie": "trie", "ram": "RAM evaluator (JSON)"}
    return {
        "head": [c.replace("_", " ") for c in _ENGINE_COLUMNS],
        "rows": [
            {
                "name": names.get(name, name),
                "cells": [_cell(stats.get(c), f"engines.{name}.{c}") for c in _ENGINE_COLUMNS],
            }
            for name, stats in engines.items()
        ],
    }


# --- generic sections -----------------------------------------------------------------------


def _generic(key: str, value: Any) -> dict:
    return {
        "id": key.replace(".", "-"),
        "title": _TITLES.get(key, key.replace("_", " ").capitalize()),
        "node": _node(value, key, 0),
    }


def _node(value: Any, path: str, depth: int) -> dict:
    """A JSON value as nested blocks: an object as a key/value table, a list of objects as
    a table with a column per scalar key, anything else as one cell."""
    if isinstance(value, dict) and depth < 4:
        return {
            "kind": "object",
            "items": [
                {"key": str(k), "node": _node(v, f"{path}.{k}", depth + 1)}
                for k, v in value.items()
            ],
        }
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        columns = _scalar_columns(value)
        rows = [
            [_cell(r.get(c), f"{path}.{i}.{c}") for c in columns]
            for i, r in enumerate(value[:TABLE_ROWS])
        ]
        return {
            "kind": "table",
            "head": [c.replace("_", " ") for c in columns],
            "rows": rows,
            "more": max(0, len(value) - TABLE_ROWS),
        }
    if isinstance(value, list):
        shown = ", ".join(fmt(v) if not isinstance(v, dict | list) else "…" for v in value)
        return {"kind": "cell", **_cell(shown or "(none)", None)}
    if isinstance(value, dict):
        return {"kind": "cell", **_cell("…", None)}
    return {"kind": "cell", **_cell(value, path)}


# --- examples -------------------------------------------------------------------------------

_EXAMPLE_LISTS = ("examples", "first")


def collect_examples(report: dict) -> dict:
    """Every list of example objects in the report (``mismatches.examples``,
    ``malformed.first`` and, in later sections, any ``examples`` list), as one table:
    a ``section`` column naming where each came from, then the union of their scalar keys."""
    found: list[tuple[str, dict]] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if (
                    k in _EXAMPLE_LISTS
                    and isinstance(v, list)
                    and all(isinstance(r, dict) for r in v)
                ):
                    found.extend((".".join(path) or "report", r) for r in v)
                else:
                    walk(v, [*path, str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, str(i)])

    walk(report, [])
    found = found[:MAX_EXAMPLES]
    columns = _scalar_columns([r for _, r in found], MAX_EXAMPLES)
    rows = [[section, *(_plain(r.get(c)) for c in columns)] for section, r in found]
    return {"columns": ["section", *columns], "rows": rows, "sections": _sections(found)}


def _sections(found: list[tuple[str, dict]]) -> list[str]:
    return list(dict.fromkeys(section for section, _ in found))


def _plain(value: Any) -> Any:
    """A cell for the JSON block: scalars as they are, nested values as text."""
    if isinstance(value, dict | list):
        return fmt(value)
    return value
