"""The simulation report as one self-contained HTML page.

Python decides the content (``sections``, ``charts``), the Jinja template
(``templates/report.html.j2``, autoescaped) only lays it out: charts are computed as plain
geometry and drawn by the template as SVG; every text from a trace or a rule enters the page
as an escaped value, and the examples table's data enters its ``<script
type="application/json">`` block through ``tojson`` (``<``, ``>``, ``&`` and ``'`` as
``\\u003c``…), so ``</script>`` in an access key cannot end the block. Control characters
are shown as the text summary shows them (``printable``: ``\\x1b``, ``\\u202e``), by the
environment's ``finalize`` for every value the template prints and before ``tojson`` for
the examples' data (its script puts the decoded strings on the page): a bidi override in a
user name would reorder its row, a C0 control show as nothing. The JSON report keeps them.
The one script is ours, allowed by its hash in the page's Content-Security-Policy, which
also forbids every fetch: the page works from a file, offline, and an injected script would
be refused (and logged).

Every number shown carries ``data-path``, the place in the report it came from
(``by_rule.0.denied``), so a test can check each one against the JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from compiler.language.diagnostics import printable
from compiler.report import sections as s
from compiler.report.values import EXAMPLE_KEYS, fmt, is_table, label, scalar_columns

MAX_EXAMPLES = 5_000
"""Rows in the examples table at most (the report's own lists are capped far below this)."""

# Top-level keys with a layout of their own; every other one is shown generically.
_LAID_OUT = s.SHOWN_IN_SUMMARY | {
    "malformed",
    "mismatches",
    "over_time",
    "by_rule",
    "by_access_key",
    "recorded",
    "engines",
    "plan",
    "org",
    "who",
    "coverage",
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compiler.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2", "j2"]),
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


def _shown(value: Any) -> Any:
    """Every value the template prints, as the page shows it: control characters escaped
    (``printable``). Markup is ours and left alone: the script, and ``tojson``'s block,
    whose strings were escaped before encoding (``_escaped``)."""
    if isinstance(value, Markup):
        return value
    return printable(value if isinstance(value, str) else str(value))


def _escaped(value: Any) -> Any:
    """``value`` with every string in it (keys too) through ``printable``."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    return value


def _script() -> str:
    return resources.files("compiler.report").joinpath("templates/report.js").read_text("utf-8")


def page_sections(report: dict) -> list[dict]:
    """The sections in reading order: what happened, when, what the change would do, who,
    what the rules miss, then the engines and anything else the report holds."""
    built = [
        s.summary(report),
        s.over_time(report),
        s.plan(report),
        s.org_chain(report),
        s.who(report),
        s.by_rule(report),
        s.by_access_key(report),
    ]
    for key in sorted(report):
        if key.startswith("by_") and key not in _LAID_OUT and is_table(report[key]):
            built.append(s.generic_top(key, report[key]))
    built += [s.coverage(report), s.recorded(report), s.engines(report)]
    shown = _LAID_OUT | {k for k in report if k.startswith("by_") and is_table(report[k])}
    built += [s.generic(k, report[k]) for k in sorted(report) if k not in shown]
    return [b for b in built if b is not None]


def render_html(report: dict) -> str:
    """The page for one ``--report`` dict (as ``report_dict`` builds it, plus later sections)."""
    script = _script()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    context = {
        "sources": [fmt(x) for x in report.get("sources", [])],
        "policies": [fmt(x) for x in report.get("policies", [])],
        "sections": page_sections(report),
        "examples": _escaped(collect_examples(report)),
        "script": Markup(script),  # our own packaged file, never data
        "script_hash": f"sha256-{digest}",
    }
    return _environment().get_template("report.html.j2").render(context)


# --- examples -------------------------------------------------------------------------------


def collect_examples(report: dict) -> dict:
    """Every example event in the report, once: lists named ``examples`` (or ``first``, as in
    ``malformed.first``) and single ``first`` / ``first_denied`` objects of top-N rows. An
    event that is the first of several rows (its principal's, its operation's…) is one row
    whose ``section`` names them all."""
    found: dict[str, list] = {}

    def add(where: str, example: dict) -> None:
        row = {k: _plain(v) for k, v in example.items()}
        key = json.dumps(identity(example), sort_keys=True, default=str)
        if key in found:
            seen, known = found[key]
            if where not in seen:
                seen.append(where)
            for k, v in row.items():  # what a later section says more (region, rules)
                if known.get(k) is None:
                    known[k] = v
        elif len(found) < MAX_EXAMPLES:
            found[key] = [[where], row]

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in EXAMPLE_KEYS and is_table(v):
                    for example in v:
                        add(_section_name(path, k), example)
                elif k in EXAMPLE_KEYS and isinstance(v, dict):
                    add(_section_name(path, k), v)
                else:
                    walk(v, [*path, str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, str(i)])

    walk(report, [])
    rows = [row for _, row in found.values()]
    columns = scalar_columns(rows, MAX_EXAMPLES) if rows else []
    sections = list(dict.fromkeys(w for where, _ in found.values() for w in where))
    return {
        "columns": ["section", *columns],
        "rows": [
            [", ".join(where), *(row.get(c) for c in columns)] for where, row in found.values()
        ],
        "where": [where for where, _ in found.values()],
        "sections": sections,
    }


def identity(example: dict) -> Any:
    """One event in one role: its place (and, in the plan, its change); an example without
    a place is its whole content."""
    if "file" in example and "line" in example:
        # ``col``: the malformed elements of an array written on one line share their line.
        place = [example["file"], example["line"], example.get("col")]
        return [*place, example.get("event_id"), example.get("change")]
    return example


def _section_name(path: list[str], key: str) -> str:
    """``who.tables.principal.rows.3`` + ``first_denied`` → ``who principal (first denied)``;
    ``mismatches`` + ``examples`` → ``mismatches``."""
    parts = [p for p in path if not p.isdigit() and p not in ("tables", "rows")]
    name = " ".join(parts) or "report"
    return name if key in ("examples", "first") else f"{name} ({key.replace('_', ' ')})"


def _plain(value: Any) -> Any:
    """A cell for the JSON block: scalars as they are, nested values named as text."""
    if isinstance(value, dict):
        return label(value)
    if isinstance(value, list):
        return fmt(value)
    return value
