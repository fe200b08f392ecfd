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
with the file's line shown. W0306 probes the node's own Allow rules with one concrete request
per admin action, made by the RD access role (``acs:ram::<account>:role/
resourcedirectoryaccountaccessrole``) with no other context and the resource unknown; a probe
no Allow matches is reported (an Allow scoped to resources cannot vouch for every resource).
Deny rules are W0301's business and are not looked at here.
"""

from __future__ import annotations

from compiler.decide.trie import DecisionTrie
from compiler.emit.ram import CONTROL_POLICY_LIMITS, documents_for
from compiler.language.diagnostics import CompileError, Diagnostic, warning
from compiler.model.org import FULL_ALIYUN_ACCESS, Org
from compiler.policy import Policy

RD_ACCESS_ROLE_ARN = "acs:ram::1234567890123456:role/resourcedirectoryaccountaccessrole"
"""A concrete ARN of the RD access role (any member's id would do: probes are per role)."""
_ADMIN_PROBES = ("ram:AttachPolicyToRole", "sts:AssumeRole", "resourcemanager:GetAccount")


def check_org(policy: Policy, org: Org) -> list[Diagnostic]:
    """W0304, W0305 and W0306 for every node of ``org`` (bound to ``policy``'s rules)."""
    out: list[Diagnostic] = _attach_counts(policy, org)
    by_name = {p.name: p for p in policy.policies}
    for node in org.nodes:
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
            continue
        trie = DecisionTrie(allows)
        context = {"acs:PrincipalARN": RD_ACCESS_ROLE_ARN}
        missing = [a for a in _ADMIN_PROBES if not trie.decide(a, context).denied]
        if missing:
            shown = ", ".join(f"`{a}`" for a in missing)
            out.append(
                warning(
                    "W0306",
                    f"the allow list of {where} does not allow {shown} for the RD access "
                    "role: the management account loses the accounts below it",
                    node.span,
                    help="add `allow RAM *`, `allow Sts AssumeRole` and `allow "
                    "ResourceManager *` (scoped with `when principal like "
                    "[acs:ram:*:*:role/resourcedirectoryaccountaccessrole]` if you like)",
                    source=org.text or None,
                )
            )
    return out


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
