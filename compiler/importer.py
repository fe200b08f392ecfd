"""RAM deny-policy JSON → rules text: adopt ramguard from the policies a team already runs.

The contract: ``compile_sources(import(doc))`` decides like ``doc`` on every catalog action
(``Catalog.actions()``) and every request context. Where the rules language cannot say exactly
what a statement says, the statement is an error (or, asked to, skipped with a note) — never
approximated. How each part maps:

Actions. ``*`` is ``deny * *``; ``*:Op`` is ``deny * Op``; ``code:Op`` is ``deny SERVICE Op``
for the service that owns ``code`` (``Catalog.service_for_code``), with the operation in
catalog spelling or the glob as written, so the compiled pattern is the original one. A glob in
the code (``ec?:Delete*``) is expanded to the catalog codes it matches. An operation no catalog
service has under that code matches no catalog action: it is skipped with a note.

``ram:`` and ``ims:``. The rules language denies an IMS operation under both of its codes
(``deny IMS X`` compiles to ``ims:X`` and ``ram:X``), and ``deny RAM X`` accepts only RAM's own
operations. So ``ram:X`` stays a RAM rule when X is a RAM operation; when X is an IMS-only
operation it becomes ``deny IMS X`` if the statement also denies ``ims:X``, else a one-``?``
glob (``deny RAM CreateSAMLProvide?``) checked to match exactly ``ram:X`` among catalog
actions. ``ims:…`` becomes an IMS rule, which also denies the ``ram:`` twins: accepted only when
the document already denies those under the same (or no) condition, else an error — a document
denying ``ims:X`` but not ``ram:X`` has no exact rules form.

Conditions map to the operator the rules compile back to, so the emitted JSON carries the same
operator, key and values and RAM's absent-key behaviour is unchanged. ``DateLessThanEquals T``
is ``unless time after T``: the checker negates ``DateGreaterThan`` into the RAM operator
``DateLessThanEquals`` itself (``ir.NEGATED_OPERATOR``), not into a logical "not", so a request
without ``acs:CurrentTime`` matches neither the original nor the import (a plain logical
``not (t > T)`` would have matched it). Likewise ``DateGreaterThanEquals T`` is
``unless time before T``. The language has one ``unless`` clause and ``unless A and B`` means
``not A or not B``; a statement with both ``…Equals`` date operators is therefore an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .catalog import Catalog, Service, default_catalog
from .glob import glob_match, has_glob
from .keys import LANGUAGE_KEYS, RAM_KEY_TO_NAME, KeyKind

_POLICY_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_GLOB_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_*?-")
_BARE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@+=")
_KEYWORDS = frozenset({"and", "in", "not", "when", "unless", "before", "after", "deny", "policy"})
_STATEMENT_ELEMENTS = ("Effect", "Action", "NotAction", "Resource", "Condition")
_WIDTH = 100
_KEY_ORDER = {name: i for i, name in enumerate(LANGUAGE_KEYS)}

# RAM operator → (language operator, allowed key kind, goes under `unless`).
_OPERATORS: dict[str, tuple[str, KeyKind, bool]] = {
    "IpAddress": ("in", KeyKind.IP, False),
    "NotIpAddress": ("not in", KeyKind.IP, False),
    "Bool": ("=", KeyKind.BOOL, False),
    "DateLessThan": ("before", KeyKind.TIME, False),
    "DateGreaterThan": ("after", KeyKind.TIME, False),
    "DateLessThanEquals": ("after", KeyKind.TIME, True),
    "DateGreaterThanEquals": ("before", KeyKind.TIME, True),
    "StringEquals": ("in", KeyKind.STRING, False),
    "StringNotEquals": ("not in", KeyKind.STRING, False),
}
# "not in A and not in B" is "not in A ∪ B"; a repeated positive operator would intersect.
_UNION_MERGEABLE = frozenset({"NotIpAddress", "StringNotEquals"})


@dataclass(frozen=True, slots=True)
class ImportResult:
    text: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    """Why one statement (or the document) cannot be imported."""

    source: str
    statement: int | None
    """1-based, as RAM's and the evaluator's errors count; None for the document itself."""
    element: str | None
    message: str
    unsupported: bool
    """Valid RAM the rules language cannot state exactly: ``--skip-unsupported`` skips it."""

    def render(self) -> str:
        where = f"statement {self.statement}: " if self.statement is not None else ""
        element = f"{self.element}: " if self.element else ""
        return f"{where}{element}{self.message}"


class PolicyImportError(ValueError):
    def __init__(self, problems: Iterable[ImportProblem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{p.source}: {p.render()}" for p in self.problems))


class _Unsupported(Exception):
    def __init__(self, element: str, message: str, unsupported: bool = True):
        super().__init__(message)
        self.element = element
        self.message = message
        self.unsupported = unsupported


def _malformed(element: str, message: str) -> _Unsupported:
    return _Unsupported(element, message, unsupported=False)


@dataclass(frozen=True, slots=True)
class _Statement:
    source: str
    index: int
    items: tuple[tuple[str, str], ...]
    """(service name or ``*``, operation) pairs, pruned and sorted."""
    clause: str
    denied: frozenset[str]
    """Catalog actions (lower case) the original statement denies."""
    covered: frozenset[str]
    """Catalog actions (lower case) the imported rules deny."""
    notes: tuple[str, ...]


def valid_policy_name(name: str) -> bool:
    return 0 < len(name) <= 128 and set(name) <= _POLICY_NAME_CHARS


def import_policy(
    doc: object,
    name: str,
    catalog: Catalog | None = None,
    *,
    source: str = "policy.json",
    skip_unsupported: bool = False,
) -> ImportResult:
    """One RAM policy document → rules text. Raises PolicyImportError."""
    return import_policies([(source, doc)], name, catalog, skip_unsupported=skip_unsupported)


def import_policies(
    documents: Sequence[tuple[str, object]],
    name: str,
    catalog: Catalog | None = None,
    *,
    skip_unsupported: bool = False,
) -> ImportResult:
    """Several documents (e.g. ``p.1.json``, ``p.2.json``) → one policy's rules text."""
    if not valid_policy_name(name):
        raise ValueError(f"`{name}` is not a valid RAM policy name (letters, digits, hyphens)")
    catalog = catalog or default_catalog()
    universe = _Universe(catalog)
    problems: list[ImportProblem] = []
    statements: list[_Statement] = []
    for source, doc in documents:
        try:
            raw_statements = _document_statements(doc)
        except _Unsupported as exc:
            problems.append(ImportProblem(source, None, exc.element, exc.message, False))
            continue
        for index, raw in enumerate(raw_statements, start=1):
            try:
                statements.append(_statement(source, index, raw, universe))
            except _Unsupported as exc:
                problems.append(
                    ImportProblem(source, index, exc.element, exc.message, exc.unsupported)
                )
    statements, excess = _drop_inexact(statements, universe)
    problems.extend(excess)
    blocking = [p for p in problems if not (p.unsupported and skip_unsupported)]
    if blocking:
        raise PolicyImportError(blocking)
    multi = len(documents) > 1
    notes = [_origin(p.source, p.statement, multi) + ": " + _skip_note(p) for p in problems]
    for st in statements:
        notes.extend(f"{_origin(st.source, st.index, multi)}: {n}" for n in st.notes)
    if not any(st.items for st in statements):
        raise PolicyImportError(
            [
                ImportProblem(
                    documents[0][0] if documents else "-",
                    None,
                    None,
                    "no statement could be imported: the rules would be empty",
                    False,
                )
            ]
        )
    sources = ", ".join(s for s, _ in documents)
    return ImportResult(_render(name, sources, statements, problems, multi), notes)


def _origin(source: str, index: int | None, multi: bool) -> str:
    where = f"statement {index}" if index is not None else "document"
    return f"{source}: {where}" if multi else where


def _skip_note(p: ImportProblem) -> str:
    element = f"{p.element}: " if p.element else ""
    return f"skipped: {element}{p.message}"


# --- the document ----------------------------------------------------------------------------


def _document_statements(doc: object) -> list[object]:
    if not isinstance(doc, dict):
        raise _malformed("Version", "expected a JSON object with Version and Statement")
    unknown = sorted(k for k in doc if k not in ("Version", "Statement"))
    if unknown:
        raise _malformed(unknown[0], "unknown element")
    if doc.get("Version") != "1":
        raise _malformed("Version", 'expected "1"')
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        return [raw]
    if not isinstance(raw, list):
        raise _malformed("Statement", "expected a list of statements")
    return raw


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _statement(source: str, index: int, raw: object, universe: _Universe) -> _Statement:
    if not isinstance(raw, dict):
        raise _malformed("Statement", "expected a statement object")
    for element in raw:
        if element in ("Principal", "NotResource"):
            raise _Unsupported(element, f"`{element}` has no rules-language form")
        if element not in _STATEMENT_ELEMENTS:
            raise _malformed(element, "unknown element (element names are case-sensitive)")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _malformed("Effect", 'expected "Allow" or "Deny"')
    if effect == "Allow":
        raise _Unsupported("Effect", "an Allow statement has no rules-language form (rules deny)")
    if "NotAction" in raw:
        raise _Unsupported("NotAction", "NotAction has no rules-language form")
    if "Action" not in raw:
        raise _malformed("Action", "missing")
    patterns = _as_list(raw["Action"])
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise _malformed("Action", "expected a string or a non-empty list of strings")
    for p in patterns:
        if p != "*" and (":" not in p or p.startswith(":") or p.endswith(":")):
            raise _malformed("Action", f"`{p}` is not `<ram-code>:<action-name>` or `*`")
    if "Resource" not in raw:
        raise _malformed("Resource", 'missing (required; only "*" can be imported)')
    resources = _as_list(raw["Resource"])
    if not resources or any(r != "*" for r in resources):
        raise _Unsupported("Resource", 'only `"*"` can be imported: rules carry no resource')
    clause = _clause(raw.get("Condition", {}))
    denied = universe.match_all(patterns)  # type: ignore[arg-type]
    items: list[tuple[str, str]] = []
    notes: list[str] = []
    for pattern in sorted(set(patterns), key=lambda p: (p.lower(), p)):  # type: ignore[arg-type]
        items.extend(_translate(pattern, denied, universe, notes))
    pruned = _prune(items)
    covered = frozenset().union(*(universe.cover(item) for item in pruned))
    return _Statement(source, index, pruned, clause, denied, covered, tuple(notes))


# --- actions ---------------------------------------------------------------------------------


class _Universe:
    """The catalog actions, lower-cased, with what each rule item compiles to."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.spelling = {a.lower(): a for a in catalog.actions()}
        self.actions = frozenset(self.spelling)
        self.codes = sorted({c for s in catalog.services for c in s.ram_codes})

    def match(self, pattern: str) -> frozenset[str]:
        if not has_glob(pattern):
            low = pattern.lower()
            return frozenset({low}) if low in self.actions else frozenset()
        return frozenset(a for a in self.actions if glob_match(pattern, a))

    def match_all(self, patterns: Iterable[str]) -> frozenset[str]:
        return frozenset().union(*(self.match(p) for p in patterns))

    def compiled(self, item: tuple[str, str]) -> list[str]:
        """The RAM patterns ``deny SERVICE OP`` compiles to (as ``checks._actions`` builds)."""
        service, op = item
        if service == "*":
            return ["*" if op == "*" else f"*:{op}"]
        svc = self.catalog.service(service)
        assert svc is not None
        out = [f"{code}:{op}" for code in svc.ram_codes]
        for code in svc.shared_ram_codes:
            if has_glob(op):
                out.extend(f"{code}:{name}" for name in svc.operations() if glob_match(op, name))
            else:
                out.append(f"{code}:{op}")
        return out

    def cover(self, item: tuple[str, str]) -> frozenset[str]:
        return self.match_all(self.compiled(item))


def _translate(
    pattern: str, denied: frozenset[str], universe: _Universe, notes: list[str]
) -> list[tuple[str, str]]:
    if not pattern.strip("*"):
        return [("*", "*")]
    code, _, op = pattern.partition(":")
    catalog = universe.catalog
    if has_glob(code):
        if not code.strip("*"):
            return _any_service(pattern, op, universe, notes)
        codes = [c for c in universe.codes if glob_match(code, c)]
        if not codes:
            notes.append(f"`{pattern}` matches no catalog RAM code; skipped")
            return []
        notes.append(f"`{pattern}`: code `{code}` written out as {', '.join(codes)}")
        out: list[tuple[str, str]] = []
        for c in codes:
            out.extend(_translate(f"{c}:{op}", denied, universe, notes))
        return out
    svc = catalog.service_for_code(code)
    if svc is None:
        notes.append(f"`{pattern}`: RAM code `{code}` is not in the catalog; skipped")
        return []
    if not _writable(op):
        return _unwritable(pattern, universe, notes)
    if has_glob(op):
        return [(svc.name, op)]
    canonical = svc.canonical_operation(op)
    if canonical is not None:
        return [(svc.name, canonical)]
    sharer = _sharing_service(catalog, code.lower(), op)
    if sharer is None:
        notes.append(f"`{pattern}` is not a catalog operation of {svc.name}; skipped")
        return []
    # An IMS operation under RAM's code: `deny RAM X` would not compile.
    twin = sharer.canonical_operation(op)
    assert twin is not None
    if any(f"{c}:{twin}".lower() in denied for c in sharer.ram_codes):
        return [(sharer.name, twin)]
    glob = _one_glob(svc, code, twin, universe)
    if glob is None:
        raise _Unsupported(
            "Action",
            f"`{pattern}` is an operation of {sharer.name} (under `{code}:`); the rules language "
            f"cannot deny it without `{sharer.ram_codes[0]}:{twin}`",
        )
    notes.append(
        f"`{pattern}` is an operation of {sharer.name} (under `{code}:`); written as "
        f"`deny {svc.name} {glob}`, which matches the same catalog actions"
    )
    return [(svc.name, glob)]


def _any_service(
    pattern: str, op: str, universe: _Universe, notes: list[str]
) -> list[tuple[str, str]]:
    if not _writable(op):
        return _unwritable(pattern, universe, notes)
    if has_glob(op):
        return [("*", op)]
    for svc in universe.catalog.services:
        canonical = svc.canonical_operation(op)
        if canonical is not None:
            return [("*", canonical)]
    notes.append(f"`{pattern}`: no catalog service has operation `{op}`; skipped")
    return []


def _writable(op: str) -> bool:
    return bool(op) and set(op) <= _GLOB_CHARS and op[0] != "-"


def _unwritable(pattern: str, universe: _Universe, notes: list[str]) -> list[tuple[str, str]]:
    if universe.match(pattern):
        raise _Unsupported("Action", f"`{pattern}` cannot be written as a rules-language name")
    notes.append(f"`{pattern}` matches no catalog action; skipped")
    return []


def _sharing_service(catalog: Catalog, code: str, op: str) -> Service | None:
    for svc in catalog.services:
        if code in (c.lower() for c in svc.shared_ram_codes) and svc.canonical_operation(op):
            return svc
    return None


def _one_glob(svc: Service, code: str, op: str, universe: _Universe) -> str | None:
    """A glob with one ``?`` that matches ``code:op`` and no other catalog action."""
    want = universe.match(f"{code}:{op}")
    for i in range(len(op) - 1, -1, -1):
        glob = op[:i] + "?" + op[i + 1 :]
        if universe.match(f"{code}:{glob}") == want:
            return glob
    return None


def _prune(items: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Drop items another item of the same statement covers; sort for a stable layout."""
    if ("*", "*") in items:
        return (("*", "*"),)
    unique = {(s, op.lower()): (s, op) for s, op in items}
    kept = [
        (service, op)
        for service, op in unique.values()
        if has_glob(op)
        or not any(s == service and has_glob(o) and glob_match(o, op) for s, o in unique.values())
    ]
    return tuple(sorted(kept, key=lambda i: (i[0] != "*", i[0], i[1].lower(), i[1])))


def _drop_inexact(
    statements: list[_Statement], universe: _Universe
) -> tuple[list[_Statement], list[ImportProblem]]:
    """Reject statements whose rules deny more catalog actions than the document does.

    An IMS rule also denies the ``ram:`` twins; that is harmless exactly when the document
    denies them anyway under the same condition or none. Repeated until stable, since a
    rejected statement no longer vouches for another one.
    """
    accepted = list(statements)
    problems: list[ImportProblem] = []
    changed = True
    while changed:
        changed = False
        for st in list(accepted):
            allowed = set(st.denied)
            for other in accepted:
                if not other.clause or other.clause == st.clause:
                    allowed |= other.denied
            excess = sorted(st.covered - allowed)
            if excess:
                shown = ", ".join(f"`{universe.spelling[a]}`" for a in excess[:3])
                more = f" and {len(excess) - 3} more" if len(excess) > 3 else ""
                problems.append(
                    ImportProblem(
                        st.source,
                        st.index,
                        "Action",
                        "the rules language denies IMS operations under both `ims:` and "
                        f"`ram:`; the document does not deny {shown}{more}",
                        True,
                    )
                )
                accepted.remove(st)
                changed = True
    return accepted, problems


# --- conditions ------------------------------------------------------------------------------


def _clause(block: object) -> str:
    """A Condition element → `` when … unless …`` (empty when unconditional)."""
    if not isinstance(block, dict):
        raise _malformed("Condition", "expected an object of operators")
    merged: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
    for operator in sorted(block):
        keys = block[operator]
        element = f"Condition.{operator}"
        if operator not in _OPERATORS:
            raise _Unsupported(element, f"operator `{operator}` has no rules-language form")
        if not isinstance(keys, dict) or not keys:
            raise _malformed(element, "expected an object of condition keys")
        word, kind, _ = _OPERATORS[operator]
        for key in sorted(keys):
            where = f"{element}[{key}]"
            name = RAM_KEY_TO_NAME.get(key.lower())
            if name is None:
                raise _Unsupported(where, f"condition key `{key}` has no rules-language form")
            if LANGUAGE_KEYS[name][1] is not kind:
                raise _Unsupported(where, f"`{operator}` on `{key}` has no rules-language form")
            values = _values(kind, operator, keys[key], where)
            slot = (operator, name)
            if slot in merged:
                if operator not in _UNION_MERGEABLE:
                    raise _Unsupported(where, f"`{key}` is tested twice with `{operator}`")
                values = tuple(sorted(set(merged[slot][1]) | set(values)))
            merged[slot] = (word, values)
    when: list[tuple[int, str]] = []
    unless: list[tuple[int, str]] = []
    for (operator, name), (word, values) in merged.items():
        text = f"{name} {word} {_shown(word, values)}"
        (unless if _OPERATORS[operator][2] else when).append((_KEY_ORDER[name], text))
    if len(unless) > 1:
        raise _Unsupported(
            "Condition",
            "DateLessThanEquals and DateGreaterThanEquals together have no rules-language "
            "form (one `unless` clause negates a whole conjunction)",
        )
    out = ""
    if when:
        out += " when " + " and ".join(t for _, t in sorted(when))
    if unless:
        out += " unless " + unless[0][1]
    return out


def _shown(word: str, values: tuple[str, ...]) -> str:
    if word in ("in", "not in"):
        return "[" + ", ".join(values) + "]"
    return values[0]


def _values(kind: KeyKind, operator: str, raw: object, where: str) -> tuple[str, ...]:
    items = _as_list(raw)
    if not items:
        raise _malformed(where, "expected at least one value")
    if not all(isinstance(v, str | bool | int | float) for v in items):
        raise _malformed(where, "expected a string, number, boolean or a list of them")
    if kind is KeyKind.IP:
        return tuple(_network(net) for net in _networks(items, where))
    if kind is KeyKind.BOOL:
        flags = {_flag(v, where) for v in items}
        if len(flags) > 1:
            raise _Unsupported(where, "`Bool` with both true and false has no rules-language form")
        return (flags.pop(),)
    if kind is KeyKind.TIME:
        times = [_time(v, where) for v in items]
        # Values of one key are ORed: t < any of them is t < the latest, and so on.
        pick = max(times) if operator in ("DateLessThan", "DateLessThanEquals") else min(times)
        return (pick.strftime("%Y-%m-%dT%H:%M:%SZ"),)
    texts = sorted({_text(v, where) for v in items})
    return tuple(_quote(t) for t in texts)


def _networks(
    items: list[object], where: str
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = set()
    for v in items:
        try:
            nets.add(ipaddress.ip_network(str(v).strip(), strict=False))
        except ValueError:
            raise _malformed(where, f"`{v}` is not an IP address or CIDR block") from None
    return sorted(nets, key=lambda n: (n.version, n))


def _network(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _flag(value: object, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    raise _malformed(where, f"`{value}` is not true or false")


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise _malformed(where, f"`{value}` is not an ISO 8601 time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _malformed(where, f"`{value}` is not an ISO 8601 time") from None
    # RAM reads a time without an offset as UTC (as compiler.ram does).
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if when.microsecond:
        raise _Unsupported(where, f"`{value}`: the rules language keeps whole seconds only")
    return when


def _text(value: object, where: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        import json

        text = json.dumps(value)
    else:
        text = str(value)
    if not text or not text.isprintable():
        raise _Unsupported(where, "an empty or unprintable value has no rules-language form")
    return text


def _quote(text: str) -> str:
    if set(text) <= _BARE_CHARS and text.lower() not in _KEYWORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- layout ----------------------------------------------------------------------------------


def _render(
    name: str,
    sources: str,
    statements: list[_Statement],
    problems: list[ImportProblem],
    multi: bool,
) -> str:
    lines = [
        "# Imported by `ramguard import`: review, then commit.",
        f"policy {name} {_quote_description('Imported from ' + sources)}",
    ]
    by_origin: dict[tuple[str, int | None], list[str]] = {}
    for p in problems:
        by_origin.setdefault((p.source, p.statement), []).append(_skip_note(p))
    blocks: list[tuple[tuple[str, int], list[str]]] = []
    for st in statements:
        body = [f"# note: {n}" for n in st.notes]
        body += [_rule(service, ops, st.clause) for service, ops in _grouped(st.items)]
        blocks.append(((st.source, st.index), body))
    for (source, index), notes in by_origin.items():
        blocks.append(((source, index or 0), [f"# note: {n}" for n in notes]))
    for (source, index), body in sorted(blocks):
        lines.append("")
        lines.append(f"# {_origin(source, index or None, multi)}")
        lines.extend(body)
    return "\n".join(lines) + "\n"


def _quote_description(text: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)[:1024]
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _grouped(items: tuple[tuple[str, str], ...]) -> list[tuple[str, list[str]]]:
    out: dict[str, list[str]] = {}
    for service, op in items:
        out.setdefault(service, []).append(op)
    return list(out.items())


def _rule(service: str, ops: list[str], clause: str) -> str:
    line = f"deny {service} {', '.join(ops)}{clause}"
    if len(line) <= _WIDTH or len(ops) < 2:
        return line
    body: list[str] = []
    current = ""
    for op in ops:
        entry = op + ","
        if current and len("  " + current + " " + entry) > _WIDTH:
            body.append("  " + current)
            current = entry
        else:
            current = f"{current} {entry}" if current else entry
    body.append("  " + current)
    return "\n".join([f"deny {service} [", *body, "]" + clause])
