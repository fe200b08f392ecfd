"""The diagnostics cap never hides an error behind warnings."""

from __future__ import annotations

from compiler.language.diagnostics import (
    MAX_DIAGNOSTICS,
    Severity,
    Span,
    error,
    sorted_capped,
    warning,
)


def test_an_error_after_a_flood_of_warnings_is_kept():
    warnings = [
        warning("W0202", "inferred", Span("a.rules", line, 1, line, 2))
        for line in range(1, MAX_DIAGNOSTICS + 20)
    ]
    late = error("E0220", "unknown operation", Span("z.rules", 9, 1, 9, 2))
    kept = sorted_capped([*warnings, late])
    assert len(kept) == MAX_DIAGNOSTICS
    assert kept[-1] is late  # still in position order
    assert sum(d.severity is Severity.WARNING for d in kept) == MAX_DIAGNOSTICS - 1
