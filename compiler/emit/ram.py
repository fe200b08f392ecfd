"""Checked rules → RAM deny-policy documents, laid out by a Jinja template.

Python decides the content (grouping, sorting, pruning, splitting); the template only lays
it out, and every value enters it through ``json.dumps`` — no rule text can break out of a
JSON string. Output is byte-identical for the same rules: everything is sorted, nothing
depends on hashing order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

from compiler.language.diagnostics import CompileError, Span, error
from compiler.model.glob import CoverIndex, has_glob
from compiler.model.ir import Conjunction, PolicyIR, Rule

MAX_DOCUMENT_CHARS = 6144
"""RAM custom policy document limit (``ram/product-overview/limits``)."""
MAX_DOCUMENTS = 10
"""Custom policies attachable to one user, group or role."""
POLICY_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Limits:
    """How big a document may be and how many of them one attach point can hold.

    Sources (confirmed with the docs search, 2026-12-03):
    RAM: https://www.alibabacloud.com/help/en/ram/product-overview/limits (6,144 characters
    per custom policy document, 10 custom policies per principal; one API page says bytes);
    control policies: https://www.alibabacloud.com/help/en/resource-management/resource-directory/user-guide/limits
    (4,096 characters per control policy, 10 attached per folder or member).
    """

    target: str
    chars: int
    documents: int
    where: str
    """What the count limit is per, for messages."""


RAM_LIMITS = Limits("ram", MAX_DOCUMENT_CHARS, MAX_DOCUMENTS, "principal")
CONTROL_POLICY_LIMITS = Limits("control-policy", 4096, 10, "folder or member account")
LIMITS = {"ram": RAM_LIMITS, "control-policy": CONTROL_POLICY_LIMITS}
CONTROL_POLICIES_PER_DIRECTORY = 1500
"""Custom control policies one resource directory can hold: "Number of custom access control
policies that can be created in a resource directory: 1,500", not adjustable
(https://www.alibabacloud.com/help/en/resource-management/product-overview/limits, confirmed
2026-12-03). Custom only: the system policy FullAliyunAccess is not one of them."""
ROS_CONTROL_POLICY_LIMITS = Limits("control-policy", 2048, 10, "folder or member account")
"""A control policy deployed through ROS. The service takes 4,096 characters
(CreateControlPolicy: "The document can be a maximum of 4,096 characters in length",
https://www.alibabacloud.com/help/en/resource-management/developer-reference/api-resourcedirectorymaster-2022-04-19-createcontrolpolicy),
but ROS documents ``ALIYUN::ResourceManager::ControlPolicy``'s PolicyDocument as "up to 2,048
characters" (https://alibabacloud.com/help/en/ros/developer-reference/aliyun-resourcemanager-controlpolicy,
confirmed 2026-12-03) and may validate templates against it: ``--target ros`` holds the
stricter, as the issue asks where the docs disagree."""


def limits_for(policy: PolicyIR, target: str | None = None) -> Limits:
    """The limits a policy is held to: ``target`` when given, else its ``for`` header.
    ``ros``: a control policy's ROS limit, a RAM policy's own."""
    if target == "ros":
        return ROS_CONTROL_POLICY_LIMITS if policy.deploy == "control-policy" else RAM_LIMITS
    return LIMITS[target or policy.deploy]


def document_size(text: str) -> int:
    """A document's size as the stricter of characters and UTF-8 bytes (the docs disagree on
    which; ``json.dumps(ensure_ascii=True)`` makes them equal today, the rule keeps it safe)."""
    return max(len(text), len(text.encode("utf-8")))


@dataclass(frozen=True, slots=True)
class Statement:
    actions: tuple[str, ...]
    condition: tuple[tuple[str, tuple[tuple[str, object], ...]], ...]
    """Operator → key → value, as sorted pairs, so the template never sorts."""
    rules: tuple[int, ...]
    """Indexes of the rules this statement came from (for tracing JSON back to source)."""
    effect: str = "Deny"
    not_actions: bool = False
    """``actions`` are laid out as ``NotAction``."""
    resources: tuple[str, ...] = ("*",)

    @property
    def action_element(self) -> str:
        return "NotAction" if self.not_actions else "Action"

    @property
    def resource(self) -> object:
        """``"*"`` or the sorted list of ARN patterns."""
        return "*" if self.resources == ("*",) else list(self.resources)


@dataclass(frozen=True, slots=True)
class Document:
    """One emitted RAM policy document: the file name it goes to and its exact text."""

    policy: str
    filename: str
    text: str
    statements: tuple[Statement, ...]
    limit: int = MAX_DOCUMENT_CHARS
    """The size limit the document was packed against (for ``compile``'s size report)."""

    def as_dict(self) -> dict:
        return json.loads(self.text)


@cache
def _template() -> jinja2.Template:
    # Imported here: `ramguard decide` never emits, and jinja2 costs ~25 ms to import.
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compiler.emit", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    # One encoder for every value: json.dumps with sort_keys builds a new one per call, which
    # was a fifth of emitting 10,000 rules. Same options, same text.
    encode = json.JSONEncoder(ensure_ascii=True, sort_keys=True).encode
    env.filters["json"] = encode
    # A statement's actions, each JSON-encoded, joined in one call: Jinja's map and join
    # filters cost a filter dispatch per action.
    env.filters["json_join"] = lambda values, separator: separator.join(map(encode, values))
    return env.get_template("ram_policy.json.j2")


def render(statements: tuple[Statement, ...]) -> str:
    return _template().render(version=POLICY_VERSION, statements=statements)


def render_compact(statements: tuple[Statement, ...]) -> str:
    """The document as one line without spaces (``{"Version":"1","Statement":[…]}``), the
    elements in the template's order: how ``--target ros`` writes a control policy's
    ``PolicyDocument`` string, and so what ROS's 2,048 characters are counted on."""
    return json.dumps(json.loads(render(statements)), ensure_ascii=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Layout:
    """How a document is written, for packing: the renderer and the characters one more
    action adds to a statement besides its JSON string (its separating comma, and in the
    template its line break and indentation)."""

    render: Callable[[tuple[Statement, ...]], str]
    action_extra: int


# `\n` plus eight spaces of indentation before each action, and a comma after all but one.
_INDENTED = _Layout(render, 10)
_COMPACT = _Layout(render_compact, 1)


def _condition_block(conj: Conjunction):
    grouped: dict[str, dict[str, object]] = {}
    for cond in conj:
        if cond.operator == "Bool" or (
            cond.operator.startswith(("Date", "Numeric")) and len(cond.values) == 1
        ):
            value: object = cond.values[0]
        else:
            value = list(cond.values)
        grouped.setdefault(cond.operator, {})[cond.key] = value
    return tuple((op, tuple(sorted(keys.items()))) for op, keys in sorted(grouped.items()))


def _prune(actions: set[str]) -> tuple[str, ...]:
    """Sorted actions, dropping any that another action in the same statement covers
    (``ram:CreateUser`` next to ``ram:*``): the statement denies exactly the same."""
    ordered = sorted(actions, key=lambda a: (a.lower(), a))
    kept: list[str] = []
    seen_lower: set[str] = set()
    globs = [a for a in ordered if has_glob(a)]
    # Without a glob nothing covers anything else (most statements): no index to build.
    index = CoverIndex(globs) if globs else None
    for action in ordered:
        low = action.lower()
        # Spellings of one action or glob but for case (`ecs:Run*`, `ecs:run*`) match the
        # same strings: the first is kept, the others folded here.
        if low in seen_lower:
            continue
        if index is not None and index.covered(action):
            continue
        seen_lower.add(low)
        kept.append(action)
    return tuple(kept)


_Group = tuple[str, bool, tuple[str, ...], Conjunction, tuple[str, ...]]


def _group_order(group: _Group) -> tuple:
    # Unconditional first, then by condition text; a seed without resources or NotAction
    # sorts exactly as before issue 10 (its generated/ files stay byte-identical).
    effect, not_actions, resources, conj, excepted = group
    return (
        len(conj) > 0,
        json.dumps(_condition_block(conj)),
        effect,
        not_actions,
        resources,
        excepted,
    )


def statements_for(rules: tuple[Rule, ...]) -> tuple[Statement, ...]:
    """Rules with equal (effect, NotAction-ness, resources, conditions) share one statement;
    unconditional ones come first. NotAction rules share one only when their exceptions are
    equal too: one NotAction holding both rules' exceptions would deny less than either."""
    by_group: dict[_Group, tuple[set[str], set[int]]] = {}
    for rule in rules:
        excepted = tuple(sorted(set(rule.actions))) if rule.not_actions else ()
        for conj in rule.conditions:
            group = (rule.effect, rule.not_actions, rule.resources, conj, excepted)
            actions, sources = by_group.setdefault(group, (set(), set()))
            actions.update(rule.actions)
            sources.add(rule.index)
    out = []
    for group in sorted(by_group, key=_group_order):
        effect, not_actions, resources, conj, _ = group
        actions, sources = by_group[group]
        out.append(
            Statement(
                _prune(actions),
                _condition_block(conj),
                tuple(sorted(sources)),
                effect,
                not_actions,
                resources,
            )
        )
    return tuple(out)


@cache
def _empty_size(layout: _Layout = _INDENTED) -> int:
    return len(layout.render(()))


def _action_size(action: str, layout: _Layout = _INDENTED) -> int:
    """Characters one more action adds to a statement: its JSON string and what the layout
    puts around it (a separating comma; in the template, its own line)."""
    return len(json.dumps(action, ensure_ascii=True)) + layout.action_extra


def _header_size(st: Statement, layout: _Layout = _INDENTED) -> int:
    """Characters a statement takes besides its actions (so that a statement of actions A
    renders to ``_header_size + sum(_action_size(a)) - 1``, the last comma)."""
    actions = sum(_action_size(a, layout) for a in st.actions)
    return len(layout.render((st,))) - _empty_size(layout) - actions + 1


KIND = {"ram": "RAM", "control-policy": "control-policy"}


def _pack(
    statements: tuple[Statement, ...], policy: PolicyIR, limits: Limits, layout: _Layout
) -> list[list[Statement]]:
    """Fill documents in order, action by action; a statement that does not fit in what is
    left of a document continues, same condition, in the next one. Sizes come from
    arithmetic on the fixed template, so packing is linear; the caller verifies each
    document by rendering it."""
    budget = limits.chars - _empty_size(layout)
    groups: list[list[Statement]] = [[]]
    used = 0
    for st in statements:
        header = _header_size(st, layout)
        if st.not_actions:
            # A NotAction list cut in two would be two statements each denying what the
            # other excepts: it moves to the next document whole, or cannot be emitted.
            whole = header + sum(_action_size(a, layout) for a in st.actions) - 1
            separator = 1 if groups[-1] else 0
            if used + separator + whole > budget and groups[-1]:
                groups.append([])
                used, separator = 0, 0
                if len(groups) > limits.documents:
                    return groups
            if whole > budget:
                _too_big(st, whole + _empty_size(layout), policy, limits)
            groups[-1].append(st)
            used += separator + whole
            continue
        pending: list[str] = []
        size = 0
        for action in st.actions:
            add = _action_size(action, layout)
            separator = 1 if groups[-1] else 0  # the comma between two statements
            if used + separator + header + size + add - 1 > budget:
                if pending:
                    groups[-1].append(replace(st, actions=tuple(pending)))
                    pending, size = [], 0
                if groups[-1]:
                    groups.append([])
                    used = 0
                    if len(groups) > limits.documents:
                        return groups
                if header + add - 1 > budget:
                    _too_big(st, header + add - 1 + _empty_size(layout), policy, limits)
            pending.append(action)
            size += add
        if pending:
            separator = 1 if groups[-1] else 0
            groups[-1].append(replace(st, actions=tuple(pending)))
            used += separator + header + size - 1
    return groups


def _too_big(st: Statement, size: int, policy: PolicyIR, limits: Limits) -> None:
    # A single action with its conditions is over the limit: no split can help.
    rule = next(r for r in policy.emitted_rules if r.index == st.rules[0])
    raise CompileError(
        [
            error(
                "E0301",
                f"this rule makes a RAM statement of {size} characters that cannot be "
                f"split below the {limits.chars}-character {limits.target} document limit",
                rule.span,
                help="shorten its condition values or split them over several rules",
            )
        ]
    )


def documents_for(policy: PolicyIR, target: str | None = None) -> list[Document]:
    """The policy as RAM-language documents, split when over the size limit of its target
    (``name.1.json``…): a RAM custom policy or, ``for control-policy``, an RD control policy
    (the same language without ``Principal``, which these statements never carry)."""
    limits = limits_for(policy, target)
    # Through ROS a control policy's PolicyDocument is a string ramguard writes compact, so
    # its 2,048 characters are counted on that string (measured on the indented layout, a
    # policy that fits took a second part and a second attachment slot). A RAM policy there
    # is a map ROS serialises itself: it keeps the indented measure, longer than any
    # serialisation without indentation, so it holds whatever ROS sends.
    compact = target == "ros" and policy.deploy == "control-policy"
    layout = _COMPACT if compact else _INDENTED
    statements = statements_for(policy.emitted_rules)
    whole = layout.render(statements)
    if document_size(whole) <= limits.chars:
        return [Document(policy.name, f"{policy.name}.json", whole, statements, limits.chars)]
    groups = _pack(statements, policy, limits, layout)
    if len(groups) > limits.documents:
        raise CompileError(
            [
                error(
                    "E0300",
                    f"policy `{policy.name}` needs more than {limits.documents} "
                    f"{KIND[limits.target]} documents of at most {limits.chars} characters; "
                    f"at most {limits.documents} can be attached to one {limits.where}",
                    policy.span or Span(policy.file, 1, 1, 1, 1),
                    help="use broader globs (e.g. `ECS Delete*`) or split the rules across "
                    "principals",
                )
            ]
        )
    documents = []
    for n, group in enumerate(groups, start=1):
        text = layout.render(tuple(group))
        # The arithmetic above is exact for this template; a template change that broke it
        # must fail loudly rather than emit an oversized document.
        assert document_size(text) <= limits.chars, (policy.name, n, len(text))
        documents.append(
            Document(policy.name, f"{policy.name}.{n}.json", text, tuple(group), limits.chars)
        )
    return documents
