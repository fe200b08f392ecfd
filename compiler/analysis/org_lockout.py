"""Lockout checks of an organisation's allow lists (issue 12 items 2 and 4): what ``org.toml``
and the control policies attached in it do to the nodes below an allow-list node.

=======  ===========================================================================
W0305    FullAliyunAccess is detached from a node and no policy attached there holds an
         ``allow`` rule: every request of every account below is implicitly denied
W0306    an allow-list node does not allow the admin path (``ram:*``, ``sts:AssumeRole``,
         ``resourcemanager:*``) for the RD access role: the management account can no
         longer administer the accounts below it
W0304    (with an org) more control-policy documents on one node than the 10 it can hold,
         counted from org.toml: its ``policies`` lists and the headers' ``attach``, and
         FullAliyunAccess only where it is still attached (replaces the header-only count)
=======  ===========================================================================

Facts: each level of the chain must allow a request, and a level with no matching Allow is
an implicit deny that ends the evaluation (https://www.alibabacloud.com/help/en/oss/user-guide/
control-policy, "Evaluation logic"); Resource Directory refuses to detach a node's last
control policy (DetachControlPolicy: "If an object has only one access control policy
attached, the policy cannot be detached",
https://alibabacloud.com/help/en/resource-management/api-detachcontrolpolicy), so a detached
FullAliyunAccess with nothing else attached cannot even be deployed.

Decisions: the warnings point at the node's ``id`` in org.toml (the node is what is locked),
with the file's line shown. W0306 is decided exactly (``boolsearch`` over the engine behind
``prove``): per part of the admin path, is there a request — any action of the part, any
resource, any other condition values — by the RD access role of any member (``StringLike
acs:PrincipalARN acs:ram:*:*:role/resourcedirectoryaccountaccessrole``, the documented
exemption pattern) that the chain ``Root → … → node`` refuses, by a Deny rule at some level
or by no Allow at a level with FullAliyunAccess detached? The request found is confirmed by
the trie's chain decider and shown in the help line, made readable where that changes
nothing (the principal in an account below the node, the shortest catalog action, the
resource left out when no rule looks at it). A Deny reaching the role is also W0301's (at the
rule); W0306 says what it does to the allow-list node (the node is what the management
account loses). Each chain is reported once, at its topmost allow-list node: a node below
one already reported (W0305 or W0306) fails for the same request. Past the engine's budgets
W0306 says it could not decide, never nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from compiler.analysis.boolsearch import Truth, and3, find_request, not3, or3
from compiler.analysis.globsets import Undecided
from compiler.analysis.prove import Atom, Stmt, from_trie
from compiler.catalog import default_catalog
from compiler.decide.trie import DecisionTrie
from compiler.emit.ram import CONTROL_POLICY_LIMITS, documents_for
from compiler.language.diagnostics import CompileError, Diagnostic, warning
from compiler.model.glob import glob_match
from compiler.model.org import FULL_ALIYUN_ACCESS, Org, OrgNode
from compiler.policy import Policy

RD_ACCESS_ROLE = "acs:ram:*:*:role/resourcedirectoryaccountaccessrole"
"""The RD access role in every member account (the documented exemption pattern)."""
ADMIN_PATH = ("ram:*", "sts:AssumeRole", "resourcemanager:*")
_SAMPLE_ACCOUNT = "1234567890123456"


@dataclass(frozen=True, slots=True)
class AdminRequest:
    """A request on the admin path, by the RD access role, that a node's chain refuses:
    found by the exact engine, confirmed by the trie's chain decider."""

    part: str
    """The part of ``ADMIN_PATH`` it is on."""
    action: str
    resource: str | None
    context: dict[str, str]
    stopped_at: str
    outcome: str
    """``deny`` (a Deny rule matched) or ``implicit-deny`` (no Allow at ``stopped_at``)."""


@dataclass(frozen=True, slots=True)
class AdminLockout:
    requests: tuple[AdminRequest, ...]
    undecided: str = ""
    """Why the engine could not decide (then ``requests`` may be incomplete)."""


def check_org(policy: Policy, org: Org) -> list[Diagnostic]:
    """W0304, W0305 and W0306 for every node of ``org`` (bound to ``policy``'s rules)."""
    out: list[Diagnostic] = _attach_counts(policy, org)
    by_name = {p.name: p for p in policy.policies}
    reported: set[str] = set()
    # Parents before children: a node below one already reported is not reported again.
    for node in sorted(org.nodes, key=lambda n: len(org.chain(n.id))):
        if node.full_aliyun_access:
            continue
        attached = [by_name[n] for n in node.policies if n in by_name]
        allows = [r for p in attached if p.deploy == "control-policy" for r in p.allows]
        where = f"{node.kind} `{node.id}`"
        if not allows:
            if attached:
                message = (
                    f"{FULL_ALIYUN_ACCESS} is detached from {where} and its policies "
                    f"({', '.join(p.name for p in attached)}) allow nothing: every request "
                    "below it is denied"
                )
            else:
                message = (
                    f"{FULL_ALIYUN_ACCESS} is detached from {where} and nothing else is "
                    "attached: every request below it would be denied (Resource Directory "
                    "refuses to detach a node's last policy)"
                )
            out.append(
                warning(
                    "W0305",
                    message,
                    node.span,
                    help="attach a policy with `allow` rules (the services this node may "
                    f"use), or keep {FULL_ALIYUN_ACCESS} (full_aliyun_access = true)",
                    source=org.text or None,
                )
            )
            reported.add(node.id)
            continue
        if any(a.id in reported for a in org.chain(node.id)[:-1]):
            continue  # an allow-list node above already shuts the role out of this chain
        found = admin_lockout(policy, org, node)
        if found is not None:
            reported.add(node.id)
            out.append(_w0306(org, node, found))
    return out


def admin_lockout(policy: Policy, org: Org, node: OrgNode) -> AdminLockout | None:
    """Per part of ``ADMIN_PATH``, a request by the RD access role (any member's, any other
    context, any resource) that the chain ``Root → … → node`` denies or does not allow —
    exactly (``boolsearch``): None when every such request passes every level."""
    chain = org.chain(node.id)
    control = {p.name: p for p in policy.policies if p.deploy == "control-policy"}
    groups: list[tuple[Stmt, ...]] = []
    for n in chain:
        chosen = [control[name] for name in n.policies if name in control]
        groups.append(from_trie("deny", DecisionTrie(r for p in chosen for r in p.rules)).stmts)
        groups.append(from_trie("allow", DecisionTrie(r for p in chosen for r in p.allows)).stmts)
    detached = [not n.full_aliyun_access for n in chain]

    def refused(t: tuple[Truth, ...]) -> Truth:
        # t[0]: on the admin path; then per node (Deny rules match, Allow rules match).
        levels = [
            or3(t[1 + 2 * i], and3(detached[i], not3(t[2 + 2 * i]))) for i in range(len(chain))
        ]
        return and3(t[0], or3(*levels))

    below = [n.id for n in org.accounts if node in org.chain(n.id)]
    found: list[AdminRequest] = []
    for part in ADMIN_PATH:
        admin = Stmt(part, (part,), False, None, ((_principal_atom(),),))
        try:
            hit = find_request([(admin,), *groups], refused)
        except Undecided as exc:
            return AdminLockout(tuple(found), str(exc))
        if hit is None:
            continue
        request = _confirmed(policy, org, node, part, hit, below[0] if below else _SAMPLE_ACCOUNT)
        if request is None:
            return AdminLockout(tuple(found), f"the chain decider allows the engine's {hit}")
        found.append(request)
    return AdminLockout(tuple(found)) if found else None


def _principal_atom() -> Atom:
    def holds(value: object) -> bool:
        return isinstance(value, str) and glob_match(RD_ACCESS_ROLE, value, ignore_case=False)

    return Atom("acs:PrincipalARN", "StringLike", (RD_ACCESS_ROLE,), holds)


def _confirmed(
    policy: Policy, org: Org, node: OrgNode, part: str, hit, account: str
) -> AdminRequest | None:
    """The engine's request decided by the trie's chain (None: not refused there), made
    readable where that changes nothing: the principal in a member account below the node,
    a catalog action of the part, the resource left out when no rule for it looks at one."""

    def refused(action: str, resource: str | None, ctx: dict) -> tuple[str, str] | None:
        if not glob_match(part, action) or not _principal_atom().test(ctx.get("acs:PrincipalARN")):
            return None
        decided = policy.decide_chain(org, node.id, action, ctx, resource)
        if decided.stopped_at is None:
            return None
        stop = next(v for v in decided.nodes if v.node == decided.stopped_at)
        if resource is None and any(v.resource_unknown for v in decided.nodes):
            return None  # a rule looks at the resource: keep the engine's
        return stop.node, stop.outcome

    action, resource, ctx = hit.action, hit.resource, dict(hit.context)
    if refused(action, resource, ctx) is None:
        return None
    arn = ctx.get("acs:PrincipalARN", "")
    parts = arn.split(":")
    if len(parts) >= 5 and parts[3] == "":
        named = {**ctx, "acs:PrincipalARN": ":".join([*parts[:3], account, *parts[4:]])}
        if refused(action, resource, named) is not None:
            ctx = named
    for key, value in sorted(ctx.items()):  # `False` is a region's value, `false` reads better
        lowered = {**ctx, key: value.lower()}
        if (
            key != "acs:PrincipalARN"
            and value != value.lower()
            and refused(action, resource, lowered)
        ):
            ctx = lowered
    if resource is not None and refused(action, None, ctx) is not None:
        resource = None
    action = next((a for a in _part_actions(part) if refused(a, resource, ctx)), action)
    stopped, outcome = refused(action, resource, ctx)  # type: ignore[misc]
    return AdminRequest(part, action, resource, ctx, stopped, outcome)


@cache
def _part_actions(part: str) -> tuple[str, ...]:
    """The catalog actions of an admin-path part, shortest first (read once per process)."""
    code = part.split(":", 1)[0] + ":"
    found = (
        a for a in default_catalog().actions() if a.lower().startswith(code) and glob_match(part, a)
    )
    return tuple(sorted(found, key=lambda a: (len(a), a.lower(), a)))


def _w0306(org: Org, node: OrgNode, found: AdminLockout) -> Diagnostic:
    where = f"{node.kind} `{node.id}`"
    opening = (
        "add `allow RAM *`, `allow Sts AssumeRole` and `allow ResourceManager *` (scoped with "
        f"`when principal like [{RD_ACCESS_ROLE}]` if you like)"
    )
    if not found.requests:
        return warning(
            "W0306",
            f"could not decide whether the chain down to {where} lets the RD access role "
            f"use the admin path: {found.undecided}",
            node.span,
            help="check by hand with `ramguard decide --account` and "
            "`-c acs:PrincipalARN=acs:ram::ACCOUNT:role/resourcedirectoryaccountaccessrole`",
            source=org.text or None,
        )
    parts = ", ".join(f"`{r.part}`" for r in found.requests)
    r = found.requests[0]
    keys = [f"{k}={v}" for k, v in r.context.items() if k != "acs:PrincipalARN"]
    extra = f" with {', '.join(keys)}" if keys else ""
    on = f" on {json.dumps(r.resource)}" if r.resource is not None else ""
    if r.outcome == "deny":
        why = "denied by a Deny rule"
        fix = f"exempt the role from that Deny: `unless principal like [{RD_ACCESS_ROLE}]`"
    else:
        why = "implicitly denied (no Allow rule matches)"
        fix = opening
    own = all(q.outcome != "deny" and q.stopped_at == node.id for q in found.requests)
    whose = (
        f"the allow list of {where} does not allow all of"
        if own
        else f"the chain down to {where} refuses some of"
    )
    undecided = f"; the rest could not be decided: {found.undecided}" if found.undecided else ""
    return warning(
        "W0306",
        f"{whose} {parts} {'for' if own else 'to'} the RD access role: the management "
        f"account loses the accounts below it{undecided}",
        node.span,
        help=f"`{r.action}`{on} by `{r.context.get('acs:PrincipalARN')}`{extra} is {why} at "
        f"`{r.stopped_at}`; {fix}",
        source=org.text or None,
    )


def _attach_counts(policy: Policy, org: Org) -> list[Diagnostic]:
    by_name = {p.name: p for p in policy.policies if p.deploy == "control-policy"}
    limit = CONTROL_POLICY_LIMITS.documents
    out = []
    for node in org.nodes:
        counted: list[tuple[str, int]] = []
        for name in node.policies:
            if name not in by_name:
                continue
            try:
                counted.append((name, len(documents_for(by_name[name]))))
            except CompileError:
                continue  # reported as an error by check_documents
        total = sum(n for _, n in counted) + (1 if node.full_aliyun_access else 0)
        if total <= limit:
            continue
        names = ", ".join(f"`{name}` ({n})" for name, n in counted)
        extra = f" and {FULL_ALIYUN_ACCESS}" if node.full_aliyun_access else ""
        out.append(
            warning(
                "W0304",
                f"{node.kind} `{node.id}` would hold {total} control policies: {names}{extra}; "
                f"at most {limit} can be attached to a folder or member",
                node.span,
                help="merge policies, attach some to a parent folder, or detach "
                f"{FULL_ALIYUN_ACCESS} (allow-list mode)",
                source=org.text or None,
            )
        )
    return out
