"""`ramguard graph`: the radix view of the decision trie, as DOT and GraphML."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from compiler import compile_rules, compile_sources
from compiler.cli import main
from compiler.decide.graph import to_dot, to_graphml, trie_graph

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "policies" / "leaked-accesskey-protection.rules"

QUOTED = """\
deny ECS DeleteInstance when vpc in ["a\\"b", "back\\\\slash"]
deny ECS RunInstance? when mfa = false
deny RDS Delete*
deny ECS RunInstances
"""


def _policy(which: str):
    if which == "seed":
        return compile_rules([SEED])
    return compile_sources([("quoted.rules", QUOTED)])


POLICIES = ["seed", "quoted"]


@pytest.fixture(scope="module", params=POLICIES)
def compiled(request):
    policy = _policy(request.param)
    return policy, trie_graph(policy.trie)


def _collapse(pattern: str) -> str:
    """What the trie stores for a pattern: lowercased, `**` read as `*`."""
    out = []
    for ch in pattern.lower():
        if not (ch == "*" and out and out[-1] == "*"):
            out.append(ch)
    return "".join(out)


def test_graph_is_a_tree_rooted_at_n0(compiled):
    _, g = compiled
    assert nx.is_arborescence(g)
    assert g.nodes["n0"]["kind"] == "root"
    assert g.in_degree("n0") == 0


def test_edge_labels_hold_one_character_per_trie_node(compiled):
    policy, g = compiled
    assert sum(len(label) for _, _, label in g.edges(data="label")) == policy.trie.node_count - 1


def test_entry_nodes_are_the_trie_nodes_with_entries(compiled):
    policy, g = compiled
    stack, with_entries = [policy.trie.root], 0
    while stack:
        node = stack.pop()
        with_entries += bool(node.entries)
        stack.extend(node.children.values())
    entries = [n for n, kind in g.nodes(data="kind") if kind == "entry"]
    assert len(entries) == with_entries


def test_literal_chains_are_compressed(compiled):
    _, g = compiled
    for node, attrs in g.nodes(data=True):
        if attrs["kind"] != "node" or g.out_degree(node) != 1:
            continue
        ((_, _, out_kind),) = g.out_edges(node, data="kind")
        ((_, _, in_kind),) = g.in_edges(node, data="kind")
        # a bare pass-through survives only next to a glob edge
        assert "literal" not in (in_kind, out_kind) or in_kind != out_kind, node


def test_every_rule_pattern_is_reachable_as_an_entry(compiled):
    policy, g = compiled
    reachable = nx.descendants(g, "n0")
    found: dict[int, set[str]] = {}
    for node, attrs in g.nodes(data=True):
        if attrs["kind"] != "entry":
            continue
        assert node in reachable
        for index in attrs["rules"].split(","):
            found.setdefault(int(index), set()).add(attrs["prefix"])
    for rule in policy.rules:
        assert found[rule.index] == {_collapse(p) for p in rule.actions}, rule.text


def test_edge_prefixes_spell_the_path(compiled):
    _, g = compiled
    for parent, child, label in g.edges(data="label"):
        assert g.nodes[child]["prefix"] == g.nodes[parent]["prefix"] + label


@pytest.mark.parametrize("which", POLICIES)
def test_glob_edges_are_dashed_and_alone(which):
    g = trie_graph(_policy(which).trie)
    kinds = {"*": "star", "?": "one"}
    globs = 0
    for _, _, attrs in g.edges(data=True):
        label = attrs["label"]
        if label in kinds:
            globs += 1
            assert (attrs["kind"], attrs["style"]) == (kinds[label], "dashed")
        else:
            assert "*" not in label and "?" not in label
            assert (attrs["kind"], attrs["style"]) == ("literal", "solid")
    assert globs > 0


def test_entry_label_names_file_line_and_text():
    g = trie_graph(_policy("seed").trie)
    entry = next(a for _, a in g.nodes(data=True) if a["prefix"] == "ram:*")
    assert entry["label"] == "leaked-accesskey-protection.rules:7  deny RAM *"
    assert entry["rules_text"] == f"{SEED}:7: deny RAM *"


# -- DOT ----------------------------------------------------------------------------------


def _dot_structure(dot: str) -> tuple[list[str], list[str]]:
    """Quoted strings (decoded) and the bracket characters outside them; fails on an
    unterminated string."""
    strings, brackets = [], []
    i = 0
    while i < len(dot):
        ch = dot[i]
        if ch == '"':
            j = i + 1
            while dot[j] != '"':
                j += 2 if dot[j] == "\\" else 1
            strings.append(json.loads(dot[i : j + 1]))
            i = j + 1
            continue
        if ch in "{}[]":
            brackets.append(ch)
        i += 1
    return strings, brackets


def _balanced(brackets: list[str]) -> bool:
    stack: list[str] = []
    for ch in brackets:
        if ch in "{[":
            stack.append(ch)
        elif not stack or {"}": "{", "]": "["}[ch] != stack.pop():
            return False
    return not stack


@pytest.mark.parametrize("which", POLICIES)
def test_dot_is_balanced_and_carries_every_rule_text(which):
    policy = _policy(which)
    dot = to_dot(trie_graph(policy.trie))
    strings, brackets = _dot_structure(dot)
    assert _balanced(brackets)
    assert brackets.count("{") == 1
    assert dot.startswith('digraph "decision trie" {') and dot.endswith("}\n")
    for rule in policy.rules:
        assert json.dumps(rule.text, ensure_ascii=False)[1:-1] in dot
        assert any(rule.text in s for s in strings)


def test_dot_quote_in_rule_text_stays_inside_its_string():
    dot = to_dot(trie_graph(_policy("quoted").trie))
    assert '[\\"a\\\\\\"b\\", \\"back\\\\\\\\slash\\"]' in dot
    strings, _ = _dot_structure(dot)
    assert 'deny ECS DeleteInstance when vpc in ["a\\"b", "back\\\\slash"]' in "".join(strings)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` is not installed")
@pytest.mark.parametrize("which", POLICIES)
def test_graphviz_reads_the_dot(which):
    dot = to_dot(trie_graph(_policy(which).trie))
    done = subprocess.run(
        ["dot", "-Tplain"], input=dot, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# -- GraphML ------------------------------------------------------------------------------


@pytest.mark.parametrize("which", POLICIES)
def test_graphml_loads_back(which, tmp_path):
    g = trie_graph(_policy(which).trie)
    path = tmp_path / "trie.graphml"
    path.write_text(to_graphml(g), encoding="utf-8")
    back = nx.read_graphml(path)
    assert list(back.nodes) == list(g.nodes)
    assert list(back.edges) == list(g.edges)
    assert dict(back.nodes(data=True)) == dict(g.nodes(data=True))
    assert {(u, v): d for u, v, d in back.edges(data=True)} == {
        (u, v): d for u, v, d in g.edges(data=True)
    }


# -- determinism and the CLI --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dot", "graphml"])
def test_output_is_identical_across_processes(fmt):
    # Different hash seeds: nothing may depend on set or dict-of-str iteration order.
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from compiler.cli import main; main()",
                "graph",
                "--rules",
                str(SEED),
                "--format",
                fmt,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_cli_writes_out_file(tmp_path):
    out = tmp_path / "trie.graphml"
    result = CliRunner().invoke(
        main, ["graph", "--rules", str(SEED), "--format", "graphml", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert (
        nx.read_graphml(out).number_of_nodes() == trie_graph(_policy("seed").trie).number_of_nodes()
    )


def test_cli_stdout_is_the_library_dot():
    result = CliRunner().invoke(main, ["graph", "--rules", str(SEED)])
    assert result.exit_code == 0
    assert result.output == to_dot(trie_graph(_policy("seed").trie))


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--rules", "nope.rules"], 1, "nope.rules: error: no such file", id="missing"),
        pytest.param(["--rules", str(SEED), "--format", "png"], 2, "Invalid value", id="format"),
    ],
)
def test_cli_errors(args, code, message):
    result = CliRunner().invoke(main, ["graph", *args])
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output
