"""Diagnostics → SARIF 2.1.0, the format GitHub code scanning uploads.

Only layout lives here: what the diagnostics say is decided by the compiler and ``lint``.
Paths become URIs relative to ``root`` (the repository checkout), because code scanning
resolves them against the repository; a path outside ``root`` is kept as given.
Columns are Unicode code points with an exclusive end, as ``Span`` counts them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from compiler import __version__
from compiler.analysis.lint import CODES
from compiler.language.diagnostics import Diagnostic, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "ramguard"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _uri(file: str, root: Path) -> str:
    path = Path(file)
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        rel = path.as_posix()
    # A URI reference: a space or `#` in a file name must not start a fragment. Quoted from
    # the file name's bytes: a byte that is not UTF-8 (`x\xff.rules`, a lone surrogate in
    # the str) becomes %FF instead of a UnicodeEncodeError (issue 16 F11).
    return quote(os.fsencode(rel), safe="/")


def _region(d: Diagnostic) -> dict:
    span = d.span
    if span.line <= 0:
        # About the whole file (missing, unreadable, too many documents): SARIF would allow
        # no region, but GitHub code scanning wants a start line.
        return {"startLine": 1, "startColumn": 1}
    start_col = max(span.col, 1)
    region = {"startLine": span.line, "startColumn": start_col}
    if span.end_line >= span.line and (span.end_line > span.line or span.end_col > start_col):
        region["endLine"] = span.end_line
        region["endColumn"] = max(span.end_col, 1)
    return region


def _result(d: Diagnostic, rule_index: int, root: Path) -> dict:
    text = d.message if not d.help else f"{d.message}\nhelp: {d.help}"
    physical = {"artifactLocation": {"uri": _uri(d.span.file, root)}, "region": _region(d)}
    return {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": _LEVELS[d.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
    }


def to_sarif(diagnostics: Iterable[Diagnostic], root: Path) -> dict:
    """One SARIF log with one run; rules are the codes that occur, sorted."""
    diags = list(diagnostics)
    severity: dict[str, Severity] = {}
    for d in diags:
        severity.setdefault(d.code, d.severity)
    codes = sorted(severity)
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "shortDescription": {
                "text": CODES.get(code, f"ramguard {severity[code]} {code}"),
            },
            "defaultConfiguration": {"level": _LEVELS[severity[code]]},
        }
        for code in codes
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": [_result(d, index[d.code], root) for d in diags],
            }
        ],
    }
