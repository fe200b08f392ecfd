"""``ramguard check``: compile errors and lint warnings, as text, JSON or SARIF."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.analysis.lint import check_paths
from compiler.analysis.sarif import to_sarif
from compiler.cli.common import catalog_option, echo


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="text: diagnostics on stderr, a summary on stdout; json, sarif: data on stdout.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@catalog_option
def command(paths: tuple[Path, ...], fmt: str, strict: bool, catalog) -> None:
    """Report compile errors and warnings (duplicate, shadowed or dead rules, …).

    Exit 1 when there is an error, or with --strict any warning; 0 otherwise.

    \b
    Examples:
      ramguard check policies
      ramguard check policies --format sarif > ramguard.sarif   # GitHub code scanning
    """
    result = check_paths(paths, catalog)
    if fmt == "json":
        click.echo(json.dumps([d.to_dict() for d in result.diagnostics], indent=2))
    elif fmt == "sarif":
        click.echo(json.dumps(to_sarif(result.diagnostics, Path.cwd()), indent=2))
    else:
        for d in result.diagnostics:
            echo(d.render(show_code=True), err=True)
        click.echo(result.summary())
    sys.exit(result.exit_code(strict))
