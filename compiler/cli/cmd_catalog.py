"""``ramguard catalog``: inspect the service catalog, compare two, or rebuild it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.catalog import Catalog, Service, default_catalog, load_catalog
from compiler.cli.common import (
    FILE,
    catalog_option,
    fail,
    fail_at,
    output_file,
    quiet_option,
    text_or_json_option,
)
from compiler.language.diagnostics import counted, shorten


@click.group("catalog")
def command() -> None:
    """The service catalog: services, RAM codes, API operations, risk tags."""


def _summary(s: Service) -> dict:
    return {
        "service": s.name,
        "title": s.title,
        "ram_codes": list(s.ram_codes),
        "provenance": s.ram_code_provenance.get(s.ram_codes[0]) if s.ram_codes else None,
        "shared_ram_codes": list(s.shared_ram_codes),
        "operations": len(s.operations()),
        "high_risk": len(s.high_risk_operations()),
        "versions": {v: len(ops) for v, ops in sorted(s.versions.items())},
    }


@command.command("list")
@text_or_json_option
@quiet_option
@catalog_option
def list_services(fmt: str, quiet: bool, catalog: Catalog | None) -> None:
    """List every service with its RAM code, provenance and operation counts."""
    rows = [_summary(s) for s in (catalog or default_catalog()).services]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        codes = ",".join(r["ram_codes"] + [c + "(shared)" for c in r["shared_ram_codes"]])
        click.echo(
            f"{r['service']:<24} {codes:<18} {r['provenance'] or '-':<9} "
            f"{r['operations']:>5} ops {r['high_risk']:>3} high-risk  {r['title']}"
        )
    total = sum(r["operations"] for r in rows)
    if not quiet:
        click.echo(
            f"{counted(len(rows), 'service', grouped=False)}, "
            f"{counted(total, 'operation', grouped=False)}",
            err=True,
        )


@command.command("show")
@click.argument("service")
@text_or_json_option
@catalog_option
def show(service: str, fmt: str, catalog: Catalog | None) -> None:
    """One service: names, RAM codes with their source, endpoints, keys, operations."""
    catalog = catalog or default_catalog()
    svc = catalog.service(service)
    if svc is None:
        close = catalog.suggest_service(service)
        hint = f"; did you mean {close}?" if close else ""
        # Named as every message names user text: cut, and escaped by ``fail``'s echo.
        fail(f"unknown service `{shorten(service)}`{hint}")
    # The hosts a replay attributes an event's eventSource to this service by: the global
    # ones (`vpc.aliyuncs.com`) appear in no endpoint list, so only this shows why.
    hosts, patterns = catalog.hosts_for(svc)
    data = _summary(svc) | {
        "aliases": list(svc.aliases),
        "related_ram_codes": list(svc.related_ram_codes),
        "ram_code_source": svc.ram_code_source,
        "endpoints": list(svc.endpoints),
        "event_hosts": {"hosts": list(hosts), "patterns": list(patterns)},
        "actiontrail_service_names": list(svc.trail_names),
        "condition_keys": svc.condition_keys,
        "denied_error_codes": sorted(catalog.denied_error_codes(svc)),
        "denied_error_code_provenance": {
            c: catalog.denied_code_provenance(c, svc)
            for c in sorted(catalog.denied_error_codes(svc))
        },
        "operation_list": [
            {"name": op, **(svc.operation_meta.get(op) or {})} for op in sorted(svc.operations())
        ],
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"{svc.name} — {svc.title}")
    for key in ("aliases", "ram_codes", "related_ram_codes", "shared_ram_codes", "endpoints"):
        click.echo(f"  {key}: {', '.join(data[key]) or '-'}")
    shown = ", ".join((*hosts, *patterns)) or "-"
    click.echo(f"  event hosts (an ActionTrail eventSource mapped to {svc.name}): {shown}")
    click.echo(f"  ram code provenance: {data['provenance']} ({svc.ram_code_source})")
    click.echo(f"  condition keys: {', '.join(svc.condition_keys) or '-'}")
    guessed = catalog.guessed_denied_error_codes(svc)
    codes = [c + (" (inferred)" if c in guessed else "") for c in data["denied_error_codes"]]
    click.echo(f"  permission-denied error codes: {', '.join(codes)}")
    if guessed:
        # As W0202 does for RAM codes: a guess is shown as one where a user relies on it.
        click.echo(
            "    (inferred: no documentation or OpenMeta entry names the code for this "
            "service; a replay counting a recorded deny by it alone says so)"
        )
    for op in data["operation_list"]:
        tags = " ".join(f"{k}={op[k]}" for k in ("risk", "type") if op.get(k))
        click.echo(f"  {op['name']}  {tags}".rstrip())


@command.command("search")
@click.argument("text")
@text_or_json_option
@quiet_option
@catalog_option
def search(text: str, fmt: str, quiet: bool, catalog: Catalog | None) -> None:
    """Services and operations whose name contains TEXT (case-insensitive), with risk tags."""
    needle = text.lower()
    hits = []
    for svc in (catalog or default_catalog()).services:
        if needle in svc.name.lower() or needle in svc.title.lower():
            hits.append({"service": svc.name, "operation": None, "risk": None})
        for op in sorted(svc.operations()):
            if needle in op.lower():
                hits.append({"service": svc.name, "operation": op, "risk": svc.risk(op)})
    if fmt == "json":
        click.echo(json.dumps(hits, indent=2))
        return
    for h in hits:
        where = h["service"] + (f" {h['operation']}" if h["operation"] else "")
        click.echo(where + (f"  risk={h['risk']}" if h["risk"] else ""))
    if not quiet:
        click.echo(counted(len(hits), "match", "matches", grouped=False), err=True)


def _read(path: Path) -> Catalog:
    try:
        catalog = load_catalog(path.read_bytes())
        # Services decode lazily; a diff reads them all, so a broken one is found here.
        for svc in catalog.services:
            svc.operation_meta  # noqa: B018
        return catalog
    except OSError as exc:
        fail_at(str(path), (exc.strerror or str(exc)).lower())
    except ValueError as exc:  # msgspec.DecodeError and friends
        fail_at(str(path), f"not a catalog.json: {exc}")


@command.command("diff")
@click.argument("old", type=FILE)
@click.argument("new", type=FILE)
@text_or_json_option
def diff(old: Path, new: Path, fmt: str) -> None:
    """Operations added and removed between two catalog.json files, and newly high-risk ones."""
    a, b = _read(old), _read(new)

    def ops(c: Catalog) -> dict[tuple[str, str], str | None]:
        return {(s.name, op): s.risk(op) for s in c.services for op in s.operations()}

    before, after = ops(a), ops(b)
    result = {
        "added": sorted(f"{s} {o}" for s, o in after.keys() - before.keys()),
        "removed": sorted(f"{s} {o}" for s, o in before.keys() - after.keys()),
        "newly_high_risk": sorted(
            f"{s} {o}"
            for (s, o), risk in after.items()
            if risk == "high" and before.get((s, o)) != "high"
        ),
    }
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    for key, mark in (("added", "+"), ("removed", "-"), ("newly_high_risk", "!")):
        for item in result[key]:
            click.echo(f"{mark} {item}")
    click.echo(
        f"{len(result['added'])} added, {len(result['removed'])} removed, "
        f"{len(result['newly_high_risk'])} newly high-risk",
        err=True,
    )


@command.command("build")
@click.option(
    "--openmeta",
    "openmeta",
    default=None,
    metavar="DIR_OR_URL",
    help="OpenMeta snapshot directory or base URL (https://api.alibabacloud.com/meta/v1).",
)
@click.option("--sdk", is_flag=True, help="First regenerate sdk.json from the SDKs (needs PyPI).")
@click.option(
    "--out",
    type=output_file("stdout carries the build's summary; give catalog.json a file name"),
    default=None,
    help="Where to write catalog.json (default: the packaged catalog).",
)
def build(openmeta: str | None, sdk: bool, out: Path | None) -> None:
    """Regenerate catalog.json from OpenMeta, sdk.json and the reviewed tables."""
    from compiler.catalog.build import CatalogBuildError, build_catalog
    from compiler.catalog.merge import build_from_openmeta
    from compiler.catalog.openmeta import OpenMetaError

    if not openmeta and not sdk:
        raise click.UsageError("give --openmeta DIR_OR_URL (and/or --sdk)")
    try:
        if sdk:
            click.echo(json.dumps(build_catalog(), indent=2, default=str), err=True)
        if openmeta:
            click.echo(json.dumps(build_from_openmeta(openmeta, out), indent=2))
    except (CatalogBuildError, OpenMetaError) as exc:
        raise click.ClickException(str(exc)) from None
