"""Warnings about rules that compile but probably do not say what their author meant.

``lint`` runs a named, ordered table of pure passes ``(policy, catalog) -> [Diagnostic]`` over
a compiled ``Policy``; ``check_paths`` is what ``ramguard check`` calls: compile, then lint,
with compile errors collected as data instead of raised.

Codes (stable; tests pin them):

=======  ================  ==============================================================
E0110    dead              the rule denies nothing at all (exact: any action, resource, value)
N0110    dead              a note: the engine could not decide E0110 for the rule (its budget)
W0101    duplicate         the rule denies exactly what an earlier rule of its policy denies
W0102    shadowed          every request the rule denies is denied by a broader rule
W0103    (compile)         an operation glob matches no catalog operation (from ``checks``)
W0104    contradiction     conditions of one case can never hold together
W0105    access-key        ``access_key`` (``acs:AccessId``) is documented for OSS only
W0106    multi-document    the policy needs more than one RAM document
W0107    (compile)         a ``# ramguard: ignore[…]`` comment or ``ignore`` list naming no warning
W0201    (compile)         a versioned rule: RAM cannot see API versions (from ``checks``)
W0301-4  (lockout)         lockout and breakage checks, see ``analysis/lockout.py``
W0305-6  (org lockout)     allow-list nodes of an org.toml, see ``analysis/org_lockout.py``
W0307    (lockout)         more custom control policies than one directory holds (1,500)
=======  ================  ==============================================================

Decisions the task left open:

- Duplicates and shadowing are judged within one policy (one file): policies are attached
  separately, so a rule repeated in another policy is not dead weight.
- "Covers" is exact (``shadowing``: the analysis engine, over every action and resource
  string and every condition value); when the engine cannot decide, no warning: a warning is
  never a false alarm.
- Rules that cover each other (equivalent, e.g. the same operations in another case or
  order, ``when mfa = false`` vs ``unless mfa = true``, or two API versions of one operation)
  are duplicates: the later one is reported as W0101, never also as W0102.
- W0102 names the broadest coverer: a rule nothing else covers, the first written on a tie.
- W0104 is reported once per contradictory pair of conditions; two Bool values for one key
  never reach the IR (``checks`` rejects them as E0250) but are handled all the same.
- W0106 points at the policy's header name (its first rule when there is none): it is about
  the policy, not one rule. The same pass reports the errors only emitting finds (E0300, E0301).
- ``check_paths``: when some files have errors, the others are still compiled and linted one
  by one, so a broken file does not hide the warnings of the rest.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from compiler.analysis.lockout import (
    check_admin_lockout,
    check_attach_counts,
    check_audit_delivery,
    check_directory_count,
    check_global_regions,
)
from compiler.analysis.messages import quote, warn
from compiler.analysis.shadowing import check_dead, check_duplicates, check_shadowed
from compiler.catalog import Catalog, default_catalog
from compiler.emit.ram import KIND, documents_for, limits_for
from compiler.language.diagnostics import (
    CompileError,
    Diagnostic,
    Severity,
    Span,
    sorted_capped,
)
from compiler.language.sources import expand_paths
from compiler.language.suppress import unsilenced
from compiler.model.ir import Condition, Conjunction, PolicyIR
from compiler.model.keys import RAM_KEY_TO_NAME
from compiler.policy import Policy, compile_rules, compile_sources

Pass = Callable[[Policy, Catalog], list[Diagnostic]]

CODES: dict[str, str] = {
    "E0110": "rule denies nothing",
    "N0110": "could not decide whether the rule denies anything",
    "W0101": "duplicate rule",
    "W0102": "rule shadowed by a broader rule",
    "W0103": "operation glob matches no catalog operation",
    "W0104": "conditions that can never hold together",
    "W0105": "access_key condition may be ignored by RAM identity policies",
    "W0106": "policy needs more than one RAM document",
    "W0107": "ignore comment or list naming no warning code",
    "W0201": "RAM cannot see API versions",
    "W0301": "control policy denies the admin path without a principal exemption",
    "W0302": "region restriction applies to global services",
    "W0303": "control policy denies audit delivery (actiontrail:*, log:*)",
    "W0304": "more control policies on one node than it can hold",
    "W0307": "more custom control policies than a resource directory can hold",
    "W0305": "FullAliyunAccess detached and nothing on the node allows",
    "W0306": "the chain to an allow-list node refuses the RD access role the admin path",
}
"""Code → one-line description (SARIF ``shortDescription``)."""


def _show_condition(cond: Condition) -> str:
    """A RAM condition in the rules language, as the user would have written it."""
    key = RAM_KEY_TO_NAME.get(cond.key.lower(), cond.key)
    values = "[" + ", ".join(cond.values) + "]"
    shown = {
        "IpAddress": f"{key} in {values}",
        "NotIpAddress": f"{key} not in {values}",
        "StringEquals": f"{key} in {values}",
        "StringNotEquals": f"{key} not in {values}",
        "Bool": f"{key} = {cond.values[0]}",
        "DateLessThan": f"{key} before {cond.values[0]}",
        "DateGreaterThan": f"{key} after {cond.values[0]}",
        # These two only arise from `unless`: show the negation the user wrote.
        "DateLessThanEquals": f"not {key} after {cond.values[0]}",
        "DateGreaterThanEquals": f"not {key} before {cond.values[0]}",
    }
    return shown.get(cond.operator, f"{cond.operator} {cond.key} {values}")


def _ip_contained(inner: Iterable[str], outer: Iterable[str]) -> bool:
    """Every address in the ``inner`` blocks lies in the union of the ``outer`` blocks."""
    nets = [ipaddress.ip_network(v, strict=False) for v in outer]
    collapsed = [
        *ipaddress.collapse_addresses(n for n in nets if n.version == 4),
        *ipaddress.collapse_addresses(n for n in nets if n.version == 6),
    ]
    for value in inner:
        net = ipaddress.ip_network(value, strict=False)
        if not any(net.version == o.version and net.subnet_of(o) for o in collapsed):
            return False
    return True


_LOWER_BOUNDS = {"DateGreaterThan": True, "DateGreaterThanEquals": False}  # → strict?
_UPPER_BOUNDS = {"DateLessThan": True, "DateLessThanEquals": False}


def _contradictions(conj: Conjunction) -> list[tuple[Condition, Condition]]:
    """Pairs of conditions in ``conj`` that no request satisfies together."""
    found: list[tuple[Condition, Condition]] = []
    for i, a in enumerate(conj):
        for b in conj[i + 1 :]:
            if a.key != b.key:
                continue
            # The tests are asymmetric (positive vs negated, lower vs upper bound): try both
            # orders, report the pair once.
            for x, y in ((a, b), (b, a)):
                if _exclusive(x, y):
                    found.append((x, y))
                    break
    return found


def _exclusive(a: Condition, b: Condition) -> bool:
    pair = (a.operator, b.operator)
    if pair == ("IpAddress", "NotIpAddress"):
        return _ip_contained(a.values, b.values)
    if pair == ("StringEquals", "StringNotEquals"):
        return set(a.values) <= set(b.values)
    if pair == ("Bool", "Bool"):
        return a.values != b.values
    if a.operator in _LOWER_BOUNDS and b.operator in _UPPER_BOUNDS:
        low = datetime.fromisoformat(a.values[0])
        high = datetime.fromisoformat(b.values[0])
        strict = _LOWER_BOUNDS[a.operator] or _UPPER_BOUNDS[b.operator]
        return low > high or (low == high and strict)
    return False


def check_contradictions(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for rule in policy.rules:
        dead = 0
        pairs: list[tuple[Condition, Condition]] = []
        for conj in rule.conditions:
            found = _contradictions(conj)
            dead += bool(found)
            pairs.extend(p for p in found if p not in pairs)
        if not pairs:
            continue
        if dead == len(rule.conditions):
            help = "the rule denies nothing; fix or delete it"
        else:
            help = "one case of this rule (from its `unless`) never matches"
        for a, b in pairs:
            out.append(
                warn(
                    policy,
                    "W0104",
                    f"conditions `{_show_condition(a)}` and `{_show_condition(b)}` can never "
                    "hold together",
                    rule.span,
                    help,
                )
            )
    return out


def check_access_key(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for rule in policy.rules:
        if any(c.key == "acs:AccessId" for conj in rule.conditions for c in conj):
            out.append(
                warn(
                    policy,
                    "W0105",
                    "`access_key` conditions may be ignored in RAM identity policies",
                    rule.span,
                    "`acs:AccessId` is documented for OSS bucket policies only; verify that "
                    "RAM enforces it before relying on this rule",
                )
            )
    return out


def compile_warnings(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    """Warnings the compiler already found (W0103 globs matching nothing, W0201 versioned
    rules), passed through rather than recomputed."""
    return list(policy.warnings)


def _policy_span(policy: Policy, ir: PolicyIR) -> Span:
    """The name in the ``policy NAME`` header, else the file's first line."""
    return ir.span or Span(ir.file, 1, 1, 1, 2)


def check_documents(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    """W0106; and the emitter's errors (E0300 more documents than a principal can have
    attached, E0301 an unsplittable statement): ``compile_rules`` emits lazily, so nothing
    else would report them."""
    out: list[Diagnostic] = []
    for ir in policy.policies:
        try:
            count = len(documents_for(ir))
        except CompileError as exc:
            out.extend(exc.diagnostics)
            continue
        if count > 1:
            limits = limits_for(ir)
            out.append(
                warn(
                    policy,
                    "W0106",
                    f"policy `{quote(ir.name)}` needs {count} {KIND[limits.target]} documents",
                    _policy_span(policy, ir),
                    f"a {KIND[limits.target]} document holds at most {limits.chars} "
                    f"characters and each counts against the {limits.documents} policies a "
                    f"{limits.where} can have attached; broader globs (e.g. `ECS Delete*`) "
                    "make the policy smaller",
                )
            )
    return out


PASSES: tuple[tuple[str, Pass], ...] = (
    # Dead rules, duplicates, shadowing read one exact analysis; a dead rule is an error
    # and left out of the other two; an equivalent pair is reported by duplicates only.
    ("dead", check_dead),
    ("duplicates", check_duplicates),
    ("shadowed", check_shadowed),
    ("contradictions", check_contradictions),
    ("access-key", check_access_key),
    ("compile", compile_warnings),
    ("documents", check_documents),
    ("admin-lockout", check_admin_lockout),
    ("global-regions", check_global_regions),
    ("audit-delivery", check_audit_delivery),
    ("attach-counts", check_attach_counts),
    ("directory-count", check_directory_count),
)


def lint(policy: Policy, catalog: Catalog | None = None) -> list[Diagnostic]:
    """Every warning for a compiled policy, compile warnings included, sorted by position.

    The only errors it reports are the emitter's (see ``check_documents``)."""
    catalog = catalog or default_catalog()
    found: list[Diagnostic] = []
    for _name, run in PASSES:
        found.extend(run(policy, catalog))
    return sorted_capped(found, cap=len(found))


# ------------------------------------------------------------------------------- check


def _org_diagnostics(policy: Policy, path: str | os.PathLike) -> tuple[list[Diagnostic], bool]:
    """org.toml's own errors (as data), else its checks (W0304-6); and whether it bound."""
    from compiler.analysis.org_lockout import check_org

    try:
        org = policy.load_org(path)
    except CompileError as exc:
        return list(exc.diagnostics), False
    return check_org(policy, org), True


@dataclass(frozen=True, slots=True)
class CheckResult:
    diagnostics: tuple[Diagnostic, ...]
    """Errors and warnings, sorted by position."""
    files: tuple[str, ...]

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.WARNING)

    def exit_code(self, strict: bool = False) -> int:
        return 1 if self.errors or (strict and self.warnings) else 0

    def summary(self) -> str:
        def count(n: int, noun: str) -> str:
            return f"{n} {noun}{'' if n == 1 else 's'}"

        return (
            f"{count(self.errors, 'error')}, {count(self.warnings, 'warning')} in "
            f"{count(len(self.files), 'file')}"
        )


def check_paths(
    paths: Sequence[str | os.PathLike],
    catalog: Catalog | None = None,
    ignore: Iterable[str] = (),
    org: str | os.PathLike | None = None,
) -> CheckResult:
    """Compile and lint; compile errors come back as diagnostics, never raised.

    When some files have errors, the others are still linted, each on its own, so one broken
    file does not hide the warnings of the rest. Warnings whose code is in ``ignore``, or that
    a ``# ramguard: ignore[CODE]`` comment on their line names, are left out. With ``org``
    (an org.toml), the rules are also checked against it: its errors, W0305 and W0306.
    """
    files = tuple(str(p) for p in expand_paths(paths))
    return _check(
        files,
        lambda: compile_rules(paths, catalog),
        lambda file: compile_rules([file], catalog),
        catalog,
        ignore,
        org,
    )


def check_sources(
    sources: Sequence[tuple[str, str]],
    catalog: Catalog | None = None,
    ignore: Iterable[str] = (),
) -> CheckResult:
    """``check_paths`` on (name, text) pairs (``ramguard check -`` reads stdin)."""
    texts = dict(sources)
    return _check(
        tuple(texts),
        lambda: compile_sources(sources, catalog),
        lambda file: compile_sources([(file, texts[file])], catalog),
        catalog,
        ignore,
    )


def _check(
    files: tuple[str, ...],
    compile_all: Callable[[], Policy],
    compile_one: Callable[[str], Policy],
    catalog: Catalog | None,
    ignore: Iterable[str],
    org: str | os.PathLike | None = None,
) -> CheckResult:
    diags: list[Diagnostic] = []
    org_bound = False
    try:
        policies = [compile_all()]
        if org is not None:
            found, org_bound = _org_diagnostics(policies[0], org)
            diags.extend(found)
    except CompileError as exc:
        diags.extend(exc.diagnostics)
        broken = {d.span.file for d in exc.errors}
        policies = []
        for file in files:
            if file in broken:
                continue
            try:
                policies.append(compile_one(file))
            except CompileError:
                continue  # its errors are among the ones already collected
    for policy in policies:
        found = lint(policy, catalog)
        if org_bound:
            # With an org, node counts come from org.toml (check_org's W0304), which knows
            # where FullAliyunAccess is detached: the header-only count is left out.
            found = [d for d in found if d.code != "W0304"]
        diags.extend(found)
    diags = unsilenced(diags, ignore)
    return CheckResult(tuple(sorted_capped(diags, cap=len(diags))), files)
