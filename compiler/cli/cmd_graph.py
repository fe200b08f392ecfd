"""``ramguard graph``: the decision trie as DOT or GraphML."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.common import (
    catalog_option,
    fail_at,
    output_file,
    refuse_clashes,
    rules_option,
)
from compiler.decide.graph import to_dot, to_graphml, trie_graph
from compiler.files import atomic_write
from compiler.language.sources import expand_paths
from compiler.policy import compile_rules


@click.command("graph")
@rules_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "graphml"]),
    default="dot",
    show_default=True,
)
@click.option(
    "--out",
    "out",
    type=output_file(),
    default=None,
    help="Write to FILE (atomically) instead of stdout (`-`: stdout).",
)
@catalog_option
def command(rules: tuple[Path, ...], fmt: str, out: Path | None, catalog) -> None:
    """Draw the decision trie: literal runs as one edge, `*` and `?` edges dashed, each
    pattern's end labelled with its rule's file:line and text.

    \b
    Examples:
      ramguard graph --rules policies | dot -Tsvg > trie.svg
      ramguard graph --rules policies --format graphml --out trie.graphml
    """
    if out is not None:
        refuse_clashes([("--out", out)], [("--rules", p) for p in expand_paths(rules)])
    policy = compile_rules(rules, catalog)
    graph = trie_graph(policy.trie)
    text = to_dot(graph) if fmt == "dot" else to_graphml(graph)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        atomic_write(out, text.encode("utf-8"))
    except OSError as exc:
        fail_at(str(out), f"cannot write: {(exc.strerror or str(exc)).lower()}")
