"""The decision trie as a picture: a radix view of ``DecisionTrie`` as a networkx graph.

The trie has one node per character; drawn as is, the seed policy is two thousand nodes. Here
each chain of literal characters through nodes that neither branch nor hold a rule becomes one
edge labelled with the substring, so a graph node is the root, a branch point, a node where a
rule's pattern ends (an *entry*), or the end of a ``*``/``?`` edge. Glob edges stay one
character each, dashed, because they are where lookup keeps several nodes live.

Invariants the tests check: the graph is a tree rooted at ``n0``; the edge labels hold exactly
one character per trie node below the root; each entry node's ``prefix`` is a pattern of every
rule it names.

DOT is written here rather than through pydot: every label and tooltip is quoted as a JSON
string (DOT's quoted strings take ``\\"`` and ``\\\\`` the same way, and ``\\n`` is its line
break), node ids are ``n<preorder>``, and the order is the tree's, children sorted.
"""

from __future__ import annotations

import io
import json
from pathlib import PurePath

import networkx as nx

from compiler.decide.trie import DecisionTrie, _Node
from compiler.files import xml_text
from compiler.model.ir import Rule

_GLOBS = frozenset("*?")
# Rule text shown on an entry node is cut here so the picture stays readable; the whole text
# is kept in the node's `tooltip` (shown on hover in SVG) and `rules_text` attributes.
_LABEL_TEXT = 30

# Graph → DOT attributes, in the order they are written.
_DOT_NODE_ATTRS = ("label", "shape", "style", "width", "tooltip")
_DOT_EDGE_ATTRS = ("label", "style", "tooltip")
_DOT_HEADER = (
    "  rankdir=LR;\n"
    "  ordering=out;\n"
    "  nodesep=0.08;\n"
    "  ranksep=0.25;\n"
    '  node [fontname="Helvetica", fontsize=10, height=0.2, margin="0.06,0.02"];\n'
    '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.5];\n'
)


def trie_graph(trie: DecisionTrie) -> nx.DiGraph:
    """The radix view of ``trie``: node and edge attributes are plain strings (and ints)."""
    g = nx.DiGraph(name="decision trie")
    # Explicit stack rather than recursion (a 10,000-character pattern must not overflow);
    # children are pushed reversed so they pop in sorted order and ids follow the preorder.
    # NotAction rules hang on a second root: the patterns they except (`except [...]`).
    roots = [(trie.root, "root")]
    if trie.except_root is not None:
        roots.append((trie.except_root, "except (NotAction)"))
    stack: list[tuple[str | None, str, _Node, str]] = [
        (None, title, root, "") for root, title in reversed(roots)
    ]
    while stack:
        parent_id, label, node, prefix = stack.pop()
        node_id = f"n{g.number_of_nodes()}"
        attrs = _node_attrs(trie, node, prefix, root=parent_id is None)
        if parent_id is None:
            attrs["label"] = attrs["tooltip"] = label
        g.add_node(node_id, **attrs)
        if parent_id is not None:
            g.add_edge(
                parent_id,
                node_id,
                label=label,
                kind={"*": "star", "?": "one"}.get(label, "literal"),
                style="dashed" if label in _GLOBS else "solid",
                tooltip=prefix,
            )
        for ch, child in sorted(node.children.items(), reverse=True):
            run, end = _run(ch, child)
            stack.append((node_id, run, end, prefix + run))
    return g


def _run(ch: str, child: _Node) -> tuple[str, _Node]:
    """Follow a chain of literal characters from ``child`` to the next node worth drawing."""
    label = ch
    node = child
    if ch in _GLOBS:
        return label, node
    while not node.entries and len(node.children) == 1:
        ((nxt_ch, nxt),) = node.children.items()
        if nxt_ch in _GLOBS:
            break
        label += nxt_ch
        node = nxt
    return label, node


def _node_attrs(trie: DecisionTrie, node: _Node, prefix: str, *, root: bool) -> dict:
    rules = [trie.rule(i) for i in sorted(node.entries)]
    if root:
        kind, label = "root", "root"
    elif rules:
        kind, label = "entry", "\n".join(_short(r) for r in rules)
    else:
        kind, label = "node", ""
    return {
        "kind": kind,
        "label": label,
        "prefix": prefix,
        "rules": ",".join(str(r.index) for r in rules),
        "rules_text": "\n".join(f"{r.file}:{r.line}: {r.text}" for r in rules),
        "shape": {"root": "circle", "entry": "box", "node": "point"}[kind],
        "style": "rounded" if kind == "entry" else "solid",
        # Graphviz's default point is heavy next to 10pt text.
        "width": "0.06" if kind == "node" else "0.3",
        "tooltip": "\n".join(f"{r.file}:{r.line}: {r.text}" for r in rules) or prefix or "root",
    }


def _short(rule: Rule) -> str:
    text = rule.text if len(rule.text) <= _LABEL_TEXT else rule.text[: _LABEL_TEXT - 1] + "…"
    return f"{PurePath(rule.file).name}:{rule.line}  {text}"


# -- output -------------------------------------------------------------------------------


def _xml_value(value: object) -> object:
    return xml_text(value) if isinstance(value, str) else value


def _quote(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def to_dot(g: nx.DiGraph) -> str:
    """DOT text for ``g``: every id and value quoted, nodes and edges in graph order."""
    out = io.StringIO()
    out.write(f"digraph {_quote(g.graph.get('name', 'trie'))} {{\n")
    out.write(_DOT_HEADER)
    for node_id, attrs in g.nodes(data=True):
        out.write(f"  {_quote(node_id)}{_attr_list(attrs, _DOT_NODE_ATTRS)};\n")
    for src, dst, attrs in g.edges(data=True):
        out.write(f"  {_quote(src)} -> {_quote(dst)}{_attr_list(attrs, _DOT_EDGE_ATTRS)};\n")
    out.write("}\n")
    return out.getvalue()


def _attr_list(attrs: dict, names: tuple[str, ...]) -> str:
    parts = [f"{name}={_quote(attrs[name])}" for name in names if name in attrs]
    return f" [{', '.join(parts)}]" if parts else ""


def to_graphml(g: nx.DiGraph) -> str:
    """GraphML for ``g``; ids and string values pass through ``xml_text``, so a rule or file
    name holding a control character still gives XML a parser reads."""
    safe = nx.DiGraph()
    safe.graph.update({k: _xml_value(v) for k, v in g.graph.items()})
    for node_id, attrs in g.nodes(data=True):
        safe.add_node(_xml_value(node_id), **{k: _xml_value(v) for k, v in attrs.items()})
    for src, dst, attrs in g.edges(data=True):
        safe.add_edge(
            _xml_value(src), _xml_value(dst), **{k: _xml_value(v) for k, v in attrs.items()}
        )
    buf = io.BytesIO()
    nx.write_graphml(safe, buf, encoding="utf-8", prettyprint=True)
    return buf.getvalue().decode("utf-8")
