"""``ramguard catalog``: inspect the service catalog, or rebuild it from the SDKs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.catalog import default_catalog


@click.group("catalog")
def command() -> None:
    """The service catalog: services, RAM codes, API operations."""


@command.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def list_services(fmt: str) -> None:
    """List catalog services with their RAM codes and operation counts."""
    catalog = default_catalog()
    rows = [
        {
            "service": s.name,
            "title": s.title,
            "ram_codes": list(s.ram_codes),
            "shared_ram_codes": list(s.shared_ram_codes),
            "versions": {v: len(ops) for v, ops in sorted(s.versions.items())},
        }
        for s in catalog.services
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        codes = ",".join(r["ram_codes"] + [c + "(shared)" for c in r["shared_ram_codes"]])
        versions = ", ".join(f"{v}: {n} ops" for v, n in r["versions"].items())
        click.echo(f"{r['service']:<5} {codes:<16} {versions}  — {r['title']}")


@command.command("build")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write catalog.json (default: the packaged catalog).",
)
def build(out: Path | None) -> None:
    """Regenerate catalog.json from the official SDK packages (needs PyPI access)."""
    from compiler.catalog.build import CatalogBuildError, build_catalog

    try:
        summary = build_catalog(out)
    except CatalogBuildError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(summary, indent=2, default=str))
