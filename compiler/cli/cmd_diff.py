"""``ramguard diff``: which requests two policies decide differently (``compiler.diff``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.analysis.diff import CLASSES, DiffResult, load_decider, semantic_diff
from compiler.cli.common import catalog_option, fail_with_diagnostics, text_or_json_option
from compiler.language.diagnostics import Diagnostic, Severity, Span
from compiler.ram import PolicyDocumentError

_TITLES = {
    "newly_denied": "newly denied",
    "no_longer_denied": "no longer denied",
    "conditions_changed": "conditions changed",
    "unchanged": "unchanged",
}


def _load(path: Path, catalog):
    try:
        return load_decider(path, catalog)
    except PolicyDocumentError as exc:
        where = f"statement {exc.statement}: " if exc.statement is not None else ""
        element = f"{exc.element}: " if exc.element else ""
        span = Span(exc.document, exc.line or 0, exc.column or 0)
        fail_with_diagnostics(
            [Diagnostic("E0800", Severity.ERROR, f"{where}{element}{exc.message}", span)]
        )


def _context_text(context: tuple[tuple[str, str], ...], keys: tuple[str, ...]) -> str:
    if not keys:
        return "any context"
    given = dict(context)
    return ", ".join(f"{k}={given[k]}" if k in given else f"{k} absent" for k in keys)


def render_text(result: DiffResult) -> None:
    from rich.table import Table

    from compiler.cli.render import stdout_console, text

    console = stdout_console()
    # File names and actions are user text: they enter rich as Text (never markup), escaped.
    console.print(text(f"{result.old} → {result.new}"))
    table = Table()
    table.add_column("change")
    table.add_column("actions", justify="right")
    for name, count in result.counts().items():
        table.add_row(text(_TITLES[name]), text(count))
    console.print(table)
    sampled = " (sampled)" if result.sampled else ""
    keys = ", ".join(result.keys) or "none"
    console.print(
        text(
            f"compared {result.actions} actions × {result.contexts} contexts{sampled}; "
            f"condition keys: {keys}"
        )
    )
    for name in CLASSES:
        examples = getattr(result, name)
        if not examples:
            continue
        console.print(text(f"\n{_TITLES[name]} ({len(examples)}):"))
        for e in examples:
            console.print(
                text(f"  {e.action}: {e.old} → {e.new}  [{_context_text(e.context, result.keys)}]")
            )
    verdict = "access changes" if result.changed else "identical: no request changes decision"
    console.print(text(f"\n{verdict}"))


@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@text_or_json_option
@catalog_option
def command(old: Path, new: Path, fmt: str, catalog) -> None:
    """Compare two policies by what they decide: every catalog action, under the request
    contexts their conditions make different.

    OLD and NEW are each a rules file or directory, or RAM policy JSON (a `.json` file, or
    a directory of them). Exit 0 when no request changes decision, 1 when one does.

    \b
    Examples:
      ramguard diff generated/leaked-accesskey-protection.json policies
      ramguard diff old/x.rules policies/x.rules --format json
    """
    result = semantic_diff(_load(old, catalog), _load(new, catalog), catalog)
    if fmt == "json":
        sys.stdout.write(result.to_json())
    else:
        render_text(result)
    sys.exit(1 if result.changed else 0)
