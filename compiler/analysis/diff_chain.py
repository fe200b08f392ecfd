"""``diff`` along a Resource Directory (issue 12 item 2): which member accounts' chains decide
some request differently, old against new, exactly.

``semantic_diff`` compares what the Deny statements deny and ``diff_allows`` each allow list;
neither says what an account sees: an allow list narrowed on a node that keeps
FullAliyunAccess changes nothing there, and an org.toml that detaches FullAliyunAccess changes
everything below with no rule edited. An account's request is denied when some level of
``Root → folders → account`` denies it or, with FullAliyunAccess detached, allows it by no
rule — then the rule set's RAM guardrails, deny-wins (``decide/chain.py``). That is a boolean
function of statement groups, one Deny and one Allow group per node and one of guardrails per
side, so ``boolsearch`` decides, per account, whether some request is newly denied and whether
some is no longer denied: every action and resource string, every condition value.

Accounts org.toml does not describe are decided along the Root's chain alone, as ``simulate``
decides their calls (``replay/chain_replay``): an account described on one side only is
compared against the other side's Root chain (dropping 111 from fd-prod's allow list frees
its calls), and "any account org.toml does not describe" is compared too, Root against Root
(``account`` None): an org.toml listing no account still has calls to decide.

Accounts with the same chains on both sides (the same policies and FullAliyunAccess at each
level) are decided once. Each request found is confirmed by both sides' chain deciders and
shown on the shortest catalog action of its RAM code decided alike (else the engine's
string); one that is not confirmed makes the answer "unknown", never a change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from compiler.analysis.boolsearch import Truth, and3, find_request, not3, or3
from compiler.analysis.globsets import Undecided
from compiler.analysis.prove import Stmt, from_trie
from compiler.decide.trie import DecisionTrie
from compiler.model.org import Org

NEWLY, NO_LONGER = "newly_denied", "no_longer_denied"
_WANT = {NEWLY: (False, True), NO_LONGER: (True, False)}
_OTHER_CODES = 5_000
"""How many catalog actions of other codes are tried for a readable witness (two chain
decisions each) before the engine's own string is shown."""


@dataclass(frozen=True, slots=True)
class AccountChange:
    account: str | None
    """None: any account org.toml does not describe (decided along the Root's chain)."""
    kind: str
    """``newly_denied`` or ``no_longer_denied``."""
    action: str
    resource: str | None
    context: dict[str, str]
    old_stopped_at: str | None
    """Where the old chain ended the evaluation (None: every level passed)."""
    new_stopped_at: str | None

    def to_dict(self) -> dict:
        old, new = _WANT[self.kind]
        return {
            "account": self.account,
            "kind": self.kind,
            "witness": {
                "action": self.action,
                "resource": self.resource,
                "context": dict(self.context),
                "old": "deny" if old else "allow",
                "new": "deny" if new else "allow",
            },
            "old_stopped_at": self.old_stopped_at,
            "new_stopped_at": self.new_stopped_at,
        }


@dataclass(frozen=True, slots=True)
class ChainDiff:
    org: str
    status: str
    """``equal`` (proved for every account), ``different`` or ``unknown``."""
    accounts: tuple[str, ...]
    """The accounts compared (described on either side)."""
    changes: tuple[AccountChange, ...] = ()
    reason: str = ""
    only_one_side: tuple[str, ...] = ()
    """Accounts one side's org.toml describes and the other does not (compared with the
    other side's Root chain, as simulate decides them)."""

    def of(self, kind: str) -> tuple[AccountChange, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    @property
    def changed_accounts(self) -> tuple[str, ...]:
        """Described accounts that decide some request differently."""
        return tuple(dict.fromkeys(c.account for c in self.changes if c.account is not None))

    @property
    def undescribed_changed(self) -> bool:
        """Whether an account org.toml does not describe decides some request differently."""
        return any(c.account is None for c in self.changes)

    def to_dict(self) -> dict:
        return {
            "org": self.org,
            "status": self.status,
            "reason": self.reason,
            "accounts": list(self.accounts),
            "changed_accounts": list(self.changed_accounts),
            "only_one_side": list(self.only_one_side),
            "changes": [c.to_dict() for c in self.changes],
        }


def _node_of(org: Org, account: str | None) -> str:
    """The node whose chain decides ``account``'s calls, as simulate places them: its own
    when org.toml describes it as an account, else the Root (None: any account it does not
    describe)."""
    if account is not None and any(n.id == account for n in org.accounts):
        return account
    return org.root.id


def _groups(policy, org: Org, account: str) -> tuple[list[tuple[Stmt, ...]], list[bool]]:
    """[guardrails, then per node Deny, Allow] and per node whether FullAliyunAccess is
    detached."""
    control = {p.name: p for p in policy.policies if p.deploy == "control-policy"}
    guard = [r for p in policy.policies if p.deploy != "control-policy" for r in p.rules]
    groups = [from_trie("guardrails", DecisionTrie(guard)).stmts]
    detached = []
    for node in org.chain(account):
        chosen = [control[n] for n in node.policies if n in control]
        groups.append(from_trie("deny", DecisionTrie(r for p in chosen for r in p.rules)).stmts)
        groups.append(from_trie("allow", DecisionTrie(r for p in chosen for r in p.allows)).stmts)
        detached.append(not node.full_aliyun_access)
    return groups, detached


def _denied(t: tuple[Truth, ...], detached: list[bool]) -> Truth:
    levels = [or3(t[1 + 2 * i], and3(d, not3(t[2 + 2 * i]))) for i, d in enumerate(detached)]
    return or3(t[0], *levels)


def _differs(n: int, old_detached: list[bool], new_detached: list[bool], old: bool, new: bool):
    """``holds`` for ``find_request``: the old side's groups are the first ``n``; the request
    is denied (or not) on each side as asked."""

    def holds(t: tuple[Truth, ...]) -> Truth:
        a, b = _denied(t[:n], old_detached), _denied(t[n:], new_detached)
        return and3(a if old else not3(a), b if new else not3(b))

    return holds


def _signature(policy, org: Org, account: str) -> tuple:
    control = {p.name for p in policy.policies if p.deploy == "control-policy"}
    return tuple(
        (tuple(sorted(n for n in node.policies if n in control)), node.full_aliyun_access)
        for node in org.chain(account)
    )


def chain_diff(old, old_org: Org, new, new_org: Org, actions: Iterable[str]) -> ChainDiff:
    """``old``/``new`` compiled Policies, each with its bound org; ``actions`` the catalog's
    (to show witnesses on real operations)."""
    actions = sorted(set(actions), key=lambda a: (len(a), a.lower(), a))
    old_ids = {n.id for n in old_org.accounts}
    new_ids = {n.id for n in new_org.accounts}
    accounts = tuple(n.id for n in new_org.accounts if n.id in old_ids)
    one_side = tuple(sorted(old_ids ^ new_ids))
    label = new_org.path
    done: dict[tuple, dict[str, object]] = {}
    changes: list[AccountChange] = []
    # Undescribed accounts first: their line is never among the ones the text cuts off.
    for account in (None, *accounts, *one_side):
        old_node, new_node = _node_of(old_org, account), _node_of(new_org, account)
        key = (_signature(old, old_org, old_node), _signature(new, new_org, new_node))
        for kind, (want_old, want_new) in _WANT.items():
            if (key, kind) not in done:
                # Built only for the first account of each pair of chains (tries per node).
                og, od = _groups(old, old_org, old_node)
                ng, nd = _groups(new, new_org, new_node)
                holds = _differs(len(og), od, nd, want_old, want_new)
                try:
                    done[key, kind] = find_request([*og, *ng], holds)
                except Undecided as exc:
                    return ChainDiff(label, "unknown", accounts, reason=str(exc))
            hit = done[key, kind]
            if hit is None:
                continue
            nodes = (old_node, new_node)
            change = _confirmed(old, old_org, new, new_org, nodes, kind, hit, actions)
            if change is None:
                who = "accounts org.toml does not describe" if account is None else account
                return ChainDiff(
                    label,
                    "unknown",
                    accounts,
                    reason=f"the chain deciders do not confirm the engine's {hit} for {who}",
                )
            changes.append(dataclasses.replace(change, account=account))
    status = "different" if changes else "equal"
    compared = (*accounts, *one_side)
    return ChainDiff(label, status, compared, tuple(changes), only_one_side=one_side)


def _confirmed(old, old_org, new, new_org, nodes, kind, hit, actions) -> AccountChange | None:
    """``nodes``: the (old, new) node whose chain decides the account on each side."""
    want = _WANT[kind]

    def decided(action: str, resource: str | None):
        a = old.decide_chain(old_org, nodes[0], action, hit.context, resource)
        b = new.decide_chain(new_org, nodes[1], action, hit.context, resource)
        if (a.denied, b.denied) != want:
            return None
        if resource is None and any(
            v.resource_unknown for d in (a, b) for v in d.nodes
        ):  # a rule looks at the resource: the engine's resource stays
            return None
        return a, b

    resource = hit.resource
    if decided(hit.action, resource) is None:
        return None
    if resource is not None and decided(hit.action, None) is not None:
        resource = None
    # The shortest catalog action of the witness's RAM code decided alike, else of any code
    # (the engine's string may be none: `` is the shortest of everything an allow list
    # leaves out).
    code = hit.action.split(":", 1)[0].lower() + ":"
    same = [a for a in actions if a.lower().startswith(code)]
    action = next(
        (a for a in (*same, *actions[:_OTHER_CODES]) if decided(a, resource) is not None),
        hit.action,
    )
    a, b = decided(action, resource)  # type: ignore[misc]
    return AccountChange(
        nodes[1], kind, action, resource, dict(hit.context), a.stopped_at, b.stopped_at
    )
