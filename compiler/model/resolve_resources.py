"""What a rule covers beyond its actions: ``on ARN`` / ``in region`` (the Resource element)
and ``except [...]`` (NotAction).

Resources. An ARN is ``acs:<service>:<region>:<account>:<relative-id>`` (``ram/policy-
elements``); patterns take ``*`` and ``?`` and are matched case-sensitively. Each pattern is
checked against the catalog's ARN templates for every operation the rule names: a pattern that
no template of an operation can match is an error listing the templates; an operation the
catalog has no template for accepts any well-formed ``acs:`` pattern. ``in region [R, …]``
becomes ``acs:<code>:R:*:*`` for each RAM code of the rule's services (``acs:*:R:*:*`` for
``*``).

All except. RAM's NotAction is not scoped to a service: ``deny * * except [A, …]`` is
exactly ``NotAction [A, …]``. Under one service (``deny ECS * except [ecs:Describe*]``) the
rule is expanded through the catalog into the service's operations that match no exception,
with a warning (W0240) that operations added to the service later are not covered — a
NotAction there would deny every other service too.
"""

from __future__ import annotations

from collections.abc import Sequence

from compiler.catalog import Catalog, Service
from compiler.language.ast import RuleNode, Value
from compiler.language.diagnostics import Diagnostic, error, shorten, warning
from compiler.model.catalog_access import arn_templates, template_glob
from compiler.model.glob import glob_match, globs_intersect, has_glob

_ARN_CHARS_BANNED = frozenset(' \t\r\n"\\')
_REGION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _arn_problem(text: str) -> str | None:
    if text == "*":
        return None
    if not text.startswith("acs:"):
        return "an ARN starts with `acs:`"
    if set(text) & _ARN_CHARS_BANNED or not text.isprintable():
        return "an ARN holds no spaces, quotes or backslashes"
    parts = text.split(":", 4)
    if len(parts) < 5:
        return "an ARN has five parts: acs:SERVICE:REGION:ACCOUNT:RESOURCE"
    if not parts[1]:
        return "the service part of the ARN is empty"
    if not parts[4]:
        return "the resource part of the ARN is empty (write `*` for any)"
    return None


REQUEST_ARN_HELP = (
    "an ARN is acs:<service>:<region>:<account>:<resource>, e.g. "
    "acs:ecs:cn-hangzhou:123:instance/i-1"
)


def request_arn_problem(text: str) -> tuple[str, str, str] | None:
    """Why ``text`` is not the resource of one request, as (code, message, help), or None.

    A request is on one concrete ARN (``acs:<service>:<region>:<account>:<resource>``, the
    service and resource parts not empty; the region and account may be, as for global
    services): a glob (E0514) or anything else (E0515, ``''`` too) is refused. One rule for
    ``.tests`` files' ``on ARN`` and ``decide``/``explain --resource``, so that a repro line
    ``prove`` or ``diff`` prints is accepted by each of them."""
    if text and has_glob(text):
        return (
            "E0514",
            f"`{shorten(text)}` is a glob; a request is on one concrete resource",
            "write the resource's ARN, e.g. acs:ecs:cn-hangzhou:123:instance/i-1",
        )
    return arn_shape_problem(text)


def arn_shape_problem(text: str) -> tuple[str, str, str] | None:
    """Why ``text`` is not shaped as an ARN, as (code, message, help), or None: what
    ``Policy.decide`` refuses. ``*`` and ``?`` are characters there, request data as in a
    trace (an OSS object's name may hold them); a person typing ``--resource`` or ``on`` in
    a ``.tests`` file who writes one most likely meant a pattern (``request_arn_problem``)."""
    if not text:
        return ("E0515", "an empty resource is not an ARN", REQUEST_ARN_HELP)
    fields = text.split(":", 4)
    if len(fields) < 5 or fields[0] != "acs" or not fields[1] or not fields[4]:
        return ("E0515", f"`{shorten(text)}` is not an ARN", REQUEST_ARN_HELP)
    return None


def resolve_resources(
    node: RuleNode,
    services: Sequence[Service],
    operations: Sequence[str],
    version: str | None,
    diags: list[Diagnostic],
) -> tuple[str, ...]:
    """The rule's Resource patterns, sorted; ``("*",)`` without ``on``/``in region``."""
    # The grammar takes one of `on` and `in region`, never both.
    if node.regions is not None:
        return _regions(node.regions.values, services, diags)
    if node.resources is None:
        return ("*",)
    out: list[str] = []
    for value in node.resources.values:
        problem = _arn_problem(value.text)
        if problem is not None:
            diags.append(
                error(
                    "E0260",
                    f"`{shorten(value.text)}` is not an ARN pattern",
                    value.span,
                    help=problem + ", e.g. acs:ecs:*:*:instance/i-prod*",
                )
            )
            continue
        if _check_templates(value, services, operations, version, diags):
            out.append(value.text)
    if "*" in out:
        return ("*",)
    return tuple(sorted(set(out)))


def _check_templates(
    value: Value,
    services: Sequence[Service],
    operations: Sequence[str],
    version: str | None,
    diags: list[Diagnostic],
) -> bool:
    if value.text == "*":
        return True
    codes = {c.lower() for s in services for c in s.all_codes}
    service_part = value.text.split(":", 2)[1]
    if codes and not has_glob(service_part) and service_part.lower() not in codes:
        diags.append(
            error(
                "E0261",
                f"`{shorten(value.text)}` names service `{shorten(service_part)}`, but the rule "
                f"is about {', '.join(s.name for s in services)}",
                value.span,
                help=f"its ARNs start with acs:{'/'.join(sorted(codes))}:",
            )
        )
        return False
    for svc in services:
        names = [
            name
            for op in operations
            for name in sorted(svc.operations(version))
            if (glob_match(op, name) if has_glob(op) else name.lower() == op.lower())
        ]
        for name in names:
            templates = arn_templates(svc, name)
            if templates is None:
                continue  # the catalog has no template: any well-formed ARN is accepted
            if not any(globs_intersect(value.text, template_glob(t)) for t in templates):
                diags.append(
                    error(
                        "E0262",
                        f"`{shorten(value.text)}` matches no resource of {svc.name} {name}",
                        value.span,
                        help="its resources are " + ", ".join(templates),
                    )
                )
                return False
    return True


def _regions(
    values: Sequence[Value], services: Sequence[Service], diags: list[Diagnostic]
) -> tuple[str, ...]:
    codes = sorted({c for s in services for c in s.all_codes}) or ["*"]
    out: set[str] = set()
    for value in values:
        text = value.text
        if not text or not (set(text) <= _REGION_CHARS | {"*", "?"}) or text.startswith("-"):
            diags.append(
                error(
                    "E0264",
                    f"`{shorten(text)}` is not a region ID",
                    value.span,
                    help="write region IDs such as cn-hangzhou or ap-southeast-1",
                )
            )
            continue
        out.update(f"acs:{code}:{text}:*:*" for code in codes)
    return tuple(sorted(out))


def resolve_except(
    node: RuleNode,
    services: Sequence[Service] | None,
    operations: Sequence[str],
    version: str | None,
    catalog: Catalog,
    diags: list[Diagnostic],
) -> tuple[tuple[str, ...], bool] | None:
    """(actions, not_actions) for a rule with ``except``; None on error."""
    assert node.excepts is not None
    entries: list[str] = []
    for value in node.excepts.values:
        code, sep, name = value.text.partition(":")
        if not sep or not code or not name or ":" in name:
            diags.append(
                error(
                    "E0270",
                    f"`{shorten(value.text)}` is not a RAM action",
                    value.span,
                    help="write RAM actions as CODE:Operation, e.g. sts:AssumeRole or ram:Get*",
                )
            )
            continue
        if not has_glob(code) and catalog.service_for_code(code) is None:
            diags.append(
                warning(
                    "W0241",
                    f"no catalog service has the RAM code `{shorten(code)}`",
                    value.span,
                    help="the exception is kept as written",
                )
            )
        elif not has_glob(value.text):
            svc = catalog.service_for_code(code, name)
            if svc is not None and svc.canonical_operation(name) is None:
                hint = svc.suggest_operation(name)
                diags.append(
                    warning(
                        "W0242",
                        f"`{shorten(name)}` is not an operation of {svc.name} in the catalog",
                        value.span,
                        help=f"did you mean {code}:{hint}?" if hint else "kept as written",
                    )
                )
        entries.append(value.text)
    if len(entries) != len(node.excepts.values):
        return None
    everything = not services and list(operations) == ["*"]
    if everything:
        return tuple(sorted(set(entries), key=lambda a: (a.lower(), a))), True
    if not services or len(services) != 1:
        diags.append(
            error(
                "E0271",
                "`except` needs `* *` (everything) or one named service",
                node.excepts.span,
                help="RAM's NotAction is not scoped to a service: write `deny * * except [...]`",
            )
        )
        return None
    svc = services[0]
    kept = []
    for name in sorted(svc.operations(version)):
        if not any(
            glob_match(op, name) if has_glob(op) else op.lower() == name.lower()
            for op in operations
        ):
            continue
        if any(glob_match(entry, f"{code}:{name}") for entry in entries for code in svc.ram_codes):
            continue
        kept.append(name)
    diags.append(
        warning(
            "W0240",
            f"`except` under {svc.name} is expanded into the {len(kept)} catalog operations it "
            "leaves; operations added to the service later are not covered",
            node.excepts.span,
            help="RAM's NotAction would also deny every other service; write `deny * * except "
            "[...]` for a true NotAction",
        )
    )
    codes = [*svc.ram_codes, *svc.shared_ram_codes]
    return tuple(sorted({f"{code}:{name}" for code in codes for name in kept})), False
