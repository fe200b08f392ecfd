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

Conditions: ``compiler.import_conditions``.

Over 400 lines: every statement shape that has (or has no) exact rules form is decided here in
one place, so a refused statement and its error message sit together; conditions are in
import_conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from compiler.analysis.import_conditions import Unsupported, as_list, condition_clause, malformed
from compiler.catalog import Catalog, Service, default_catalog
from compiler.model.glob import glob_match, has_glob

# RAM's name and description limits, and what a rule compiles to, as the checker has them: an
# exact import must predict what compiling its rules produces, so it uses the same code.
from compiler.model.resolve import MAX_DESCRIPTION, MAX_POLICY_NAME, POLICY_NAME_CHARS
from compiler.model.resolve import rule_actions as _compiled_actions

_GLOB_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_*?-")
_STATEMENT_ELEMENTS = ("Effect", "Action", "NotAction", "Resource", "Condition")
_WIDTH = 100


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


class _Skip(str):
    """A note about an Action pattern the rules cannot state (outside the catalog): an error
    naming its statement unless ``skip_unsupported``, then a note."""

    __slots__ = ()


def comment_text(text: str) -> str:
    """Text safe inside a ``#`` comment: every character that is not printable (newlines,
    ``\\r``, form feeds, U+0085, U+2028, terminal escapes) is written as a Python escape, so
    no value from a document can end the comment and start a live rule (issue 16, F1)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class PolicyImportError(ValueError):
    def __init__(self, problems: Iterable[ImportProblem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{p.source}: {p.render()}" for p in self.problems))


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
    effect: str = "deny"
    """``deny``, or ``allow`` for an Allow statement (a control policy's allow list)."""


def valid_policy_name(name: str) -> bool:
    return 0 < len(name) <= MAX_POLICY_NAME and set(name) <= POLICY_NAME_CHARS


def import_policy(
    doc: object,
    name: str,
    catalog: Catalog | None = None,
    *,
    source: str = "policy.json",
    skip_unsupported: bool = False,
    control_policy: bool = False,
) -> ImportResult:
    """One RAM policy document → rules text. Raises PolicyImportError. ``control_policy``:
    the document is a Resource Directory control policy (its Allow statements are imported as
    `allow` rules)."""
    return import_policies(
        [(source, doc)],
        name,
        catalog,
        skip_unsupported=skip_unsupported,
        control_policy=control_policy,
    )


def import_policies(
    documents: Sequence[tuple[str, object]],
    name: str,
    catalog: Catalog | None = None,
    *,
    skip_unsupported: bool = False,
    control_policy: bool = False,
) -> ImportResult:
    """Several documents (e.g. ``p.1.json``, ``p.2.json``) → one policy's rules text."""
    if not valid_policy_name(name):
        raise ValueError(f"`{name}` is not a valid RAM policy name (letters, digits, hyphens)")
    catalog = catalog or default_catalog()
    universe = _Universe(catalog)
    universe.control_policy = control_policy
    problems: list[ImportProblem] = []
    statements: list[_Statement] = []
    for source, doc in documents:
        try:
            raw_statements = _document_statements(doc)
        except Unsupported as exc:
            problems.append(ImportProblem(source, None, exc.element, exc.message, False))
            continue
        for index, raw in enumerate(raw_statements, start=1):
            try:
                statements.append(_statement(source, index, raw, universe))
            except Unsupported as exc:
                problems.append(
                    ImportProblem(source, index, exc.element, exc.message, exc.unsupported)
                )
    statements, excess = _drop_inexact(statements, universe)
    problems.extend(excess)
    if not skip_unsupported:
        # An Action pattern outside the catalog has no exact rules form: without
        # --skip-unsupported the statement is an error, never a silent note.
        for st in statements:
            problems.extend(
                ImportProblem(
                    st.source,
                    st.index,
                    "Action",
                    note.removesuffix("; skipped") + ": the rules cannot state it exactly",
                    True,
                )
                for note in st.notes
                if isinstance(note, _Skip)
            )
    blocking = [p for p in problems if not (p.unsupported and skip_unsupported)]
    if blocking:
        raise PolicyImportError(blocking)
    multi = len(documents) > 1
    notes = [_origin(p.source, p.statement, multi) + ": " + _skip_note(p) for p in problems]
    for st in statements:
        notes.extend(f"{_origin(st.source, st.index, multi)}: {n}" for n in st.notes)
    notes = [comment_text(n) for n in notes]
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
        raise malformed("Version", "expected a JSON object with Version and Statement")
    unknown = sorted(k for k in doc if k not in ("Version", "Statement"))
    if unknown:
        raise malformed(unknown[0], "unknown element")
    if doc.get("Version") != "1":
        raise malformed("Version", 'expected "1"')
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        return [raw]
    if not isinstance(raw, list):
        raise malformed("Statement", "expected a list of statements")
    return raw


def _statement(source: str, index: int, raw: object, universe: _Universe) -> _Statement:
    if not isinstance(raw, dict):
        raise malformed("Statement", "expected a statement object")
    for element in raw:
        if element in ("Principal", "NotResource"):
            raise Unsupported(element, f"`{element}` has no rules-language form")
        if element not in _STATEMENT_ELEMENTS:
            raise malformed(element, "unknown element (element names are case-sensitive)")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed("Effect", 'expected "Allow" or "Deny"')
    # In a RAM policy an Allow grants, which no rule states. A control policy's Allow is its
    # allow list (issue 12 item 2): with ``control_policy`` it becomes an `allow` rule, and
    # the imported policy is headed `for control-policy`.
    if effect == "Allow" and not universe.control_policy:
        raise Unsupported(
            "Effect",
            "an Allow statement has no rules-language form (rules deny); a control policy's "
            "allow list imports with --control-policy",
        )
    word = "allow" if effect == "Allow" else "deny"
    if "Action" in raw and "NotAction" in raw:
        raise malformed("Action", "a statement takes Action or NotAction, not both")
    element = "NotAction" if "NotAction" in raw else "Action"
    if element not in raw:
        raise malformed("Action", "missing")
    patterns = as_list(raw[element])
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise malformed(element, "expected a string or a non-empty list of strings")
    for p in patterns:
        if p != "*" and (":" not in p or p.startswith(":") or p.endswith(":")):
            raise malformed(element, f"`{p}` is not `<ram-code>:<action-name>` or `*`")
    if "Resource" not in raw:
        raise malformed("Resource", 'missing (required; "*" matches every resource)')
    clause = _resource_clause(raw["Resource"]) + condition_clause(raw.get("Condition", {}))
    if element == "NotAction":
        # RAM's NotAction is not scoped to a service: `deny * * except [...]` states it as
        # written (the language emits the entries verbatim as NotAction).
        excepted = universe.match_all(patterns)  # type: ignore[arg-type]
        shown = ", ".join(_value(p) for p in sorted(set(patterns), key=lambda p: (p.lower(), p)))  # type: ignore[arg-type]
        denied = universe.actions - excepted
        return _Statement(
            source, index, (("*", "*"),), f" except [{shown}]" + clause, denied, denied, (), word
        )
    denied = universe.match_all(patterns)  # type: ignore[arg-type]
    items: list[tuple[str, str]] = []
    notes: list[str] = []
    for pattern in sorted(set(patterns), key=lambda p: (p.lower(), p)):  # type: ignore[arg-type]
        items.extend(_translate(pattern, denied, universe, notes))
    pruned = _prune(items)
    covered = frozenset().union(*(universe.cover(item) for item in pruned))
    return _Statement(source, index, pruned, clause, denied, covered, tuple(notes), word)


def _value(text: str) -> str:
    """A bare value when the grammar's VALUE reads it back unchanged, else a quoted string."""
    if text and not any(ch.isspace() or ch in ',[]#"' for ch in text) and text.isprintable():
        return text
    if not text.isprintable():
        raise Unsupported("Resource", "an unprintable value has no rules-language form")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _resource_clause(raw: object) -> str:
    """``Resource`` → `` on [ARN, …]`` (empty for ``"*"``), patterns kept as written."""
    resources = as_list(raw)
    if not resources or not all(isinstance(r, str) and r for r in resources):
        raise malformed("Resource", "expected a string or a non-empty list of strings")
    if "*" in resources:
        return ""
    for r in resources:
        if not r.startswith("acs:") or r.count(":") < 4:  # type: ignore[union-attr]
            raise malformed("Resource", f"`{r}` is not `*` or an ARN `acs:<service>:…`")
    arns = sorted(set(resources))  # type: ignore[type-var]
    return " on [" + ", ".join(_value(r) for r in arns) + "]"  # type: ignore[arg-type]


# --- actions ---------------------------------------------------------------------------------


class _Universe:
    """The catalog actions, lower-cased, with what each rule item compiles to."""

    control_policy: bool = False
    """The documents are control policies: Allow statements import as `allow` rules."""

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

    def cover(self, item: tuple[str, str]) -> frozenset[str]:
        """The catalog actions ``deny SERVICE OP`` denies once compiled."""
        service, op = item
        if service == "*":
            return self.match_all(_compiled_actions(None, [op], None))
        svc = self.catalog.service(service)
        assert svc is not None
        return self.match_all(_compiled_actions([svc], [op], None))


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
            notes.append(_Skip(f"`{pattern}` matches no catalog RAM code; skipped"))
            return []
        notes.append(f"`{pattern}`: code `{code}` written out as {', '.join(codes)}")
        out: list[tuple[str, str]] = []
        for c in codes:
            out.extend(_translate(f"{c}:{op}", denied, universe, notes))
        return out
    svc = catalog.service_for_code(code, op)
    if svc is None:
        notes.append(_Skip(f"`{pattern}`: RAM code `{code}` is not in the catalog; skipped"))
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
        notes.append(_Skip(f"`{pattern}` is not a catalog operation of {svc.name}; skipped"))
        return []
    # An IMS operation under RAM's code: `deny RAM X` would not compile.
    twin = sharer.canonical_operation(op)
    assert twin is not None
    if any(f"{c}:{twin}".lower() in denied for c in sharer.ram_codes):
        return [(sharer.name, twin)]
    glob = _one_glob(svc, code, twin, universe)
    if glob is None:
        raise Unsupported(
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
    notes.append(_Skip(f"`{pattern}`: no catalog service has operation `{op}`; skipped"))
    return []


def _writable(op: str) -> bool:
    return bool(op) and set(op) <= _GLOB_CHARS and op[0] != "-"


def _unwritable(pattern: str, universe: _Universe, notes: list[str]) -> list[tuple[str, str]]:
    if universe.match(pattern):
        raise Unsupported("Action", f"`{pattern}` cannot be written as a rules-language name")
    notes.append(_Skip(f"`{pattern}` matches no catalog action; skipped"))
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
                if other.effect == st.effect and (not other.clause or other.clause == st.clause):
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


# --- layout ----------------------------------------------------------------------------------


def _render(
    name: str,
    sources: str,
    statements: list[_Statement],
    problems: list[ImportProblem],
    multi: bool,
) -> str:
    target = " for control-policy" if any(st.effect == "allow" for st in statements) else ""
    # (A control policy without Allow statements stays a plain header: deny-only rules mean
    # the same either way, and the user picks the target.)
    lines = [
        "# Imported by `ramguard import`: review, then commit.",
        f"policy {name} {_quote_description('Imported from ' + sources)}{target}",
    ]
    by_origin: dict[tuple[str, int | None], list[str]] = {}
    for p in problems:
        by_origin.setdefault((p.source, p.statement), []).append(_skip_note(p))
    blocks: list[tuple[tuple[str, int], list[str]]] = []
    for st in statements:
        body = [f"# note: {comment_text(n)}" for n in st.notes]
        body += [_rule(service, ops, st.clause, st.effect) for service, ops in _grouped(st.items)]
        blocks.append(((st.source, st.index), body))
    for (source, index), notes in by_origin.items():
        blocks.append(((source, index or 0), [f"# note: {comment_text(n)}" for n in notes]))
    for (source, index), body in sorted(blocks):
        lines.append("")
        lines.append(f"# {comment_text(_origin(source, index or None, multi))}")
        lines.extend(body)
    return "\n".join(lines) + "\n"


def _quote_description(text: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)[:MAX_DESCRIPTION]
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _grouped(items: tuple[tuple[str, str], ...]) -> list[tuple[str, list[str]]]:
    out: dict[str, list[str]] = {}
    for service, op in items:
        out.setdefault(service, []).append(op)
    return list(out.items())


def _rule(service: str, ops: list[str], clause: str, word: str = "deny") -> str:
    line = f"{word} {service} {', '.join(ops)}{clause}"
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
    return "\n".join([f"{word} {service} [", *body, "]" + clause])
