"""Lockout and breakage checks (issue 12 item 4): guardrails that compile but would lock the
organisation's administrators out, blind its audit trail, or not fit where they go.

=======  ===========================================================================
W0301    a control policy denies the admin path (``ram:*``, ``sts:AssumeRole``,
         ``resourcemanager:*``) with no principal exemption: members' RAM roles, the RD
         access role ``ResourceDirectoryAccountAccessRole`` included, lose it
W0302    a region restriction (``in region`` / a regional ``on`` ARN) whose actions reach a
         global service (RAM, STS, ActionTrail, Resource Manager, Billing, …); in an allow
         list, a region-held ``allow`` that leaves a global service with no Allow at all
W0303    a control policy denies ``actiontrail:*`` / ``log:*`` wholesale with no principal
         exemption: trails deliver through service roles (``AliyunActionTrailDefaultRole``)
W0304    more policies attached to one node than the 10 a folder or member can hold
         (``FullAliyunAccess`` takes one of them unless detached)
W0307    more custom control policies than the 1,500 one resource directory can hold
=======  ===========================================================================

Decisions:

- W0301 and W0303 look only at policies ``for control-policy``: a RAM policy is attached to
  chosen principals (the seed denies ``RAM *`` to a leaked key on purpose), a control policy
  to every RAM identity of the nodes below it.
- "Denies the admin path": an action pattern of the rule covers ``ram:*`` or
  ``resourcemanager:*`` whole, or matches ``sts:AssumeRole``; for a NotAction rule (``deny *
  * except [...]``), no exception intersects the probe. Narrow rules (``deny RAM DeleteRole on
  …ResourceDirectoryAccountAccessRole``, the usual "protect the RD access role") are the point
  of a baseline and stay quiet; resources that take in every ARN of the service (``on
  [acs:ram:*:*:*]``) are no narrowing. W0303 likewise stays quiet when no resource of the rule
  can be an ActionTrail or Log Service ARN.
- "Principal exemption": every case of the rule holds a negated condition on
  ``acs:PrincipalARN`` (``unless principal like [...]`` → ``StringNotLike``), the documented
  pattern ``StringNotLike acs:PrincipalARN acs:ram:*:*:role/resourcedirectoryaccountaccessrole``.
  For W0301 its values must reach the RD access role (``role/*`` does; ``role/breakglass``
  alone does not, and the access role stays locked out); for W0303 any principal exemption
  will do, since the roles audit delivery uses are the user's to name.
- W0303's reach (reviewed, issue 12 item 4): ActionTrail writes to Log Service and OSS
  through the service-linked role ``AliyunServiceRoleForActionTrail``
  (https://www.alibabacloud.com/help/doc-detail/169244.htm), which control policies do not
  bind; a trail delivering through an ordinary RAM role (the actions of
  ``AliyunActionTrailDeliveryPolicy``: ``log:PostLogStoreLogs``, ``log:CreateLogstore`` on
  ``acs:log:*:*:project/*/logstore/actiontrail_*``, ``oss:PutObject``, ``kms:GenerateDataKey``
  …, https://www.alibabacloud.com/help/en/actiontrail/user-guide/manage-the-permission-policy-
  for-event-delivery) is. W0303 flags only the wholesale ``actiontrail:*`` / ``log:*`` Deny;
  a narrower Deny on one of those delivery actions is not flagged.
- W0302: global services have no region of their own; a region-scoped Deny on them either
  blocks them wherever their requests are recorded or silently never applies. Either way
  the rule should exempt them (``except [ram:*, sts:*, …]``).
- W0304 counts documents (a split policy attaches every part) plus ``FullAliyunAccess``,
  which Resource Directory attaches to every node by default (AttachControlPolicy: "A maximum
  of 10 access control policies can be attached to a folder or member", "By default, the
  system access control policy FullAliyunAccess is attached to each folder and member":
  https://alibabacloud.com/help/en/resource-management/api-attachcontrolpolicy).
- W0307 counts the documents the rules create as custom control policies (every part of a
  split policy is one), attached or not: a control policy is created in the directory
  before it is attached anywhere, and the limit is on creating them ("Number of custom
  access control policies that can be created in a resource directory: 1,500",
  https://www.alibabacloud.com/help/en/resource-management/product-overview/limits).
  FullAliyunAccess is a system policy and does not count. It is one warning for the rule
  set, at the header of the policy holding the 1,501st document (in the order the policies
  compile, which is the files' order); policies created outside these rules count against
  the same limit, which the help line says since ramguard cannot see them.
"""

from __future__ import annotations

from collections import defaultdict

from compiler.analysis.messages import quote, warn
from compiler.catalog import Catalog
from compiler.emit.ram import (
    CONTROL_POLICIES_PER_DIRECTORY,
    CONTROL_POLICY_LIMITS,
    Document,
    documents_for,
)
from compiler.language.diagnostics import CompileError, Diagnostic, Span
from compiler.model.glob import glob_match, globs_intersect, subsumes
from compiler.model.ir import Condition, Rule
from compiler.policy import Policy

RD_ACCESS_ROLE = "acs:ram:*:*:role/resourcedirectoryaccountaccessrole"
EXEMPTION_HELP = f"add `unless principal like [{RD_ACCESS_ROLE}]` (and your admin roles)"

# (probe, covered when an action pattern subsumes it [True] or merely matches it [False])
_ADMIN_PROBES = (("ram:*", True), ("sts:AssumeRole", False), ("resourcemanager:*", True))
_AUDIT_PROBES = (("actiontrail:*", True), ("log:*", True))
# The service whose ARNs a probe's requests name (sts:AssumeRole names the role, a RAM ARN).
_PROBE_RESOURCES = {"sts:AssumeRole": "ram"}
GLOBAL_CODES = ("actiontrail", "bss", "cloudsso", "ram", "resourcemanager", "sts")
"""RAM codes of services without regions: RAM, STS, ActionTrail, Resource Manager, Billing
(``bss``), CloudSSO."""


def _covers(rule: Rule, probe: str, whole: bool) -> bool:
    if rule.not_actions:
        # NotAction [E…] denies everything no exception matches: the probe is hit unless
        # some exception could match part of it.
        return not any(globs_intersect(e, probe) for e in rule.actions)
    if whole:
        return any(subsumes(a, probe) for a in rule.actions)
    return any(glob_match(a, probe) for a in rule.actions)


def _resource_code(probe: str) -> str:
    return _PROBE_RESOURCES.get(probe, probe.split(":", 1)[0])


def _all_resources(rule: Rule, probe: str) -> bool:
    """The rule's resources take in every ARN of the probe's service (``*``, ``acs:ram:*``,
    ``acs:ram:*:*:*``): as much a lockout as no ``on`` at all. Conservative (subsumes)."""
    whole = f"acs:{_resource_code(probe)}:*:*:*"
    # subsumes is conservative with globs on both sides; reading `whole` as text also takes in
    # `acs:*:*:*:*` (each `*` of `whole` met by a `*` of the pattern).
    return rule.any_resource or any(
        subsumes(r, whole) or glob_match(r, whole, ignore_case=False) for r in rule.resources
    )


def _some_resources(rule: Rule, probe: str) -> bool:
    """Some resource of the rule could be an ARN of the probe's service."""
    code = _resource_code(probe)
    return rule.any_resource or any(globs_intersect(r, f"acs:{code}:*") for r in rule.resources)


def _exempts_principals(rule: Rule) -> bool:
    return all(
        any(c.key == "acs:PrincipalARN" and c.operator.startswith("StringNot") for c in conj)
        for conj in rule.conditions
    )


def _spares(condition: Condition, principal: str) -> bool:
    """``condition`` is a negated test on acs:PrincipalARN that fails, so its case cannot
    deny, for some ARN ``principal`` (a glob) matches: ``StringNotLike`` against its
    patterns, ``StringNotEquals`` against its values (ignoring case for …IgnoreCase)."""
    if condition.key != "acs:PrincipalARN" or not condition.operator.startswith("StringNot"):
        return False
    fold = condition.operator.endswith("IgnoreCase")
    target = principal.lower() if fold else principal
    like = condition.operator.startswith("StringNotLike")
    for value in condition.values:
        value = value.lower() if fold else value
        if globs_intersect(value, target) if like else glob_match(target, value, ignore_case=False):
            return True
    return False


def _exempts_rd_access_role(rule: Rule) -> bool:
    """Every case of the rule is spared for the RD access role: an exemption of some other
    principal (`unless principal like [acs:ram:*:*:role/breakglass]`) still locks it out."""
    return all(any(_spares(c, RD_ACCESS_ROLE) for c in conj) for conj in rule.conditions)


def _control_rules(policy: Policy):
    for ir in policy.policies:
        if ir.deploy == "control-policy":
            yield from ir.rules


def check_admin_lockout(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    out = []
    for rule in _control_rules(policy):
        if _exempts_rd_access_role(rule):
            continue
        hit = [
            p for p, whole in _ADMIN_PROBES if _covers(rule, p, whole) and _all_resources(rule, p)
        ]
        if hit:
            out.append(
                warn(
                    policy,
                    "W0301",
                    f"this control policy denies `{'`, `'.join(hit)}` to every RAM identity "
                    "below its nodes, the Resource Directory access role included",
                    rule.span,
                    f"administrators of member accounts would be locked out; {EXEMPTION_HELP}",
                )
            )
    return out


def check_audit_delivery(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    out = []
    for rule in _control_rules(policy):
        if _exempts_principals(rule):
            continue
        hit = [
            p for p, whole in _AUDIT_PROBES if _covers(rule, p, whole) and _some_resources(rule, p)
        ]
        if hit:
            out.append(
                warn(
                    policy,
                    "W0303",
                    f"this control policy denies `{'`, `'.join(hit)}`, which ActionTrail's "
                    "service roles use to deliver audit events",
                    rule.span,
                    "deny only the operations that stop or change trails (e.g. "
                    "`deny Actiontrail DeleteTrail, StopLogging, UpdateTrail`), or "
                    "exempt the service roles with `unless principal like [...]`",
                )
            )
    return out


def _regional(resource: str) -> bool:
    parts = resource.split(":")
    return len(parts) >= 5 and parts[0] == "acs" and parts[2] not in ("", "*")


def check_global_regions(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    out = []
    for rule in policy.rules:
        if rule.any_resource or not all(_regional(r) for r in rule.resources):
            continue
        reached = [c for c in GLOBAL_CODES if _reaches(rule, c)]
        if reached:
            out.append(
                warn(
                    policy,
                    "W0302",
                    "this region restriction also applies to global services "
                    f"({', '.join(reached)})",
                    rule.span,
                    "global services have no region of their own: exempt them with "
                    "`except [" + ", ".join(f"{c}:*" for c in reached) + "]`",
                )
            )
    return out + check_allow_list_regions(policy, catalog)


def check_allow_list_regions(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    """W0302 for allow lists: an ``allow`` rule held to regions (``allow * * in region
    [...]``) admits nothing of a global service, whose ARNs name no region; unless another
    ``allow`` rule of the policy opens that service everywhere, its requests pass no Allow at
    the node (with FullAliyunAccess detached, an implicit deny)."""
    out = []
    for ir in policy.policies:
        if ir.deploy != "control-policy" or not ir.allows:
            continue
        opened = {c for c in GLOBAL_CODES if any(_opens(r, c) for r in ir.allows)}
        for rule in ir.allows:
            if rule.any_resource or not all(_regional(r) for r in rule.resources):
                continue
            left = [c for c in GLOBAL_CODES if c not in opened and _reaches(rule, c)]
            if left:
                out.append(
                    warn(
                        policy,
                        "W0302",
                        "this allow list admits only resources in its regions: global "
                        f"services ({', '.join(left)}) name no region, so no Allow here "
                        "matches their requests",
                        rule.span,
                        "allow them without a region: " + ", ".join(f"`allow {c} *`" for c in left),
                    )
                )
    return out


def _opens(rule: Rule, code: str) -> bool:
    """The allow rule takes in every action of ``code`` on every one of its resources."""
    probe = f"{code}:*"
    return _covers(rule, probe, True) and _all_resources(rule, probe)


def _reaches(rule: Rule, code: str) -> bool:
    """Some action of ``code`` could be denied: an action pattern intersects ``code:*``
    (``*:Get*``, ``ram:Get*``), or, for NotAction, no exception covers all of ``code:*``."""
    probe = f"{code}:*"
    if rule.not_actions:
        return not any(subsumes(e, probe) for e in rule.actions)
    return any(globs_intersect(a, probe) for a in rule.actions)


def check_attach_counts(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    per_node: dict[str, list[tuple[str, int, Span]]] = defaultdict(list)
    for ir in policy.policies:
        if ir.deploy != "control-policy" or not ir.attach:
            continue
        try:
            count = len(documents_for(ir))
        except CompileError:
            continue  # reported as an error by check_documents
        for node in ir.attach:
            per_node[node].append((ir.name, count, ir.span or Span(ir.file, 1, 1, 1, 2)))
    out = []
    limit = CONTROL_POLICY_LIMITS.documents
    for node, attached in sorted(per_node.items()):
        total = sum(n for _, n, _ in attached) + 1  # + FullAliyunAccess
        if total <= limit:
            continue
        names = ", ".join(f"{quote(name)} ({n})" for name, n, _ in attached)
        for _name, _n, span in attached:
            out.append(
                warn(
                    policy,
                    "W0304",
                    f"node `{quote(node)}` would hold {total} control policies: {names} and "
                    f"FullAliyunAccess; at most {limit} can be attached to a folder or member",
                    span,
                    "merge policies, attach some to a parent folder, or detach "
                    "FullAliyunAccess (allow-list mode)",
                )
            )
    return out


def check_directory_count(policy: Policy, catalog: Catalog) -> list[Diagnostic]:
    """W0307 over the documents of the policies ``for control-policy``."""
    documents: list[Document] = []
    for ir in policy.policies:
        if ir.deploy != "control-policy":
            continue
        try:
            documents.extend(documents_for(ir))
        except CompileError:
            continue  # reported as an error by check_documents
    return directory_count(policy, documents)


def directory_count(policy: Policy, documents: list[Document]) -> list[Diagnostic]:
    """W0307 when ``documents`` (each to be created as a custom control policy, in compile
    order) are more than one resource directory can hold; ``compile`` passes the documents
    of its target, ``check`` those of the policies ``for control-policy``."""
    limit = CONTROL_POLICIES_PER_DIRECTORY
    if len(documents) <= limit:
        return []
    first_over = documents[limit].policy
    ir = next(p for p in policy.policies if p.name == first_over)
    policies = len({d.policy for d in documents})
    return [
        warn(
            policy,
            "W0307",
            f"the rules create {len(documents):,} custom control policies, one per document "
            f"of {policies:,} policies; a resource directory holds at most {limit:,} "
            f"(`{quote(first_over)}` is past the limit)",
            ir.span or Span(ir.file, 1, 1, 1, 2),
            "merge policies into fewer documents (each may hold 4,096 characters); custom "
            "control policies created outside these rules count against the same limit "
            "(FullAliyunAccess does not)",
        )
    ]
