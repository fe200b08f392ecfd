"""``ramguard fmt``: rewrite rules files in the canonical layout, or check that they are."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.cli.common import echo, print_diagnostics, quiet_option
from compiler.language.diagnostics import CompileError
from compiler.language.format import (
    FormatReport,
    format_bytes,
    format_paths,
    unified_diff,
    write_formatted,
)
from compiler.language.sources import MAX_RULES_FILE_BYTES


def _stdin_report() -> FormatReport:
    # `-`: the text comes from stdin (editors call `ramguard fmt -`); the result goes to stdout.
    data = sys.stdin.buffer.read(MAX_RULES_FILE_BYTES + 1)
    path = Path("-")
    if len(data) > MAX_RULES_FILE_BYTES:
        from compiler.language.diagnostics import Span, error

        diag = error("E0003", f"stdin holds more than {MAX_RULES_FILE_BYTES} bytes", Span("-"))
        return FormatReport((), (path,), (diag,))
    try:
        return FormatReport((format_bytes(path, data),), (), ())
    except CompileError as exc:
        return FormatReport((), (path,), tuple(exc.diagnostics))


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--check", is_flag=True, help="Write nothing; list files that would change and exit 1."
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Write nothing; print a unified diff and exit 1 if any file would change.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object on stdout listing changed, unchanged and failed files.",
)
@quiet_option
def command(paths: tuple[Path, ...], check: bool, show_diff: bool, fmt: str, quiet: bool) -> None:
    """Format rules files (or directories of *.rules) in the canonical layout.

    Comments stay where they were; a file keeps its line endings (CRLF) and byte-order mark.
    Without options each file that changes is rewritten atomically; files already formatted
    are not touched. A file that does not parse (or that compile would refuse) is reported
    and left as it is (exit 1). `-` reads stdin and writes the formatted text to stdout.

    \b
    Exit codes: 0 done (or nothing to change), 1 a file does not parse, no rules files were
    found, or --check / --diff found a file to reformat.

    \b
    Examples:
      ramguard fmt policies
      ramguard fmt --check policies          # in CI
      ramguard fmt --diff policies/x.rules | patch -p0
      ramguard fmt - < policies/x.rules      # editors
    """
    stdin = [p for p in paths if str(p) == "-"]
    if stdin and len(paths) > 1:
        raise click.UsageError("`-` (stdin) cannot be combined with other paths")
    report = _stdin_report() if stdin else format_paths(paths)
    print_diagnostics(report.diagnostics)
    changed = report.changed
    dry = check or show_diff
    if stdin and not dry and report.files:
        # stdin → stdout, always the whole text (an editor replaces its buffer with it).
        sys.stdout.buffer.write(report.files[0].after_bytes())
        sys.stdout.flush()
    elif not dry:
        for result in changed:
            write_formatted(result)
    if fmt == "json":
        data = {
            "changed": [str(r.path) for r in changed],
            "unchanged": [str(r.path) for r in report.files if not r.changed],
            "failed": [str(p) for p in report.failed],
            "written": not dry and not stdin,
            "diagnostics": [d.to_dict() for d in report.diagnostics],
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif show_diff:
        # Raw into a pipe (patch needs the bytes as they are); escaped on a terminal.
        out = click.echo if not sys.stdout.isatty() else echo
        for result in changed:
            out(unified_diff(result), nl=False)
    elif check:
        for result in changed:
            echo(str(result.path))
    elif not stdin and not quiet:
        for result in changed:
            echo(f"reformatted {result.path}")
    verb = "would be reformatted" if dry else "reformatted"
    unchanged = len(report.files) - len(changed)
    summary = f"{len(changed)} {verb}, {unchanged} already formatted"
    if report.failed:
        summary += f", {len(report.failed)} not parsed"
    if not quiet:
        echo(f"ramguard fmt: {summary}", err=True)
    if report.failed or (dry and changed):
        sys.exit(1)
