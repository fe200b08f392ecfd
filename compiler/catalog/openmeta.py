"""Reading Alibaba Cloud's OpenAPI metadata (OpenMeta) in its own layout.

OpenMeta publishes ``products.json`` (every product with its API versions) and, per product
and version, ``api-docs.json`` (operations with their system tags and RAM actions, endpoints,
error codes, and for a few products a ``ram`` block). The same layout is served at
``https://api.alibabacloud.com/meta/v1`` (as ``products/{code}/versions/{version}/api-docs.json``)
and mirrored as folders (``{code}/{version}/api-docs.json``, the code lowercased), so one reader
takes a directory or a base URL. Only the fields a RAM catalog needs are kept; everything is
plain data (``ProductDoc``), decided on by ``merge``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LIVE_BASE_URL = "https://api.alibabacloud.com/meta/v1"


class OpenMetaError(Exception):
    """A file of the snapshot is missing or not what OpenMeta writes; names the file."""


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    deprecated: bool = False
    operation_type: str | None = None
    risk_type: str | None = None
    charge_type: str | None = None
    ram_actions: tuple[str, ...] = ()
    arn_templates: tuple[str, ...] = ()
    condition_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductDoc:
    """One product-version's ``api-docs.json``, trimmed."""

    product: str
    version: str
    operations: tuple[Operation, ...]
    endpoints: tuple[tuple[str, str], ...]
    """(regionId, host) pairs."""
    error_codes: tuple[tuple[str, str], ...]
    """(code, message) pairs."""
    ram_codes: tuple[str, ...] = ()
    condition_keys: dict[str, str] = field(default_factory=dict)
    """Service condition key → its schema type (``String``, ``Boolean``, …)."""


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    short_name: str | None
    versions: tuple[str, ...]
    docs: tuple[ProductDoc, ...]
    missing: tuple[str, ...]
    """Versions products.json lists whose api-docs.json the source does not have."""


class _Source:
    """A directory or a base URL, read the same way."""

    def __init__(self, where: str | Path):
        text = str(where)
        self.url = text.rstrip("/") if text.startswith(("http://", "https://")) else None
        self.root = None if self.url else Path(text)

    def describe(self, *parts: str) -> str:
        if self.url:
            return "/".join([self.url, *parts])
        return str(self.root.joinpath(*parts))

    def products(self) -> list:
        return self._json(("products.json",))

    def api_docs(self, code: str, version: str) -> dict | None:
        if self.url:
            parts = ("products", code, "versions", version, "api-docs.json")
        else:
            parts = (code.lower(), version, "api-docs.json")
        return self._json(parts, optional=True)

    def _json(self, parts: tuple[str, ...], optional: bool = False):
        where = self.describe(*parts)
        try:
            if self.url:
                with urllib.request.urlopen(where, timeout=60) as response:
                    data = response.read()
            else:
                data = self.root.joinpath(*parts).read_bytes()
        except FileNotFoundError:
            if optional:
                return None
            raise OpenMetaError(f"{where}: error: no such file") from None
        except OSError as exc:
            if optional and getattr(exc, "code", None) == 404:
                return None
            raise OpenMetaError(f"{where}: error: cannot read: {exc}") from None
        try:
            return json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            line = getattr(exc, "lineno", 1)
            col = getattr(exc, "colno", 1)
            raise OpenMetaError(f"{where}:{line}:{col}: error: not JSON: {exc}") from None


def _strings(items, key: str) -> tuple[str, ...]:
    return tuple(
        sorted({i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str)})
    )


def _operation(name: str, raw: dict) -> Operation:
    tags = raw.get("systemTags") or {}
    actions: set[str] = set()
    arns: set[str] = set()
    keys: set[str] = set()
    for entry in raw.get("ramActions") or ():
        ram = (entry or {}).get("ramAction") or {}
        if isinstance(ram.get("action"), str) and ":" in ram["action"]:
            actions.add(ram["action"])
        arns.update(_strings(ram.get("resources") or (), "arn"))
        keys.update(_strings(ram.get("actionConditions") or (), "conditionKey"))
    return Operation(
        name=name,
        deprecated=bool(raw.get("deprecated")),
        operation_type=tags.get("operationType"),
        risk_type=tags.get("riskType"),
        charge_type=tags.get("chargeType"),
        ram_actions=tuple(sorted(actions)),
        arn_templates=tuple(sorted(arns)),
        condition_keys=tuple(sorted(keys)),
    )


def _doc(code: str, version: str, raw: dict, where: str) -> ProductDoc:
    apis = raw.get("apis")
    if not isinstance(apis, dict):
        raise OpenMetaError(f"{where}: error: no `apis` object")
    ram = raw.get("ram") or {}
    cond_keys = {}
    for cond in ram.get("ramConditions") or ():
        if isinstance(cond, dict) and isinstance(cond.get("name"), str):
            cond_keys[cond["name"]] = str((cond.get("schema") or {}).get("type") or "String")
    return ProductDoc(
        product=code,
        version=version,
        operations=tuple(_operation(n, a or {}) for n, a in sorted(apis.items())),
        endpoints=tuple(
            sorted(
                # strip(): a few of OpenMeta's hosts end in a tab (fcv3.cn-hangzhou…\t).
                (str(e.get("regionId") or ""), e["endpoint"].strip())
                for e in raw.get("endpoints") or ()
                if isinstance(e, dict)
                and isinstance(e.get("endpoint"), str)
                and e["endpoint"].strip()
            )
        ),
        error_codes=tuple(
            sorted(
                (str(e["code"]), str(e.get("message") or ""))
                for e in raw.get("errorCodes") or ()
                if isinstance(e, dict) and isinstance(e.get("code"), str)
            )
        ),
        ram_codes=tuple(c for c in ram.get("ramCodes") or () if isinstance(c, str)),
        condition_keys=cond_keys,
    )


def read_openmeta(where: str | Path) -> Iterator[Product]:
    """Every product of an OpenMeta snapshot (directory) or service (base URL), in code order."""
    source = _Source(where)
    listing = source.products()
    if not isinstance(listing, list):
        raise OpenMetaError(f"{source.describe('products.json')}: error: expected a JSON array")
    for raw in sorted(listing, key=lambda p: str(p.get("code", "")).lower()):
        code = raw.get("code")
        if not isinstance(code, str) or not code:
            continue
        versions = tuple(v for v in raw.get("versions") or () if isinstance(v, str))
        docs, missing = [], []
        for version in versions:
            data = source.api_docs(code, version)
            if data is None:
                missing.append(version)
                continue
            docs.append(_doc(code, version, data, source.describe(code.lower(), version)))
        yield Product(
            code=code,
            name=str(raw.get("name") or code),
            short_name=raw.get("shortName") if isinstance(raw.get("shortName"), str) else None,
            versions=versions,
            docs=tuple(docs),
            missing=tuple(missing),
        )
