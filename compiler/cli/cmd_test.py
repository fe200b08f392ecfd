"""``ramguard test``: run ``*.tests`` expectations against the trie and the emitted JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from compiler.cli.common import (
    catalog_option,
    echo,
    fail_at,
    output_file,
    print_diagnostics,
    printable,
    quiet_option,
    refuse_clashes,
    text_or_json_option,
)
from compiler.files import atomic_write
from compiler.language.diagnostics import Severity, sorted_capped
from compiler.testing.runner import failure_details, read_by, run_tests, to_junit


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@text_or_json_option
@click.option(
    "--junit",
    "junit",
    type=output_file(
        "stdout carries the results (--format json for JSON); give the JUnit report a file name"
    ),
    help="Also write a JUnit XML report to FILE.",
)
@quiet_option
@catalog_option
def command(paths: tuple[Path, ...], fmt: str, junit: Path | None, quiet: bool, catalog) -> None:
    """Check the expectations in *.tests files (default: under `policies`).

    A tests file tests all *.rules files in its own directory, compiled together. Every
    expectation is decided by the trie and by the RAM evaluator reading the emitted JSON; it
    fails when either decision differs from the expectation or the two engines disagree.
    The last line of text output is `N passed, M failed`.

    \b
    Lines of a tests file:
      expect deny ECS RunInstances
      expect deny ram:CreateSAMLProvider
      expect allow ecs:RunCommand when source_ip = 10.1.2.3 and mfa = true

    \b
    Examples:
      ramguard test
      ramguard test policies --junit build/policy-tests.xml
    """
    paths = paths or (Path("policies"),)
    if junit is not None:
        ctx = click.get_current_context()
        overlays = ctx.meta.get("ramguard.catalog_paths", ())
        inputs = [*(("PATH", p) for p in read_by(paths)), *(("--catalog", p) for p in overlays)]
        refuse_clashes([("--junit", junit)], inputs)
    run = run_tests(paths, catalog=catalog)
    diagnostics = sorted_capped(run.all_diagnostics)
    print_diagnostics(diagnostics)
    if fmt == "json":
        click.echo(json.dumps(run.to_dict(), ensure_ascii=False, indent=2))
    else:
        for suite in run.suites:
            for result in suite.results:
                if result.passed:
                    continue
                exp = result.expectation
                echo(f"{printable(str(exp.span))}: FAILED: {exp.text}")
                for line in failure_details(result).splitlines():
                    click.echo(f"  {line}")
                click.echo()
        if not quiet:
            click.echo(run.summary)
    if junit is not None:
        try:
            atomic_write(junit, to_junit(run))
        except OSError as exc:
            why = (exc.strerror or str(exc)).lower()
            fail_at(str(junit), f"cannot write JUnit report: {why}")
    errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
    if errors:
        click.echo(f"ramguard: {errors} error{'s' if errors != 1 else ''}", err=True)
    sys.exit(0 if run.ok else 1)
