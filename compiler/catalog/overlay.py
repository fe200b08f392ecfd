"""A user's catalog overlay: services, operations, RAM codes and ARN templates a team needs,
without editing the installed package (issue 9 item 5).

An overlay is a TOML file (or JSON, by a ``.json`` name) holding one table, ``services``::

    [services.Foo]                   # a new service, or an existing one by name or alias
    title = "Foo Service"
    ram_codes = ["foo"]              # replaces the service's codes (provenance: override)
    aliases = ["foosvc"]             # added, as are endpoints and trail names
    endpoints = ["foo.{region}.aliyuncs.com"]
    actiontrail_service_names = ["Foo"]
    version = "2024-01-01"           # where `operations` go (default: the newest version)
    operations = ["CreateBar", "DeleteBar"]
    condition_keys = { "foo:Env" = "String" }

    [services.Foo.operation.DeleteBar]   # facts of one operation (added if it is new)
    risk = "high"
    arns = ["acs:foo:{#regionId}:{#accountId}:bar/{#BarId}"]
    actions = ["foo:DeleteBar"]

Everything is validated before anything is applied, every problem of every overlay file in
one run (the catalog-level E0611 with the file's own); a problem is a ``CompileError`` naming
``FILE:LINE:COL`` (the line of the offending key, found in the text: TOML and JSON parsers do
not report where a value sat). ``apply`` turns the checked overlay into per-service patches on
the raw catalog data, so the merged service is built by the same code as a packaged one.

Over 400 lines: every overlay key's check sits next to the error it gives, with the
FILE:LINE:COL lookup they all use.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from compiler.language.diagnostics import CompileError, Diagnostic, Span, error, shorten

MAX_OVERLAY_BYTES = 16 * 1024 * 1024
_SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_OPERATION = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
_CODE = re.compile(r"[a-z0-9][a-z0-9\-]{0,63}")
_ALIAS = re.compile(r"[a-z][a-z0-9_\-]{0,63}")
_HOST = re.compile(r"[a-z0-9{}][a-z0-9.\-{}]{0,252}")
_ACTION = re.compile(r"[a-z0-9][a-z0-9\-]*:[A-Za-z0-9_*?]+")
_KEY = re.compile(r"[A-Za-z0-9\-]+:[A-Za-z0-9_.:/\-<>{}]+")
KEY_TYPES = ("String", "Boolean", "Numeric", "Date", "IPAddress")
RISKS = ("high", "none")
_SERVICE_FIELDS = (
    "actiontrail_service_names",
    "aliases",
    "condition_keys",
    "endpoints",
    "operation",
    "operations",
    "ram_codes",
    "title",
    "version",
)
_OPERATION_FIELDS = ("actions", "arns", "charge", "deprecated", "risk", "type")


@dataclass(frozen=True, slots=True)
class Overlay:
    """A checked overlay: service name as written → its table, and where it came from."""

    path: str
    services: dict[str, dict]
    text: str = ""
    written: tuple[str, ...] = ()
    """Every service table's name as written, checked or not."""
    uncoded: tuple[str, ...] = ()
    """Every service table without ``ram_codes``, as written, checked or not: whether one is
    new (and so needs codes, E0611) is known only against a catalog, and that check runs in
    the same pass as the file's own (``compiler.catalog.with_overlays``)."""

    def span(self, *keys: str) -> Span:
        return _Locator(self.path, self.text).span(*keys)


class _Locator:
    """Line and column of a key in the overlay's text, found by searching the text in order
    (``services`` → ``Foo`` → ``operation`` → ``DeleteBar`` → ``risk``): good enough to put
    the caret on the key, which no TOML or JSON parser reports."""

    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text

    def span(self, *keys: str) -> Span:
        pos, found = 0, 0
        for key in keys:
            hit = self._find(key, pos)
            if hit < 0:
                break
            pos = found = hit
        line = self.text.count("\n", 0, found) + 1
        col = found - (self.text.rfind("\n", 0, found) + 1) + 1
        end = col + (len(keys[-1]) if keys and self._find(keys[-1], found) == found else 1)
        return Span(self.path, line, col, line, end)

    def _find(self, key: str, start: int) -> int:
        # A key is a whole word: `risk` in `risky` is not it.
        for m in re.finditer(re.escape(key), self.text[start:]):
            i = start + m.start()
            before = self.text[i - 1] if i else " "
            after = self.text[i + len(key)] if i + len(key) < len(self.text) else " "
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                return i
        return -1


def read_overlay(path: str | os.PathLike) -> Overlay:
    """Read and check one overlay file; raises ``CompileError`` naming every problem."""
    overlay, diags = check_overlay(path)
    if diags:
        raise CompileError(diags)
    return overlay


def check_overlay(path: str | os.PathLike) -> tuple[Overlay, list[Diagnostic]]:
    """Read one overlay file: the overlay of its valid service tables, and every problem
    found (each with the file's text, for its snippet). Raises ``CompileError`` only when the
    file cannot be read or parsed at all."""
    from compiler.language.sources import read_source

    name = str(path)
    text = read_source(Path(path), "catalog overlay", MAX_OVERLAY_BYTES, toml=True)
    data = _parse(name, text)
    where = _Locator(name, text)
    diags: list[Diagnostic] = []
    services = _check_document(data, where, diags)
    tables = data.get("services") if isinstance(data, dict) else None
    written = {
        n: t
        for n, t in (tables.items() if isinstance(tables, dict) else ())
        if isinstance(n, str) and isinstance(t, dict)
    }
    uncoded = tuple(n for n, t in written.items() if not _names_codes(t))
    overlay = Overlay(name, services, text, tuple(written), uncoded)
    return overlay, [_with_source(d, text) for d in diags]


def _names_codes(table: dict) -> bool:
    """Whether a service table gives ``ram_codes``, or a key E0601 already suggests it for
    (``ram_code``): one typo, one error."""
    from compiler.catalog import suggest

    return "ram_codes" in table or any(
        isinstance(k, str) and suggest(k, ("ram_codes",)) for k in table
    )


def _with_source(d: Diagnostic, text: str) -> Diagnostic:
    return Diagnostic(d.code, d.severity, d.message, d.span, d.help, text)


def _parse(name: str, text: str) -> object:
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            span = Span(name, exc.lineno, exc.colno, exc.lineno, exc.colno + 1)
            raise CompileError(
                [error("E0600", f"not valid JSON: {exc.msg.lower()}", span, source=text)]
            ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib puts the place in the message: "… (at line 3, column 7)".
        message = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        reason = message[: m.start()].strip() if m else message
        span = Span(name, line, col, line, col + 1)
        raise CompileError(
            [
                error(
                    "E0600",
                    f"not valid TOML: {reason[:1].lower() + reason[1:]}",
                    span,
                    help="a catalog overlay is TOML (or JSON, by a .json name)",
                    source=text,
                )
            ]
        ) from None


def _unknown_key(key: str, known: Iterable[str], span: Span) -> Diagnostic:
    from compiler.catalog import suggest

    close = suggest(key, known)
    hint = f"did you mean `{close}`? " if close else ""
    return error(
        "E0601", f"unknown key `{shorten(key)}`", span, help=hint + "keys: " + ", ".join(known)
    )


def _check_document(data: object, where: _Locator, diags: list[Diagnostic]) -> dict[str, dict]:
    if not isinstance(data, dict):
        diags.append(error("E0602", "an overlay is a table with `services`", where.span()))
        return {}
    for key in data:
        if key != "services":
            diags.append(_unknown_key(key, ("services",), where.span(key)))
    services = data.get("services", {})
    if not isinstance(services, dict):
        diags.append(error("E0602", "`services` is a table of services", where.span("services")))
        return {}
    out: dict[str, dict] = {}
    for name, table in services.items():
        at = ("services", name)
        if not isinstance(name, str) or not _SERVICE.fullmatch(name):
            diags.append(
                error(
                    "E0603",
                    f"`{shorten(str(name))}` is not a service name",
                    where.span(*at),
                    help="letters, digits, `_`, `.` and `-`, as in the catalog (`Oss`, `ECS`)",
                )
            )
            continue
        if not isinstance(table, dict):
            diags.append(error("E0602", f"service `{name}` is a table", where.span(*at)))
            continue
        before = len(diags)
        _check_service(name, table, where, diags)
        if len(diags) == before:
            out[name] = table
    return out


def _strings(
    table: dict, key: str, pattern: re.Pattern, what: str, at: tuple, where, diags
) -> None:
    value = table.get(key)
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        diags.append(error("E0604", f"`{key}` is a list of strings", where.span(*at, key)))
        return
    for v in value:
        if not pattern.fullmatch(v):
            diags.append(
                error(
                    "E0605",
                    f"`{shorten(v)}` is not {what}",
                    where.span(*at, key, v) if v else where.span(*at, key),
                    help=f"in `{key}`",
                )
            )


def _check_service(name: str, table: dict, where: _Locator, diags: list[Diagnostic]) -> None:
    at = ("services", name)
    for key in table:
        if key not in _SERVICE_FIELDS:
            diags.append(_unknown_key(key, _SERVICE_FIELDS, where.span(*at, key)))
    title = table.get("title")
    if title is not None and (not isinstance(title, str) or not title.isprintable()):
        diags.append(error("E0604", "`title` is one line of text", where.span(*at, "title")))
    _strings(table, "ram_codes", _CODE, "a RAM code (lowercase, e.g. `oss`)", at, where, diags)
    if table.get("ram_codes") == []:
        diags.append(
            error("E0606", "`ram_codes` is empty", where.span(*at, "ram_codes"), help="name one")
        )
    _strings(table, "aliases", _ALIAS, "an alias (a lowercase word)", at, where, diags)
    _strings(table, "endpoints", _HOST, "an endpoint host", at, where, diags)
    _strings(
        table, "actiontrail_service_names", _SERVICE, "an ActionTrail serviceName", at, where, diags
    )
    _strings(table, "operations", _OPERATION, "an API operation name", at, where, diags)
    version = table.get("version")
    if version is not None and not _is_date(version):
        diags.append(
            error(
                "E0607",
                f"`{shorten(str(version))}` is not an API version",
                where.span(*at, "version"),
                help="API versions are dates, e.g. 2014-05-26",
            )
        )
    keys = table.get("condition_keys")
    if keys is not None:
        if not isinstance(keys, dict):
            diags.append(
                error("E0604", "`condition_keys` is a table", where.span(*at, "condition_keys"))
            )
        else:
            for key, kind in keys.items():
                if not _KEY.fullmatch(key):
                    diags.append(
                        error(
                            "E0605",
                            f"`{shorten(key)}` is not a condition key",
                            where.span(*at, "condition_keys", key),
                            help="a service key is `code:Name`, e.g. `oss:Prefix`",
                        )
                    )
                elif kind not in KEY_TYPES:
                    diags.append(
                        error(
                            "E0608",
                            f"`{shorten(str(kind))}` is not a key type",
                            where.span(*at, "condition_keys", key),
                            help="types: " + ", ".join(KEY_TYPES),
                        )
                    )
    ops = table.get("operation")
    if ops is None:
        return
    if not isinstance(ops, dict):
        diags.append(error("E0604", "`operation` is a table", where.span(*at, "operation")))
        return
    for op, facts in ops.items():
        op_at = (*at, "operation", op)
        if not _OPERATION.fullmatch(op):
            diags.append(
                error("E0605", f"`{shorten(op)}` is not an API operation name", where.span(*op_at))
            )
            continue
        if not isinstance(facts, dict):
            diags.append(error("E0604", f"operation `{op}` is a table", where.span(*op_at)))
            continue
        _check_operation(facts, op_at, where, diags)


def _check_operation(facts: dict, at: tuple, where: _Locator, diags: list[Diagnostic]) -> None:
    for key in facts:
        if key not in _OPERATION_FIELDS:
            diags.append(_unknown_key(key, _OPERATION_FIELDS, where.span(*at, key)))
    risk = facts.get("risk")
    if risk is not None and risk not in RISKS:
        diags.append(
            error(
                "E0609",
                f"`{shorten(str(risk))}` is not a risk tag",
                where.span(*at, "risk"),
                help="OpenMeta's riskType: high or none",
            )
        )
    _strings(facts, "actions", _ACTION, "a RAM action (`code:Name`)", at, where, diags)
    arns = facts.get("arns")
    if arns is not None:
        if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
            diags.append(error("E0604", "`arns` is a list of strings", where.span(*at, "arns")))
        else:
            for arn in arns:
                if arn != "*" and (arn.count(":") < 4 or not arn.startswith("acs:")):
                    diags.append(
                        error(
                            "E0610",
                            f"`{shorten(arn)}` is not an ARN template",
                            where.span(*at, "arns"),
                            help="acs:SERVICE:REGION:ACCOUNT:RESOURCE, placeholders in {#…}, "
                            "e.g. acs:foo:{#regionId}:{#accountId}:bar/{#BarId}",
                        )
                    )
    for key in ("type", "charge"):
        value = facts.get(key)
        if value is not None and (not isinstance(value, str) or not value.isprintable()):
            diags.append(error("E0604", f"`{key}` is a word", where.span(*at, key)))
    deprecated = facts.get("deprecated")
    if deprecated is not None and not isinstance(deprecated, bool):
        diags.append(error("E0604", "`deprecated` is true or false", where.span(*at, "deprecated")))


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return value[4] == "-" and value[7] == "-"


# -- applying -------------------------------------------------------------------------------


def patched_service(raw: dict | None, table: dict, name: str, label: str) -> dict:
    """The raw catalog entry of a service (None: a new one) with an overlay table applied."""
    out = dict(raw) if raw is not None else _skeleton(name, table)
    if "title" in table:
        out["title"] = table["title"]
    if "ram_codes" in table:
        codes = list(dict.fromkeys(table["ram_codes"]))
        out["ram_codes"] = codes
        out["ram_code_provenance"] = dict.fromkeys(codes, "override")
        out["ram_code_source"] = label
    for key in ("aliases", "endpoints", "actiontrail_service_names"):
        if key in table:
            out[key] = sorted(set(out.get(key, ())) | set(table[key]))
    if "condition_keys" in table:
        out["condition_keys"] = {**out.get("condition_keys", {}), **table["condition_keys"]}
    versions = {v: list(ops) for v, ops in out.get("versions", {}).items()}
    version = table.get("version") or (max(versions) if versions else "overlay")
    added = [*table.get("operations", ()), *table.get("operation", {})]
    if added:
        known = {op.lower() for ops in versions.values() for op in ops}
        ops = versions.setdefault(version, [])
        new = [op for op in dict.fromkeys(added) if op.lower() not in known]
        ops.extend(new)
        versions[version] = sorted(ops)
        if new:
            supplement = {v: dict(s) for v, s in out.get("supplement", {}).items()}
            supplement.setdefault(version, {}).update(dict.fromkeys(new, label))
            out["supplement"] = supplement
    out["versions"] = versions
    facts = table.get("operation")
    if facts:
        meta = dict(out.get("operations", {}))
        for op, given in facts.items():
            spelled = _spelling(versions, op)
            meta[spelled] = {**meta.get(spelled, {}), **given}
        out["operations"] = meta
    return out


def _spelling(versions: dict[str, list[str]], op: str) -> str:
    for ops in versions.values():
        for known in ops:
            if known.lower() == op.lower():
                return known
    return op


def _skeleton(name: str, table: dict) -> dict:
    return {
        "title": table.get("title", name),
        "aliases": [],
        "ram_codes": [],
        "shared_ram_codes": [],
        "endpoints": [],
        "actiontrail_service_names": [],
        "versions": {},
        "supplement": {},
        "ram_code_provenance": {},
        "ram_code_source": "",
        "operations": {},
        "condition_keys": {},
        "denied_error_codes": [],
    }
