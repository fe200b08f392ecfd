"""``ramguard check``: compile errors and lint warnings, as text, JSON or SARIF."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.analysis.lint import CheckResult, check_paths, check_sources
from compiler.analysis.sarif import to_sarif
from compiler.cli.common import (
    catalog_option,
    config_warnings,
    echo,
    find_org_for,
    ignore_option,
    org_option,
    quiet_option,
    read_stdin_rules,
    rendered,
)
from compiler.language.diagnostics import CompileError, sorted_capped


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
@ignore_option
@org_option
@quiet_option
@catalog_option
def command(
    paths: tuple[Path, ...],
    fmt: str,
    strict: bool,
    ignore: tuple[str, ...],
    org_path: Path | None,
    quiet: bool,
    catalog,
) -> None:
    """Report compile errors and warnings (duplicate, shadowed or dead rules, …).

    Exit 1 when there is an error, or with --strict any warning; 0 otherwise. `-` reads the
    rules from stdin (named `-` in diagnostics). A warning is silenced on its line by a
    comment `# ramguard: ignore[W0201]`, everywhere by `--ignore W0201` or the configuration's
    `ignore = ["W0201"]`; errors cannot be silenced. An org.toml beside the rules (or
    --org) is checked too: its errors, and allow-list lockouts (W0305, W0306).

    \b
    Examples:
      ramguard check policies
      ramguard check policies --format sarif > ramguard.sarif   # GitHub code scanning
      ramguard check - < policies/leaked-accesskey-protection.rules
    """
    result: CheckResult
    if any(str(p) == "-" for p in paths):
        if len(paths) > 1:
            raise click.UsageError("`-` (stdin) cannot be combined with other paths")
        try:
            text = read_stdin_rules()
        except CompileError as exc:
            # Too big, not UTF-8, a hidden character: shown as a file's would be (its code,
            # --format json/sarif), not by the catch-all that prints text only.
            result = CheckResult(tuple(exc.diagnostics), ("-",))
        else:
            result = check_sources([("-", text)], catalog, ignore)
    else:
        result = check_paths(paths, catalog, ignore, find_org_for(paths, org_path))
    extra = config_warnings()
    if extra:
        merged = sorted_capped(
            [*extra, *result.diagnostics], cap=len(extra) + len(result.diagnostics)
        )
        result = CheckResult(tuple(merged), result.files)
    if fmt == "json":
        click.echo(json.dumps([d.to_dict() for d in result.diagnostics], indent=2))
    elif fmt == "sarif":
        click.echo(json.dumps(to_sarif(result.diagnostics, Path.cwd()), indent=2))
    else:
        for d in result.diagnostics:
            if quiet and d.severity != "error":
                continue
            echo(rendered(d, show_code=True), err=True)
        if not quiet:
            click.echo(result.summary())
    sys.exit(result.exit_code(strict))
