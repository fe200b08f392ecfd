"""How a report value is shown: numbers exactly (with thousands separators) and tagged with the
place in the report they came from, so a test can read the page back against the JSON."""

from __future__ import annotations

from typing import Any

TABLE_ROWS = 50
"""Rows a table shows at most; the JSON report holds the rest."""
EXAMPLE_KEYS = ("examples", "first", "first_denied")
"""Where the report keeps example events: shown in the examples table, not as columns."""


def part(key: Any) -> str:
    """One step of a path: a key holding ``.`` (an error code, ``Forbidden.RAM``) is written
    ``~1`` and ``~`` as ``~0``, as JSON Pointer escapes ``/``, so every path reads back."""
    return str(key).replace("~", "~0").replace(".", "~1")


def at(report: Any, path: str) -> Any:
    """``by_rule.0.denied`` → ``report["by_rule"][0]["denied"]``."""
    node = report
    for step in path.split("."):
        step = step.replace("~1", ".").replace("~0", "~")
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def has(report: Any, path: str) -> bool:
    try:
        at(report, path)
    except (KeyError, IndexError, TypeError, ValueError):
        return False
    return True


def is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt(value: Any) -> str:
    """A value as the page shows it; numbers with thousands separators, exactly."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_num(value):
        return f"{value:,}"
    if isinstance(value, dict):
        return label(value)
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value) or "(none)"
    return str(value)


def label(value: Any) -> str:
    """A nested object named by what names it (a principal's ``label``, a rule's place)."""
    if not isinstance(value, dict):
        return fmt(value)
    for key in ("label", "key", "name", "action"):
        if isinstance(value.get(key), str):
            return value[key]
    if "file" in value and "line" in value:
        return f"{value['file']}:{value['line']}"
    return ", ".join(f"{k}={fmt(v)}" for k, v in value.items() if not isinstance(v, dict | list))


def cell(value: Any, path: str | None = None) -> dict:
    """A table cell; a number keeps the path it came from."""
    number = is_num(value)
    return {"text": fmt(value), "path": path if number else None, "num": number}


def number(report: dict, path: str, name: str) -> dict:
    """A labelled headline number."""
    return {"label": name, **cell(at(report, path), path)}


def is_table(rows: Any) -> bool:
    return isinstance(rows, list) and bool(rows) and all(isinstance(r, dict) for r in rows)


def scalar_columns(rows: list[dict], limit: int = TABLE_ROWS) -> list[str]:
    """Keys of the first ``limit`` rows, in order of first sight; nested objects are left to
    the examples table (``first``) and lists shown joined."""
    seen: dict[str, None] = {}
    for row in rows[:limit]:
        for key, value in row.items():
            if key in EXAMPLE_KEYS:
                continue
            if not isinstance(value, dict) or key == "principal":
                seen.setdefault(key, None)
    return list(seen)


def table(title: str, rows: list[dict], path: str, columns: list[str] | None = None) -> dict:
    """A table block: one column per key (or the given keys), ``TABLE_ROWS`` rows at most."""
    columns = columns if columns is not None else scalar_columns(rows)
    body = [
        [cell(row.get(c), f"{path}.{i}.{part(c)}") for c in columns]
        for i, row in enumerate(rows[:TABLE_ROWS])
    ]
    return {
        "kind": "table",
        "title": title,
        "head": [c.replace("_", " ") for c in columns],
        "rows": body,
        "more": max(0, len(rows) - TABLE_ROWS),
    }


LOWER_BOUND = "≥ "
"""Before a count that is a lower bound (a bounded table's rows, ``approximate: true``)."""


def is_approximate(entry: Any) -> bool:
    """A ``who`` table whose rows' counts are lower bounds (``impact.BoundedTable`` dropped
    values: the source addresses of a trace with more than 512 of them in a split)."""
    return isinstance(entry, dict) and entry.get("approximate") is True


def bounds_caption(entry: dict, noun: str = "address", nouns: str = "addresses") -> str:
    """What an approximate table's counts mean, from the report's own numbers, for the text
    summary and the page alike: ``counts are lower bounds: up to 23 calls (1 denied) per
    address were made before it entered the table and are not counted; 256 of 1,777
    addresses kept, 3,051 calls (202 denied) by the others are in no row``."""
    calls, denied = entry.get("max_uncounted_calls"), entry.get("max_uncounted_denied")
    kept, distinct = entry.get("kept_values"), entry.get("distinct")
    other = entry.get("other") if isinstance(entry.get("other"), dict) else {}
    out = (
        f"counts are lower bounds: up to {fmt(calls)} calls ({fmt(denied)} denied) per {noun} "
        "were made before it entered the table and are not counted"
    )
    if is_num(kept) and is_num(distinct):
        about = "~" if entry.get("distinct_estimated") is True else ""
        out += f"; {kept:,} of {about}{distinct:,} {nouns} kept"
        if is_num(other.get("calls")):
            out += (
                f", {fmt(other['calls'])} calls ({fmt(other.get('denied'))} denied) by the "
                "others are in no row"
            )
    return out
