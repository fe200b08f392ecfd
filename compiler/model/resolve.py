"""AST → checked rules (IR): resolve services and operations against the catalog, validate
conditions, and push ``unless`` into disjunctive normal form.

The stages, in order (each needs the one before):

1. header    — policy name and description are valid RAM values;
2. target    — service (name, alias or glob), API version, operations (exact or glob);
3. condition — key, operator for that key's kind, each value parsed (CIDR, time, bool);
4. normalise — ``unless`` negated into DNF; equal conditions merged; values sorted.

Steps 3 and 4 live in ``resolve_conditions``.

Every problem becomes a Diagnostic; nothing stops at the first one.

Over 400 lines: the four resolution steps hand each other partly resolved rules; conditions
already live in resolve_conditions and resources in resolve_resources, and what is left is the
step order itself.
"""

from __future__ import annotations

from datetime import datetime
from difflib import get_close_matches
from pathlib import Path

from compiler.catalog import Catalog, Service
from compiler.language.ast import RuleNode, SourceFile
from compiler.language.diagnostics import Diagnostic, Severity, Span, error, shorten, warning
from compiler.model.glob import MAX_NAME, glob_match, has_glob, matches_any, matching
from compiler.model.ir import PolicyIR, Rule
from compiler.model.resolve_conditions import check_condition, normalise
from compiler.model.resolve_resources import resolve_except, resolve_resources

POLICY_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
MAX_POLICY_NAME = 128
MAX_DESCRIPTION = 1024
_DIGITS = frozenset("0123456789")


def check_file(
    source: SourceFile, catalog: Catalog, first_index: int = 0
) -> tuple[PolicyIR | None, list[Diagnostic]]:
    """Resolve one parsed file. Returns the policy (None when there are errors) and every
    diagnostic, warnings included."""
    diags: list[Diagnostic] = []
    name, description = _check_header(source, diags)
    rules: list[Rule] = []
    allows: list[Rule] = []
    if not source.rules:
        diags.append(
            error(
                "E0200",
                "no rules in this file",
                Span(source.path, 1, 1, 1, 1),
                help="a rules file holds at least one `deny` rule",
            )
        )
    for node in source.rules:
        rule = _check_rule(node, name, catalog, first_index + len(rules) + len(allows), diags)
        if rule is not None:
            (allows if rule.effect == "Allow" else rules).append(rule)
    diags = [_attach(d, source.text) for d in diags]
    if any(d.severity == "error" for d in diags):
        return None, diags
    span = source.header.name.span if source.header else Span(source.path, 1, 1, 1, 1)
    deploy, attach = _check_deploy(source, diags)
    _check_allows(source, deploy, diags)
    if any(d.severity == "error" for d in diags):
        return None, [_attach(d, source.text) for d in diags]
    return (
        PolicyIR(name, description, source.path, tuple(rules), span, deploy, attach, tuple(allows)),
        diags,
    )


def _check_allows(source: SourceFile, deploy: str, diags: list[Diagnostic]) -> None:
    """E0290: an ``allow`` rule outside a control policy. A RAM guardrail holds only Deny
    statements (an Allow there would grant, not restrict); only a Resource Directory control
    policy has an allow-list mode, where FullAliyunAccess is detached and Allow statements say
    what a node still permits (https://www.alibabacloud.com/help/en/resource-management/
    resource-directory/user-guide/overview-of-the-control-policy-feature)."""
    if deploy == "control-policy":
        return
    for node in source.rules:
        if node.effect == "allow":
            keyword = Span(
                node.span.file,
                node.span.line,
                node.span.col,
                node.span.line,
                node.span.col + len("allow"),
            )
            diags.append(
                error(
                    "E0290",
                    "`allow` rules are only for control policies",
                    keyword,
                    help='head the file `policy NAME "…" for control-policy` (allow-list '
                    "mode of Resource Directory), or write the rule as `deny`",
                )
            )


DEPLOY_TARGETS = ("control-policy", "ram")
"""What ``policy NAME for TARGET`` accepts: a RAM custom policy or an RD control policy."""


def _check_deploy(source: SourceFile, diags: list[Diagnostic]) -> tuple[str, tuple[str, ...]]:
    header = source.header
    if header is None or header.deploy is None:
        return "ram", ()
    target = header.deploy.text.lower()
    if target not in DEPLOY_TARGETS:
        near = get_close_matches(target[:40], DEPLOY_TARGETS, n=1)
        diags.append(
            error(
                "E0203",
                f"unknown deployment target `{shorten(header.deploy.text)}`",
                header.deploy.span,
                help=f"did you mean `{near[0]}`?"
                if near
                else "a policy is `for ram` (custom policy) or `for control-policy`",
            )
        )
        return "ram", ()
    if target == "ram" and header.attach is not None:
        # Nothing deploys a RAM policy's attach list (no Terraform/ROS attachment is written):
        # accepting it would drop the user's nodes silently.
        diags.append(
            error(
                "E0204",
                "a RAM policy is not attached to Resource Directory nodes",
                header.attach.span,
                help="attach [...] is for `for control-policy`; attach a RAM policy to its "
                "users, groups or roles yourself",
            )
        )
        return target, ()
    attach = tuple(v.text for v in header.attach.values) if header.attach else ()
    for value in header.attach.values if header.attach else ():
        if not value.text or not set(value.text) <= _ATTACH_CHARS:
            diags.append(
                error(
                    "E0204",
                    f"`{shorten(value.text)}` is not a Resource Directory node or account id",
                    value.span,
                    help="attach to the Root (`r-…`), a folder (`fd-…`) or an account id",
                )
            )
    if len(set(attach)) != len(attach):
        diags.append(error("E0204", "a node is named twice in `attach`", header.attach.span))
    return target, attach


_ATTACH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _attach(d: Diagnostic, text: str) -> Diagnostic:
    if d.source is not None:
        return d
    return Diagnostic(d.code, d.severity, d.message, d.span, d.help, text)


def _check_header(source: SourceFile, diags: list[Diagnostic]) -> tuple[str, str | None]:
    if source.header is None:
        name = Path(source.path).stem
        span = Span(source.path, 1, 1, 1, 1)
        description = None
    else:
        name = source.header.name.text
        span = source.header.name.span
        description = source.header.description
    if not name or len(name) > MAX_POLICY_NAME or not set(name) <= POLICY_NAME_CHARS:
        where = "file name" if source.header is None else "policy name"
        diags.append(
            error(
                "E0201",
                f"`{shorten(name)}` is not a valid RAM policy name",
                span,
                help=f"a RAM policy name is 1 to {MAX_POLICY_NAME} letters, digits and "
                f"hyphens; set one with `policy NAME` (this one comes from the {where})",
            )
        )
    if description is not None and len(description) > MAX_DESCRIPTION:
        diags.append(
            error(
                "E0202",
                f"description is {len(description)} characters; RAM allows {MAX_DESCRIPTION}",
                source.header.span,
            )
        )
    return name, description


def _check_rule(
    node: RuleNode, policy: str, catalog: Catalog, index: int, diags: list[Diagnostic]
) -> Rule | None:
    before = len(diags)
    services = _resolve_services(node, catalog, diags)
    version = node.service.version.text if node.service.version else None
    operations: list[str] = []
    if services is not None:
        operations = _resolve_operations(node, services, version, catalog, diags)
    when = [check_condition(c, diags, services) for c in node.when]
    unless = [check_condition(c, diags, services) for c in node.unless]
    resources: tuple[str, ...] = ("*",)
    not_actions = False
    actions: tuple[str, ...] = ()
    if services is not None:
        resources = resolve_resources(node, services, operations, version, diags)
    if len(diags) > before and any(d.severity == "error" for d in diags[before:]):
        return None
    conditions = normalise(node, when, unless, diags)
    if conditions is None:
        return None
    actions = rule_actions(services, operations, version)
    if node.risk is not None:
        selected = _risk_selected(node, services, operations, version, catalog, diags)
        if selected is None:
            return None
        operations, actions = selected
    if node.excepts is not None:
        excepted = resolve_except(node, services, operations, version, catalog, diags)
        if excepted is None:
            return None
        actions, not_actions = excepted
    if services:
        _warn_inferred_codes(node, services, diags)
    if version is not None and services:
        diags.append(
            warning(
                "W0201",
                f"RAM cannot see API versions: this rule denies its operations in every "
                f"version of {services[0].name}",
                node.service.version.span,
                help=f"`@{version}` only scopes the catalog check",
            )
        )
    return Rule(
        effect="Allow" if node.effect == "allow" else "Deny",
        index=index,
        policy=policy,
        file=node.span.file,
        line=node.span.line,
        text=node.source(),
        service=services[0].name if services and len(services) == 1 else node.service.name.text,
        operations=tuple(operations),
        version=version,
        actions=actions,
        conditions=conditions,
        span=node.span,
        not_actions=not_actions,
        resources=resources,
    )


def _warn_inferred_codes(node: RuleNode, services: list[Service], diags: list[Diagnostic]) -> None:
    """W0202: a named service whose RAM code is a guess (its lowercase product code), not
    from OpenMeta or the reviewed table. RAM ignores an action it does not know, so a wrong
    code makes the rule deny nothing, silently; the warning says so once per rule."""
    guessed = [
        (svc.name, code)
        for svc in services
        for code in svc.all_codes
        if svc.ram_code_provenance.get(code) == "inferred"
    ]
    if not guessed:
        return
    shown = ", ".join(f"`{code}` ({name})" for name, code in guessed[:5])
    more = f" and {len(guessed) - 5} more" if len(guessed) > 5 else ""
    diags.append(
        warning(
            "W0202",
            f"RAM code{'s' if len(guessed) > 1 else ''} {shown}{more} "
            f"{'are' if len(guessed) > 1 else 'is'} inferred from the product code, not documented",
            node.service.name.span,
            help="if RAM uses another code the rule denies nothing; check the service's "
            '"RAM authorization" page and state the code in a catalog overlay (--catalog)',
        )
    )


RISKS = ("high",)


def _risk_selected(
    node: RuleNode,
    services: list[Service] | None,
    operations: list[str],
    version: str | None,
    catalog: Catalog,
    diags: list[Diagnostic],
) -> tuple[list[str], tuple[str, ...]] | None:
    """``risk=high``: of the operations the rule names (globs included), those the catalog
    tags ``riskType: high`` (OpenMeta's systemTags), as exact RAM actions. The selection is
    made at compile time, so a note says the list moves with the catalog."""
    risk = node.risk
    assert risk is not None
    if risk.text not in RISKS:
        diags.append(
            error(
                "E0280",
                f"`{shorten(risk.text)}` is not a risk tag ramguard can select",
                risk.span,
                help="write `risk=high` (OpenMeta's riskType: high); `none` is every "
                "other operation and is not a guardrail",
            )
        )
        return None
    if node.excepts is not None:
        diags.append(
            error(
                "E0281",
                "`risk=high` and `except` cannot be combined",
                risk.span,
                help="`except` denies every action but the listed ones; `risk=high` lists "
                "the actions it denies",
            )
        )
        return None
    pool = services or list(catalog.services)
    picked: list[str] = []
    actions: set[str] = set()
    services_hit: set[str] = set()
    for svc in pool:
        for name in svc.high_risk_operations():
            if version is not None and name not in svc.operations(version):
                continue
            if any(glob_match(op, name) for op in operations):
                picked.append(name)
                actions.update(svc.ram_actions(name))
                services_hit.add(svc.name)
    if not actions:
        diags.append(
            warning(
                "W0203",
                f"no operation the rule names is tagged riskType={risk.text} in the catalog",
                risk.span,
                help="the rule denies nothing; `ramguard catalog search` shows risk tags",
            )
        )
        return sorted(set(picked)), ()
    guessed = sum(1 for svc in pool if svc.name in services_hit and svc.inferred)
    inferred = f"; {guessed} of those services have inferred RAM codes" if guessed else ""
    diags.append(
        Diagnostic(
            "N0201",
            Severity.NOTE,
            f"`risk={risk.text}` selects {len(actions)} action{'s' if len(actions) != 1 else ''} "
            f"of {len(services_hit)} service{'s' if len(services_hit) != 1 else ''} tagged "
            f"riskType={risk.text}{inferred}",
            risk.span,
            help="the list is taken from the catalog when compiling and moves with it: "
            "recompile (and re-check the generated JSON) when the catalog changes",
        )
    )
    return sorted(set(picked)), tuple(sorted(actions))


def _code_help(node: RuleNode, code: str, catalog: Catalog) -> str | None:
    """E0212's help when the name is a RAM code no service is named by (`yundun-sas`, the
    code of Sas, cloud-siem and sophonsoar; `mq`): the products to name instead, the one
    holding the rule's operation first and written out. A name spelled like another
    service's (``did you mean waf-openapi?``) sent the user to the wrong product."""
    owners = catalog.services_for_code(code)
    if not owners:
        return None
    ops = [op.text for op in node.operations if not has_glob(op.text)]
    holding = [s for s in owners if any(s.canonical_operation(op) for op in ops)]
    rest = [s for s in owners if s not in holding]
    named = [s.name for s in [*holding, *rest]]
    names = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    text = f"`{shorten(code)}` is a RAM code, not a service name; it is the code of {names}"
    if holding and ops:
        text += f": write `{holding[0].name} {shorten(ops[0])}`"
    return text


def _resolve_services(
    node: RuleNode, catalog: Catalog, diags: list[Diagnostic]
) -> list[Service] | None:
    """The services a rule names: ``[]`` means every service (``*``); None on error."""
    name = node.service.name
    version = node.service.version
    if name.text == "*" or (has_glob(name.text) and not name.text.strip("*")):
        if version is not None:
            diags.append(error("E0210", "an API version needs one named service", version.span))
            return None
        return []
    if has_glob(name.text):
        matched = [s for s in catalog.services if any(glob_match(name.text, n) for n in s.names())]
        if not matched:
            diags.append(
                error(
                    "E0211",
                    f"service pattern `{shorten(name.text)}` matches no catalog service",
                    name.span,
                    help="known services: " + ", ".join(s.name for s in catalog.services),
                )
            )
            return None
        if version is not None and len(matched) > 1:
            diags.append(error("E0210", "an API version needs one named service", version.span))
            return None
        services = matched
    else:
        svc = catalog.service(name.text)
        if svc is None:
            suggestion = catalog.suggest_service(name.text)
            hint = (
                f"did you mean {suggestion}?"
                if suggestion
                else "known services: " + ", ".join(s.name for s in catalog.services)
            )
            diags.append(
                error(
                    "E0212",
                    f"unknown service `{shorten(name.text)}`",
                    name.span,
                    help=_code_help(node, name.text, catalog) or hint,
                )
            )
            return None
        services = [svc]
    if version is not None:
        svc = services[0]
        if not _is_version(version.text):
            diags.append(
                error(
                    "E0213",
                    f"`{shorten(version.text)}` is not an API version",
                    version.span,
                    help="API versions are dates, e.g. 2014-05-26",
                )
            )
            return None
        if version.text not in svc.versions:
            known = ", ".join(sorted(svc.versions))
            diags.append(
                error(
                    "E0214",
                    f"{svc.name} has no API version {version.text}",
                    version.span,
                    help=f"known versions of {svc.name}: {known}",
                )
            )
            return None
    return services


def _is_version(text: str) -> bool:
    parts = text.split("-")
    if len(parts) != 3 or [len(p) for p in parts] != [4, 2, 2]:
        return False
    if not all(set(p) <= _DIGITS for p in parts):
        return False
    try:
        datetime(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return False
    return True


_SORTED: dict[tuple[int, str | None], tuple[Service, list[str]]] = {}


def _sorted_operations(svc: Service, version: str | None) -> list[str]:
    """The service's operations, lowercased and sorted, for ``matches_any``; kept per service
    object (services are equal by name, but an overlay's ECS is not the default ECS)."""
    found = _SORTED.get((id(svc), version))
    if found is None or found[0] is not svc:
        if len(_SORTED) > 1024:  # catalogs built in a loop (tests) must not pile up
            _SORTED.clear()
        found = _SORTED[(id(svc), version)] = (
            svc,
            sorted(name.lower() for name in svc.operations(version)),
        )
    return found[1]


_ACTION_NAMES: dict[tuple[int, str | None, bool], tuple[Service, list[str]]] = {}


def _sorted_action_names(svc: Service, version: str | None, own_codes: bool) -> list[str]:
    """The names (after ``code:``) of the RAM actions the catalog lists for the service's
    operations (of ``version``), lowercased and sorted, for ``matches_any``: what a glob's
    emitted pattern can match. An API that OpenMeta authorises by another action counts by
    that action only: ``pvtz:read`` authorises DescribeCustomLines, so `rea*` (emitted
    ``pvtz:rea*``) denies something and `DescribeCustom*` (``pvtz:DescribeCustom*``) denies
    nothing, though it matches API names. ``own_codes``: only what a glob of this service is
    emitted as (``rule_actions``): ``code:glob`` under its own codes, and under a shared code
    the matching API names (``code:Name``, a listed action only when it is the API's own);
    else under any code (``deny * rea*`` is emitted ``*:rea*``)."""
    if not svc.names_actions:
        # Every listed action is `code:Name` under each code: the names are the API names.
        return _sorted_operations(svc, version) if svc.all_codes else []
    key = (id(svc), version, own_codes)
    found = _ACTION_NAMES.get(key)
    if found is None or found[0] is not svc:
        if len(_ACTION_NAMES) > 1024:  # catalogs built in a loop (tests) must not pile up
            _ACTION_NAMES.clear()
        codes = {c.lower() for c in svc.ram_codes}
        shared = {c.lower() for c in svc.shared_ram_codes}
        names: set[str] = set()
        for operation in svc.operations(version):
            for action in svc.ram_actions(operation):
                code, sep, name = action.partition(":")
                if not sep:
                    continue
                code, name = code.lower(), name.lower()
                if not own_codes or code in codes or (code in shared and name == operation.lower()):
                    names.add(name)
        found = _ACTION_NAMES[key] = (svc, sorted(names))
    return found[1]


_MAX_SUGGESTIONS = 8
"""Unknown operations per file that get a did-you-mean (the rest get the error alone)."""


def _unmatched_glob(
    text: str, span: Span, pool: list[Service], version: str | None, where: str
) -> Diagnostic:
    """W0103 for a glob whose emitted actions match no listed RAM action. When it matches API
    names that the catalog authorises by other actions (`DescribeCustom*`: ``pvtz:read``),
    the help names them: "matches no operation" would read as a misspelling."""
    authorised: dict[str, set[str]] = {}
    for svc in pool:
        for low in matching(text, _sorted_operations(svc, version)):
            name = svc.canonical_operation(low, version) or low
            for action in svc.ram_actions(name):
                authorised.setdefault(action, set()).add(name)
    if not authorised:
        return warning(
            "W0103",
            f"`{shorten(text)}` matches no operation of {where}",
            span,
            help="the rule denies nothing the catalog knows; check the spelling "
            "(operation names are API names, e.g. `Delete*`)",
        )
    listed = "; ".join(
        f"{a} authorises {', '.join(sorted(authorised[a]))}" for a in sorted(authorised)
    )
    return warning(
        "W0103",
        f"`{shorten(text)}` matches no RAM action of {where}",
        span,
        help=f"the rule denies nothing: the operations it matches are authorised by other "
        f"RAM actions ({shorten(listed, 160)}); name the operations or those actions",
    )


def _resolve_operations(
    node: RuleNode,
    services: list[Service],
    version: str | None,
    catalog: Catalog,
    diags: list[Diagnostic],
) -> list[str]:
    pool = services or list(catalog.services)
    out: list[str] = []
    for op in node.operations:
        if len(op.text) > MAX_NAME:
            diags.append(
                error(
                    "E0222",
                    f"operation `{shorten(op.text)}` is {len(op.text):,} characters long",
                    op.span,
                    help=f"operation names and globs are at most {MAX_NAME} characters",
                )
            )
            continue
        if has_glob(op.text):
            out.append(op.text)
            if not any(
                matches_any(op.text, _sorted_action_names(svc, version, bool(services)))
                for svc in pool
            ):
                where = " or ".join(s.name for s in services) if services else "any catalog service"
                if version is not None:
                    where += f"@{version}"
                diags.append(_unmatched_glob(op.text, op.span, pool, version, where))
            continue
        canonical = None
        for svc in pool:
            canonical = svc.canonical_operation(op.text, version)
            if canonical:
                break
        if canonical is not None:
            out.append(canonical)
            continue
        # A RAM action OpenMeta names that is no API name (`pvtz:read` authorises several
        # PrivateZone APIs): the operations it authorises, which emit it. The catalog lists
        # such actions (diff/prove/minify count them), and RAM takes them in a policy.
        authorised = sorted({o for svc in pool for o in svc.operations_named_by(op.text, version)})
        if authorised:
            out.extend(authorised)
            continue
        where = " or ".join(s.name for s in services) if services else "any catalog service"
        if version is not None:
            where += f"@{version}"
            other = [v for v in sorted(pool[0].versions) if pool[0].canonical_operation(op.text, v)]
            if other:
                diags.append(
                    error(
                        "E0221",
                        f"operation `{op.text}` is not in {where}",
                        op.span,
                        help=f"it is in version {', '.join(other)}",
                    )
                )
                continue
        # A did-you-mean costs a fuzzy match against the service's operations (0.1 s for
        # ECS on a busy machine) and a look through every service; a file of hundreds of
        # unknown names (a wrong service) must not take minutes, and only the first
        # MAX_DIAGNOSTICS errors are shown anyway.
        budget = sum(1 for d in diags if d.code == "E0220") < _MAX_SUGGESTIONS
        hint = (
            _unknown_operation_help(node, op.text, services, pool, version, catalog)
            if budget
            else ""
        )
        diags.append(
            error(
                "E0220",
                f"unknown operation `{shorten(op.text)}` for {where}",
                op.span,
                help=hint,
            )
        )
    return out


_SHOWN_ELSEWHERE = 3
"""Other services named in an unknown operation's help (sorted; the rest are counted)."""


def _unknown_operation_help(
    node: RuleNode,
    name: str,
    services: list[Service],
    pool: list[Service],
    version: str | None,
    catalog: Catalog,
) -> str:
    """E0220's help: first the other services that have exactly this operation (case aside),
    each as the rule to write (`deny ECS DeleteBucket` is most likely a bucket rule under the
    wrong service, and the nearest ECS name, DeleteVsc, a worse guess), then the nearest
    names in the rule's own service."""
    near = None
    for svc in pool:
        near = svc.suggest_operation(name, version)
        if near:
            break
    if near and _one_edit_apart(near.lower(), name.lower()):
        # A one-character slip in the named service (`RunInstance` for ECS's RunInstances) is
        # far likelier than a mix-up of services, even when another service (Airec) happens
        # to have the name as written.
        return f"did you mean {near}?"
    own = {svc.name for svc in services}
    found = [n for n in catalog.services_with_operation(name) if n not in own]
    if not found:
        return f"did you mean {near}?" if near else ""
    # Services whose RAM code was reviewed (the most used ones, ramcodes.toml) first, then by
    # name: `deny ECS CreateUser` named CCC, cloudsso and Eiam, not RAM ("and 7 more"), and
    # `deny ECS DeleteBucket` put Ens, an inferred code, before Oss.
    found.sort(key=lambda n: (_inferred(catalog, n), n.lower(), n))
    shown = found[:_SHOWN_ELSEWHERE]
    spelled = [catalog.service(n).canonical_operation(name) or name for n in shown]
    names = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]
    if len(found) > len(shown):
        names = ", ".join(shown) + f" and {len(found) - len(shown)} more"
    verb = "has" if len(found) == 1 else "have"
    rules = " or ".join(f"`{node.effect} {n} {op}`" for n, op in zip(shown, spelled, strict=True))
    text = f"{names} {verb} `{shorten(spelled[0])}`: did you mean {rules}?"
    if near:
        where = " or ".join(s.name for s in services) if services else "the catalog"
        text += f" (the nearest in {where}: {near})"
    return text


def _inferred(catalog: Catalog, name: str) -> bool:
    svc = catalog.service(name)
    return svc is None or svc.inferred


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one insertion, deletion or substitution turns ``a`` into ``b`` (or they are
    equal)."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def rule_actions(services: list[Service] | None, operations: list[str], version: str | None):
    """RAM action patterns for a rule, sorted and de-duplicated."""
    out: set[str] = set()
    if not services:
        for op in operations:
            out.add("*" if op == "*" else f"*:{op}")
        return tuple(sorted(out))
    for svc in services:
        for op in operations:
            if not has_glob(op):
                name = svc.canonical_operation(op, version)
                if name is None:
                    # A service glob (`EC?`) matched services without this operation: emit
                    # only the actions that exist (issue 16 F15).
                    continue
                meta_actions = svc.named_actions(name)
                if meta_actions:
                    # OpenMeta names the RAM action, which is not always `code:Name`
                    # (PrivateZone authorises many APIs as `pvtz:update`).
                    out.update(meta_actions)
                    continue
            for code in svc.ram_codes:
                out.add(f"{code}:{op}")
            for code in svc.shared_ram_codes:
                # The code belongs to another service too: a glob here would deny that
                # service's operations, so list the matching operations of this one.
                if has_glob(op):
                    out.update(
                        f"{code}:{name}" for name in svc.operations(version) if glob_match(op, name)
                    )
                else:
                    out.add(f"{code}:{op}")
    return tuple(sorted(out))
