"""``ramguard fmt``: rewrite rules files in the canonical layout, or check that they are."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.cli.common import print_diagnostics
from compiler.language.format import format_paths, unified_diff, write_formatted


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--check", is_flag=True, help="Write nothing; list files that would change and exit 1."
)
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff.")
def command(paths: tuple[Path, ...], check: bool, show_diff: bool) -> None:
    """Format rules files (or directories of *.rules) in the canonical layout.

    Comments stay where they were. Without options each file that changes is rewritten
    atomically; files already formatted are not touched. A file that does not parse is
    reported and left as it is (exit 1).

    \b
    Exit codes: 0 done (or nothing to change), 1 a file does not parse, or --check found a
    file to reformat.

    \b
    Examples:
      ramguard fmt policies
      ramguard fmt --check policies          # in CI
      ramguard fmt --diff policies/x.rules | patch -p0
    """
    report = format_paths(paths)
    print_diagnostics(report.diagnostics)
    changed = report.changed
    if show_diff:
        for result in changed:
            click.echo(unified_diff(result), nl=False)
    if check or show_diff:
        if not show_diff:
            for result in changed:
                click.echo(str(result.path))
        verb = "would be reformatted"
    else:
        for result in changed:
            write_formatted(result)
            click.echo(f"reformatted {result.path}")
        verb = "reformatted"
    unchanged = len(report.files) - len(changed)
    summary = f"{len(changed)} {verb}, {unchanged} already formatted"
    if report.failed:
        summary += f", {len(report.failed)} not parsed"
    click.echo(f"ramguard fmt: {summary}", err=True)
    if report.failed or (check and changed):
        sys.exit(1)
