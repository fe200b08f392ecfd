"""``org.toml``: the Resource Directory a set of control policies is attached in.

A request by a RAM identity of a member account is decided against the chain of nodes above
that account, ``Root → folders → account`` (issue 12 item 2). This module reads and checks the
small file that describes the chain; ``decide/chain.py`` and ``ram/chain.py`` evaluate it.

The file (every key but ``id`` optional)::

    [root]
    id = "r-example"
    policies = ["org-baseline"]          # control policies attached here

    [[folder]]
    id = "fd-prod"
    parent = "r-example"                 # the Root or another folder
    full_aliyun_access = false           # FullAliyunAccess detached: an allow-list node
    policies = ["prod-services"]

    [[account]]
    id = "1234567890"
    parent = "fd-prod"

Decisions, with the facts they rest on:

- ``full_aliyun_access`` defaults to true: enabling control policies attaches the system
  policy FullAliyunAccess (Allow ``*`` on ``*``) to every folder and member, and to each new
  one (https://www.alibabacloud.com/help/en/resource-management/resource-directory/user-guide/
  enable-the-control-policy-feature). The Root is a folder and gets it too.
- A node's attached policies are its ``policies`` list here together with every policy whose
  header names the node (``policy p for control-policy attach [fd-prod]``); a name here must
  be a policy ``for control-policy`` of the compiled rules, and a header may attach only to a
  node this file describes (else the chain would silently leave the policy out).
- At most 5 levels of folders below the Root (Resource Directory's limit,
  https://www.alibabacloud.com/help/en/resource-management/resource-directory/user-guide/limits);
  ids are unique; parents exist, are the Root or folders, and form no cycle.
- Errors name FILE:LINE:COL of the key (or list item) at fault, as ``ramguard.toml`` and
  catalog overlays do; every problem is collected before the file is refused.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from compiler.language.diagnostics import CompileError, Diagnostic, Span, error, shorten
from compiler.language.sources import read_source
from compiler.model.ir import RuleSet

ORG_FILE = "org.toml"
MAX_ORG_BYTES = 1024 * 1024
MAX_FOLDER_DEPTH = 5
FULL_ALIYUN_ACCESS = "FullAliyunAccess"
_KINDS = ("root", "folder", "account")
_KEYS = {
    "root": ("id", "full_aliyun_access", "policies"),
    "folder": ("id", "parent", "full_aliyun_access", "policies"),
    "account": ("id", "parent", "full_aliyun_access", "policies"),
}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*\Z")


@dataclass(frozen=True, slots=True)
class OrgNode:
    id: str
    kind: str
    """``root``, ``folder`` or ``account``."""
    parent: str | None
    full_aliyun_access: bool
    policies: tuple[str, ...]
    """Names of the control policies attached here (this file's list, then headers')."""
    span: Span = field(compare=False)
    """Where the node's id is written (the quoted value of ``id = "…"``)."""


@dataclass(frozen=True, slots=True)
class Org:
    path: str
    nodes: tuple[OrgNode, ...]
    """The Root first, then folders and accounts in file order."""
    text: str = field(default="", compare=False, repr=False)
    """The file's text: diagnostics about it show the line."""

    @property
    def root(self) -> OrgNode:
        return self.nodes[0]

    def node(self, node_id: str) -> OrgNode | None:
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None

    def chain(self, node_id: str) -> tuple[OrgNode, ...]:
        """``Root → folders → node``; KeyError when the node is not described."""
        by_id = {n.id: n for n in self.nodes}
        out = [by_id[node_id]]
        while out[-1].parent is not None:
            out.append(by_id[out[-1].parent])
        return tuple(reversed(out))

    @property
    def accounts(self) -> tuple[OrgNode, ...]:
        return tuple(n for n in self.nodes if n.kind == "account")


class _Locator:
    """Positions in the file's text: the n-th ``[[kind]]`` table and a key (or a list item)
    inside it. tomllib reports none, so the text is searched in order, table by table."""

    def __init__(self, path: str, text: str) -> None:
        self.path, self.text = path, text
        self.tables: dict[str, list[int]] = {k: [] for k in _KINDS}
        self.starts: list[int] = []
        for m in re.finditer(r"^[ \t]*\[\[?[ \t]*([A-Za-z_\-]+)[ \t]*\]\]?", text, re.M):
            self.starts.append(m.start())
            if m.group(1) in self.tables:
                self.tables[m.group(1)].append(m.start(1))

    def _span(self, offset: int, length: int) -> Span:
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Span(self.path, line, col, line, col + max(length, 1))

    def table(self, kind: str, n: int) -> Span:
        offsets = self.tables.get(kind, [])
        if n < len(offsets):
            return self._span(offsets[n], len(kind))
        return Span(self.path, 1, 1, 1, 1)

    def key(self, kind: str, n: int, key: str, item: str | None = None, copy: int = 0) -> Span:
        """The key of the n-th ``[[kind]]`` table, or with ``item`` that list item's
        ``copy``-th occurrence (0: the first), in either TOML quote."""
        offsets = self.tables.get(kind, [])
        if n >= len(offsets):
            return Span(self.path, 1, 1, 1, 1)
        start = offsets[n]
        end = next((s for s in self.starts if s > start), len(self.text))
        body = self.text[start:end]
        m = re.search(rf"^[ \t]*\"?{re.escape(key)}\"?[ \t]*=", body, re.M)
        if m is None:
            return self.table(kind, n)
        at = start + m.start() + len(m.group(0)) - len(m.group(0).lstrip(" \t"))
        if item is not None:
            quoted = re.compile(rf"([\"']){re.escape(item)}\1")
            found = list(
                itertools.islice(quoted.finditer(self.text, start + m.end(), end), copy + 1)
            )
            if len(found) > copy:
                return self._span(found[copy].start(), len(item) + 2)
        return self._span(at, len(key))


def read_org(path: str | Path) -> Org:
    """Read and check ``org.toml`` on its own (``bind_org`` checks it against the rules)."""
    name = str(path)
    text = read_source(Path(path), "TOML", MAX_ORG_BYTES, toml=True)
    return parse_org(name, text)


def parse_org(name: str, text: str) -> Org:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        reason = message[: m.start()].strip() if m else message
        raise CompileError(
            [
                error(
                    "E0900",
                    f"not valid TOML: {reason[:1].lower() + reason[1:]}",
                    Span(name, line, col, line, col + 1),
                    source=text,
                )
            ]
        ) from None
    where = _Locator(name, text)
    diags: list[Diagnostic] = []
    nodes = _nodes(data, where, diags)
    if not diags:
        _check_tree(nodes, where, diags)
    if diags:
        raise CompileError([_with_source(d, text) for d in diags])
    return Org(name, tuple(node for _, _, node in nodes), text)


def _with_source(d: Diagnostic, text: str) -> Diagnostic:
    return Diagnostic(d.code, d.severity, d.message, d.span, d.help, d.source or text)


# (kind, position among its kind, node): positions let errors find the table again.
_Raw = tuple[str, int, OrgNode]


def _nodes(data: dict, where: _Locator, diags: list[Diagnostic]) -> list[_Raw]:
    for key in data:
        if key not in _KINDS:
            diags.append(
                error(
                    "E0901",
                    f"unknown table `{shorten(key)}`",
                    _first(where, key),
                    help="org.toml holds one [root], and [[folder]] and [[account]] tables",
                )
            )
    if diags:
        return []
    root = data.get("root")
    if not isinstance(root, dict):
        diags.append(
            error(
                "E0902",
                "org.toml needs one [root] table" + (" (not a list)" if root else ""),
                where.table("root", 0),
                help='[root] with id = "r-…", the Root folder of the resource directory',
            )
        )
        return []
    out: list[_Raw] = []
    one = _node("root", 0, root, where, diags)
    if one is not None:
        out.append(("root", 0, one))
    for kind in ("folder", "account"):
        tables = data.get(kind, [])
        if not isinstance(tables, list):
            diags.append(
                error("E0902", f"`{kind}` must be tables written [[{kind}]]", where.table(kind, 0))
            )
            continue
        for n, table in enumerate(tables):
            if not isinstance(table, dict):  # `folder = ["fd-1"]`: items must be tables
                diags.append(
                    error(
                        "E0902",
                        f"`{kind}` must be tables written [[{kind}]]",
                        _first(where, kind),
                    )
                )
                break
            one = _node(kind, n, table, where, diags)
            if one is not None:
                out.append((kind, n, one))
    return out


def _first(where: _Locator, key: str) -> Span:
    """A top-level key or table header (``[nodes]``, ``nodes = …``)."""
    m = re.search(rf"^[ \t]*\[*[ \t]*\"?({re.escape(key)})\"?[ \t]*[\]=.]", where.text, re.M)
    return where._span(m.start(1), len(key)) if m else Span(where.path, 1, 1, 1, 1)


def _node(kind: str, n: int, table: dict, where: _Locator, diags: list[Diagnostic]):
    before = len(diags)
    for key in table:
        if key not in _KEYS[kind]:
            diags.append(
                error(
                    "E0903",
                    f"unknown key `{shorten(key)}` in [{kind}]",
                    where.key(kind, n, key),
                    help="keys: " + ", ".join(_KEYS[kind]),
                )
            )
    node_id = table.get("id")
    if isinstance(node_id, str) and node_id and not _ID.match(node_id):
        # The id is there: saying it is missing would send the user looking for it.
        diags.append(
            error(
                "E0904",
                f"[{kind}] `id` `{shorten(node_id)}` is not a node id",
                where.key(kind, n, "id"),
                help="an id is letters, digits, `-` and `_`, starting with a letter or digit, "
                "as Resource Directory writes it (`r-…`, `fd-…`, the account's number)",
            )
        )
    elif not isinstance(node_id, str) or not _ID.match(node_id):
        diags.append(
            error(
                "E0904",
                f"[{kind}] needs an `id`: the "
                + {"root": "Root folder's id (`r-…`)", "folder": "folder's id (`fd-…`)"}.get(
                    kind, "member account's id"
                ),
                where.key(kind, n, "id") if "id" in table else where.table(kind, n),
            )
        )
    parent = table.get("parent")
    if kind != "root" and not isinstance(parent, str):
        diags.append(
            error(
                "E0904",
                f"[{kind}] needs a `parent`: the Root's or a folder's id",
                where.key(kind, n, "parent") if "parent" in table else where.table(kind, n),
            )
        )
    access = table.get("full_aliyun_access", True)
    if not isinstance(access, bool):
        diags.append(
            error(
                "E0905",
                "`full_aliyun_access` must be true or false",
                where.key(kind, n, "full_aliyun_access"),
                help="false: FullAliyunAccess is detached from this node (an allow list)",
            )
        )
    policies = table.get("policies", [])
    if not isinstance(policies, list) or not all(isinstance(p, str) and p for p in policies):
        diags.append(
            error(
                "E0905",
                "`policies` must be a list of policy names",
                where.key(kind, n, "policies"),
            )
        )
        policies = []
    elif len(set(policies)) != len(policies):
        twice = next(p for p in policies if policies.count(p) > 1)
        # At the second copy, the one to delete; the first is named in the help.
        first = where.key(kind, n, "policies", twice)
        diags.append(
            error(
                "E0905",
                f"policy `{shorten(twice)}` is attached twice here",
                where.key(kind, n, "policies", twice, copy=1),
                help=f"first at line {first.line}, column {first.col}: delete this copy",
            )
        )
    if len(diags) > before:
        return None
    return OrgNode(
        node_id,
        kind,
        parent if kind != "root" else None,
        access,
        tuple(policies),
        where.key(kind, n, "id", node_id),
    )


def _check_tree(nodes: list[_Raw], where: _Locator, diags: list[Diagnostic]) -> None:
    by_id: dict[str, tuple[str, int, OrgNode]] = {}
    for kind, n, node in nodes:
        if node.id in by_id:
            diags.append(
                error(
                    "E0906",
                    f"`{shorten(node.id)}` is described twice",
                    node.span,
                    help=f"first at line {by_id[node.id][2].span.line}",
                )
            )
            continue
        by_id[node.id] = (kind, n, node)
    for kind, n, node in nodes:
        if node.parent is None:
            continue
        parent = by_id.get(node.parent)
        span = where.key(kind, n, "parent", node.parent)
        if parent is None:
            diags.append(
                error(
                    "E0907",
                    f"parent `{shorten(node.parent)}` is not described in this file",
                    span,
                    help="a parent is the [root] or a [[folder]] of this file",
                )
            )
        elif parent[0] == "account":
            diags.append(error("E0907", "an account cannot be a parent", span))
    if diags:
        return
    for kind, n, node in nodes:
        seen, depth, at = {node.id}, 0, node
        while at.parent is not None:
            at = by_id[at.parent][2]
            if at.id in seen:
                diags.append(error("E0908", "folders form a cycle", where.key(kind, n, "parent")))
                break
            seen.add(at.id)
            depth += 1
        else:
            folders = depth - (1 if kind == "account" else 0)
            if kind == "folder" and folders > MAX_FOLDER_DEPTH:
                diags.append(
                    error(
                        "E0909",
                        f"folder `{shorten(node.id)}` is {folders} levels below the Root",
                        node.span,
                        help=f"a resource directory holds at most {MAX_FOLDER_DEPTH} levels "
                        "of folders",
                    )
                )


def bind_org(org: Org, ruleset: RuleSet, sources: dict[str, str] | None = None) -> Org:
    """The org with each node's attached policies complete (this file's lists, then the
    policies whose headers attach to the node), checked against the compiled rules."""
    known = {p.name: p for p in ruleset.policies}
    diags: list[Diagnostic] = []
    ids = {n.id for n in org.nodes}
    for policy in ruleset.policies:
        for node_id in policy.attach:
            if node_id not in ids:
                diags.append(
                    error(
                        "E0910",
                        f"policy `{policy.name}` is attached to `{shorten(node_id)}`, which "
                        f"{org.path} does not describe",
                        policy.span or Span(policy.file, 1, 1, 1, 1),
                        help=f"add the node to {org.path}, or take it out of `attach [...]`",
                        source=(sources or {}).get(policy.file),
                    )
                )
    nodes = []
    for node in org.nodes:
        for name in node.policies:
            policy = known.get(name)
            problem = None
            if policy is None:
                problem = f"no policy `{shorten(name)}` in the compiled rules"
            elif policy.deploy != "control-policy":
                problem = f"policy `{name}` is not a control policy"
            if problem:
                diags.append(
                    error(
                        "E0911",
                        problem,
                        _item_span(org, node, name),
                        help="name a policy headed `policy NAME … for control-policy`",
                        source=org.text or None,
                    )
                )
        attached = list(node.policies)
        attached += [p.name for p in ruleset.policies if node.id in p.attach]
        nodes.append(replace(node, policies=tuple(dict.fromkeys(attached))))
    if diags:
        raise CompileError(diags)
    return replace(org, nodes=tuple(nodes))


def _item_span(org: Org, node: OrgNode, name: str) -> Span:
    kinds = [n for n in org.nodes if n.kind == node.kind]
    return _Locator(org.path, org.text).key(node.kind, kinds.index(node), "policies", name)


def find_org(directory: Path) -> Path | None:
    """``org.toml`` in ``directory``, if there is one (how ``ramguard test`` finds it).
    Anything of that name counts, a directory too: reading it is then the error (silently
    passing over it would decide, check and prove without the org the user wrote)."""
    candidate = directory / ORG_FILE
    return candidate if candidate.exists() else None
