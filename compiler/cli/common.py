"""What every verb shares: printing diagnostics and the exit that follows."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import NoReturn

import click

from ..language.diagnostics import Diagnostic, Severity, sorted_capped


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for d in sorted_capped(diagnostics):
        click.echo(d.render(), err=True)


def fail_with_diagnostics(diagnostics: Iterable[Diagnostic]) -> NoReturn:
    diags = list(diagnostics)
    print_diagnostics(diags)
    errors = sum(1 for d in diags if d.severity is Severity.ERROR)
    if errors > 1:
        click.echo(f"ramguard: {errors} errors", err=True)
    sys.exit(1)


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"ramguard: error: {message}", err=True)
    sys.exit(code)
