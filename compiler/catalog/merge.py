"""The whole catalog: OpenMeta's products merged with the SDK-derived services and the tables.

Inputs, merged in a fixed order so the output is byte-for-byte deterministic:

1. ``sdk.json`` — the seed's nine services as ``build`` derives them from the pinned SDK
   releases plus ``supplement.toml`` (names, RAM codes, endpoints and operations the seed
   policy was written against; RDS 2014-08-15 is only here, the snapshot lacks it). These keep
   their names and RAM codes, so the seed compiles to the same JSON; OpenMeta adds operations,
   versions and metadata to them.
2. OpenMeta (``openmeta.read_openmeta``) — every other product, named by its OpenMeta code.
3. ``ramcodes.toml`` — the reviewed RAM code of each product with its provenance and source;
   where it has none, OpenMeta's ``ram`` block or ``ramActions`` prefixes, else the lowercase
   product code marked ``inferred``.
4. ``denied.toml`` — error codes that mean permission denied.

Aliases are kept only where they name one service: an alias two products claim, or one that
is another service's name, would make a rule's meaning depend on dict order.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from compiler.catalog import SERVICES_MARK
from compiler.catalog.openmeta import Product, read_openmeta
from compiler.files import atomic_write

HERE = Path(__file__).resolve().parent
SDK_FILE = HERE / "sdk.json"
RAMCODES_FILE = HERE / "ramcodes.toml"
DENIED_FILE = HERE / "denied.toml"
FORMAT = 3
"""3: the index locates each service's bytes (``dumps_catalog``); 2 had no ``at``."""

# OpenMeta product code (lowercase) → the SDK-derived service it is; the nine seed services
# carry their own names (`SMS` for Dysmsapi), so the link is stated, not guessed.
SDK_PRODUCTS = {
    "ecs": "ECS",
    "ram": "RAM",
    "ims": "IMS",
    "eci": "ECI",
    "dysmsapi": "SMS",
    "ecd": "ECD",
    "pts": "PTS",
    "dbs": "DBS",
    "rds": "RDS",
}
_TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*\Z")


def load_toml(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _host_pattern(region: str, host: str) -> str:
    """``oss-cn-hangzhou.aliyuncs.com`` in cn-hangzhou → ``oss-{region}.aliyuncs.com``."""
    host = host.lower()
    if region and region.lower() in host:
        return host.replace(region.lower(), "{region}", 1)
    return host


def _ram_code(product: Product, table: dict) -> tuple[list[str], str, str]:
    """(codes, provenance, source) for a product without an SDK entry."""
    entry = table.get(product.code.lower())
    if entry:
        return list(entry["ram_codes"]), entry["provenance"], entry.get("source", "")
    declared = [c for d in product.docs for c in d.ram_codes]
    if declared:
        return sorted(set(declared)), "openmeta", "OpenMeta ram.ramCodes"
    prefixes = Counter(
        a.partition(":")[0] for d in product.docs for op in d.operations for a in op.ram_actions
    )
    if prefixes:
        return [prefixes.most_common(1)[0][0]], "openmeta", "OpenMeta ramActions"
    return [product.code.lower()], "inferred", "the lowercase OpenMeta product code"


def _operations(product: Product) -> tuple[dict[str, set[str]], dict[str, dict]]:
    versions: dict[str, set[str]] = {}
    meta: dict[str, dict] = {}
    for doc in product.docs:
        versions.setdefault(doc.version, set()).update(op.name for op in doc.operations)
        for op in doc.operations:
            entry = meta.setdefault(op.name, {})
            # Later versions overwrite earlier ones: products list versions oldest first.
            for key, value in (
                ("risk", op.risk_type),
                ("charge", op.charge_type),
                ("type", op.operation_type),
            ):
                if value:
                    entry[key] = value
            if op.deprecated:
                entry["deprecated"] = True
            for key, values in (
                ("actions", op.ram_actions),
                ("arns", op.arn_templates),
                ("keys", op.condition_keys),
            ):
                if values:
                    entry[key] = sorted(set(entry.get(key, [])) | set(values))
    return versions, {k: v for k, v in meta.items() if v}


def _common(product: Product) -> dict:
    endpoints = sorted({_host_pattern(r, h) for d in product.docs for r, h in d.endpoints})
    keys: dict[str, str] = {}
    for doc in product.docs:
        keys.update(doc.condition_keys)
    return {"endpoints": endpoints, "condition_keys": dict(sorted(keys.items()))}


def merge(
    sdk: dict, products: Iterable[Product], ramcodes: dict, denied: dict
) -> tuple[dict, list[str]]:
    """The catalog document and notes on what was filled in or left out."""
    notes: list[str] = []
    services: dict[str, dict] = {}
    aliases: dict[str, list[str]] = {}
    per_product_denied = {k.lower(): v for k, v in denied.get("products", {}).items()}
    sources = denied.get("sources", {})
    product_sources = {k.lower(): v for k, v in sources.get("products", {}).items()}
    for name, raw in sdk["services"].items():
        entry = dict(raw)
        entry["ram_code_provenance"] = {c: "override" for c in raw["ram_codes"]}
        entry["ram_code_source"] = "shared/reference/ram-policy-facts.md (RAM codes table)"
        entry.setdefault("related_ram_codes", [])
        entry.setdefault("operations", {})
        entry.setdefault("condition_keys", {})
        entry["denied_error_codes"] = []
        entry["denied_code_provenance"] = {}
        entry["openmeta_product"] = None
        services[name] = entry
        aliases[name] = list(raw.get("aliases", []))
    for product in products:
        low = product.code.lower()
        if product.missing:
            notes.append(f"{product.code}: no api-docs.json for {', '.join(product.missing)}")
        if not product.docs:
            continue
        versions, meta = _operations(product)
        common = _common(product)
        table = ramcodes.get(low, {})
        wanted = [product.code.lower()]
        if product.short_name and _TOKEN.match(product.short_name):
            wanted.append(product.short_name)
        wanted += [a for a in table.get("aliases", []) if _TOKEN.match(a)]
        sdk_name = SDK_PRODUCTS.get(low)
        if sdk_name in services:
            entry = services[sdk_name]
            merged = {v: set(ops) for v, ops in entry["versions"].items()}
            for v, ops in versions.items():
                merged.setdefault(v, set()).update(ops)
            entry["versions"] = {v: sorted(ops) for v, ops in sorted(merged.items())}
            entry["operations"] = meta
            entry["condition_keys"] = common["condition_keys"]
            entry["endpoints"] = sorted(set(entry["endpoints"]) | set(common["endpoints"]))
            entry["openmeta_product"] = product.code
            entry["related_ram_codes"] = [
                c for c in table.get("ram_codes", []) if c not in entry["ram_codes"]
            ] + []
            entry["denied_error_codes"] = list(per_product_denied.get(low, []))
            entry["denied_code_provenance"] = _denied_provenance(
                product, per_product_denied.get(low, []), product_sources.get(low, {})
            )
            aliases[sdk_name] += wanted
            continue
        codes, provenance, source = _ram_code(product, ramcodes)
        services[product.code] = {
            "title": table.get("name") or product.name,
            "ram_codes": codes[:1],
            "related_ram_codes": codes[1:],
            "shared_ram_codes": [],
            "ram_code_provenance": {codes[0]: provenance},
            "ram_code_source": source,
            "endpoints": common["endpoints"],
            "actiontrail_service_names": [product.code],
            "versions": {v: sorted(ops) for v, ops in sorted(versions.items())},
            "supplement": {},
            "operations": meta,
            "condition_keys": common["condition_keys"],
            "denied_error_codes": list(per_product_denied.get(low, [])),
            "denied_code_provenance": _denied_provenance(
                product, per_product_denied.get(low, []), product_sources.get(low, {})
            ),
            "openmeta_product": product.code,
        }
        aliases[product.code] = [*wanted, codes[0]]
    _settle_aliases(services, aliases, notes)
    notes = sorted(set(notes))
    doc = {
        "format": FORMAT,
        "sources": sdk.get("sources", []),
        "denied_error_codes": list(denied.get("common", [])),
        "denied_error_code_provenance": {
            c: "documented" if c in sources.get("common", {}) else "inferred"
            for c in sorted(denied.get("common", []))
        },
        "services": dict(sorted(services.items())),
    }
    return doc, notes


def _denied_provenance(product: Product, codes: Iterable[str], documented: dict) -> dict:
    """Code → ``openmeta`` (the product's ``errorCodes`` list it), ``documented`` (a page in
    ``denied.toml``'s sources) or ``inferred`` (neither: a reviewer's guess)."""
    listed = {c for doc in product.docs for c, _message in doc.error_codes}
    return {
        c: "openmeta" if c in listed else "documented" if c in documented else "inferred"
        for c in sorted(codes)
    }


def _settle_aliases(services: dict[str, dict], wanted: dict[str, list[str]], notes) -> None:
    names = {n.lower(): n for n in services}
    claims: dict[str, set[str]] = {}
    for svc, items in wanted.items():
        for alias in items:
            claims.setdefault(alias.lower(), set()).add(svc)
    for svc, items in wanted.items():
        kept: list[str] = []
        for alias in items:
            low = alias.lower()
            if low in names:
                continue  # a service's name (its own, or another's) is never an alias
            if len(claims[low]) > 1:
                notes.append(f"alias `{alias}` is claimed by {', '.join(sorted(claims[low]))}")
                continue
            if low != svc.lower() and low not in (k.lower() for k in kept):
                kept.append(low)
        services[svc]["aliases"] = sorted(set(kept))


def dumps_catalog(doc: dict) -> bytes:
    """``catalog.json``: a small index first (every service's names, codes, hosts, and where
    its line starts), then one service per line, so a rebuild's diff reads service by service.

    The file stays one JSON document (``json.loads`` and older tools read it whole), but a
    loader need not parse it whole: ``"at": [offset, length]`` locates each service's object
    in the bytes after the ``"services":{`` line (``SERVICES_MARK``), so a compile decodes the
    index and the services it names, not the 2 MB of the cloud (issue 9 item 7). Offsets count
    from that line, not from the file's start, so the index's own length cannot move them.
    Built from encoded values only; sorted keys; the same document gives the same bytes."""

    def enc(value) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    items = sorted(doc["services"].items())
    lines: list[str] = []
    at: dict[str, list[int]] = {}
    offset = 0
    for i, (name, svc) in enumerate(items):
        key, body = enc(name), enc(svc)
        at[name] = [offset + len(key) + 1, len(body)]
        line = f"{key}:{body}" + ("," if i < len(items) - 1 else "") + "\n"
        lines.append(line)
        offset += len(line)  # ASCII only (ensure_ascii): characters are bytes
    index = {
        name: {
            "aliases": svc.get("aliases", []),
            "at": at[name],
            "ram_codes": svc["ram_codes"],
            "endpoints": svc.get("endpoints", []),
            "trail_names": svc.get("actiontrail_service_names", []),
        }
        for name, svc in items
    }
    head = [
        "{",
        f'"format":{enc(doc["format"])},',
        f'"denied_error_codes":{enc(doc.get("denied_error_codes", []))},',
        f'"denied_error_code_provenance":{enc(doc.get("denied_error_code_provenance", {}))},',
        f'"sources":{enc(doc.get("sources", []))},',
        f'"index":{enc(index)},',
    ]
    text = "\n".join(head) + SERVICES_MARK.decode("ascii") + "".join(lines) + "}}\n"
    return text.encode("ascii")


def build_from_openmeta(source: str | Path, out: Path | None = None) -> dict:
    """Read OpenMeta at ``source`` (directory or base URL), merge, write ``out`` atomically
    (default: the packaged ``catalog.json``), and return a summary."""
    out = HERE / "catalog.json" if out is None else Path(out)
    products = list(read_openmeta(source))
    sdk = json.loads(SDK_FILE.read_text(encoding="utf-8"))
    doc, notes = merge(sdk, products, load_toml(RAMCODES_FILE), load_toml(DENIED_FILE))
    data = dumps_catalog(doc)
    atomic_write(out, data)
    services = doc["services"]
    provenance = Counter(
        s["ram_code_provenance"].get(s["ram_codes"][0], "inferred") for s in services.values()
    )
    return {
        "out": str(out),
        "bytes": len(data),
        "services": len(services),
        "operations": sum(
            len(set().union(*map(set, s["versions"].values()))) for s in services.values()
        ),
        "ram_code_provenance": dict(sorted(provenance.items())),
        "high_risk_operations": sum(
            1
            for s in services.values()
            for m in s["operations"].values()
            if m.get("risk") == "high"
        ),
        "notes": sorted(set(notes)),
    }
