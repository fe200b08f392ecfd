"""``compile --minify``: shorter documents that deny exactly the same catalog actions, proved.

Two rewrites, on the rules (so every target — RAM, control policy, Terraform, ROS, Cedar —
emits the minified form), within each policy and each group of rules that share a statement
(same effect, resources and conditions):

- merge: literal actions under a prefix whose every catalog action the group already denies
  become one ``prefix*`` (the shortest such prefix, past the RAM code's colon), when that
  replaces at least two of them; the glob takes the catalog's spelling of the prefix;
- drop: a literal action, or a glob ``subsumes`` proves covered, in a conditional or
  resource-scoped group is dropped when an unconditional any-resource group of the same
  policy matches it (deny wins: the narrower statement adds nothing).

A new glob may also match names the catalog does not hold (operations added later). So each
minified policy is compared with the original by the exact engine (``diff.semantic_diff`` on
the emitted documents, through the RAM evaluator): it must be proved to deny exactly the same
catalog actions, for every resource and condition value, and deny nothing less anywhere;
what it denies beyond the catalog comes back as changes with a witness each, for the user to
accept or not. Anything else — a catalog action decided differently, an undecided proof — is
an error and nothing is emitted. Policies with Allow rules (control policies) are left as
they are: the engine reads Deny statements only.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from compiler.analysis.diff import NEWLY, DiffResult, semantic_diff
from compiler.analysis.prove import from_documents
from compiler.catalog import Catalog, default_catalog
from compiler.language.diagnostics import CompileError, Span, error
from compiler.model.glob import glob_match, has_glob, subsumes
from compiler.model.ir import PolicyIR, Rule, RuleSet
from compiler.policy import Policy
from compiler.ram import RamEvaluator


@dataclass(frozen=True, slots=True)
class PolicyMinified:
    name: str
    actions_before: int
    """Actions in the emitted documents' statements."""
    actions_after: int
    chars_before: int
    chars_after: int
    proof: DiffResult
    """The engine's comparison of the original and minified documents."""
    added: tuple[str, ...]
    """The globs minifying introduced (each may match operations the catalog lacks)."""

    @property
    def beyond_catalog(self) -> int:
        return len(self.proof.changes)


@dataclass(frozen=True, slots=True)
class Minified:
    policy: Policy
    policies: tuple[PolicyMinified, ...]


class _Catalog:
    """Lowercased catalog actions, sorted, so a prefix's actions are one contiguous range."""

    def __init__(self, catalog: Catalog) -> None:
        by_low: dict[str, str] = {}
        for action in catalog.actions():
            by_low.setdefault(action.lower(), action)
        self.low = sorted(by_low)
        self.spelled = [by_low[a] for a in self.low]

    def under(self, prefix: str) -> range:
        lo = bisect.bisect_left(self.low, prefix)
        hi = bisect.bisect_left(self.low, prefix + "\U0010ffff")
        return range(lo, hi)


def _merge(actions: Sequence[str], cat: _Catalog) -> dict[str, list[str]]:
    """New glob → the literal actions (as written) it replaces."""
    literals = {a.lower(): a for a in actions if not has_glob(a)}
    globs = [a for a in actions if has_glob(a)]

    def denied(low: str) -> bool:
        return low in literals or any(glob_match(g, low) for g in globs)

    chosen: dict[str, str] = {}  # literal (low) → glob
    for low in sorted(literals):
        colon = low.find(":")
        if colon < 0:
            continue
        for end in range(colon + 1, len(low) + 1):
            span = cat.under(low[:end])
            if span and all(denied(cat.low[i]) for i in span):
                glob = cat.spelled[span.start][:end] + "*"
                chosen[low] = glob
                break
    out: dict[str, list[str]] = {}
    for low, glob in chosen.items():
        out.setdefault(glob, []).append(literals[low])
    # A glob that replaces a single literal saves little and widens the most: not worth it.
    return {g: sorted(lits) for g, lits in out.items() if len(lits) >= 2}


def _minify_policy(ir: PolicyIR, cat: _Catalog) -> PolicyIR:
    if ir.allows or any(r.effect != "Deny" for r in ir.rules):
        # An allow list is decided along an RD chain; these rewrites reason about denies only.
        return ir
    groups: dict[tuple, list[Rule]] = {}
    for rule in ir.rules:
        if not rule.not_actions:
            groups.setdefault((rule.resources, rule.conditions), []).append(rule)
    broad = [
        a
        for (resources, conditions), rules in groups.items()
        if "*" in resources and any(not conj for conj in conditions)
        for r in rules
        for a in r.actions
    ]
    new_actions: dict[int, list[str]] = {r.index: list(r.actions) for r in ir.rules}
    for (resources, conditions), rules in groups.items():
        is_broad = "*" in resources and any(not conj for conj in conditions)
        if not is_broad and broad:
            for r in rules:
                new_actions[r.index] = [
                    a
                    for a in new_actions[r.index]
                    if not any(
                        glob_match(b, a) if not has_glob(a) else subsumes(b, a) for b in broad
                    )
                ]
        union = [a for r in rules for a in new_actions[r.index]]
        for glob, replaced in _merge(union, cat).items():
            gone = {a.lower() for a in replaced}
            owner = min(
                (r for r in rules if any(a.lower() in gone for a in new_actions[r.index])),
                key=lambda r: r.index,
            )
            for r in rules:
                new_actions[r.index] = [a for a in new_actions[r.index] if a.lower() not in gone]
            new_actions[owner.index].append(glob)
    kept = tuple(
        replace(r, actions=tuple(new_actions[r.index])) for r in ir.rules if new_actions[r.index]
    )
    return replace(ir, rules=kept)


def _decider(name: str, policy: Policy, ir: PolicyIR):
    docs = [d for d in policy.documents if d.policy == ir.name]
    return from_documents(name, RamEvaluator([(d.filename, d.as_dict()) for d in docs]))


def minify(policy: Policy, catalog: Catalog | None = None) -> Minified:
    """The minified policy and, per policy, the engine's proof. Raises ``CompileError``
    (E0310) when a minified policy could not be proved to deny the same catalog actions."""
    catalog = catalog or default_catalog()
    cat = _Catalog(catalog)
    irs = tuple(_minify_policy(ir, cat) for ir in policy.policies)
    small = Policy(RuleSet(irs), list(policy.warnings), dict(policy.sources))
    report = []
    for before, after in zip(policy.policies, irs, strict=True):
        old = _decider("original", policy, before)
        new = _decider("minified", small, after)
        proof = semantic_diff(old, new, catalog)
        bad = proof.status == "unknown" or any(
            c.kind != NEWLY or c.catalog_actions for c in proof.changes
        )
        if bad:
            if proof.status == "unknown":
                why = f"undecided: {proof.reason}"
            else:
                w = next(c for c in proof.changes if c.kind != NEWLY or c.catalog_actions)
                why = f"`{w.witness.action}` is decided differently"
            raise CompileError(
                [
                    error(
                        "E0310",
                        f"--minify: policy `{before.name}` could not be proved to deny the "
                        f"same catalog actions minified ({why})",
                        before.span or Span(before.file, 1, 1, 1, 1),
                        help="compile without --minify",
                    )
                ]
            )
        report.append(
            PolicyMinified(
                before.name,
                _count(policy, before.name, lambda d: sum(len(st.actions) for st in d.statements)),
                _count(small, after.name, lambda d: sum(len(st.actions) for st in d.statements)),
                _count(policy, before.name, lambda d: len(d.text)),
                _count(small, after.name, lambda d: len(d.text)),
                proof,
                _added(before, after),
            )
        )
    return Minified(small, tuple(report))


def _count(policy: Policy, name: str, measure) -> int:
    return sum(measure(d) for d in policy.documents if d.policy == name)


def _added(before: PolicyIR, after: PolicyIR) -> tuple[str, ...]:
    old = {a.lower() for r in before.rules for a in r.actions}
    new = {a for r in after.rules for a in r.actions if a.lower() not in old}
    return tuple(sorted(new, key=lambda a: (a.lower(), a)))
