"""Terminal rendering of results the API computes: explanations and benchmark tables.

Only ``cli`` imports rich. User text (rules, keys, values) enters rich as ``Text`` objects,
never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from compiler.cli.common import printable
from compiler.decide.explain import Explanation, RuleTrace
from compiler.decide.explain_chain import ChainExplanation
from compiler.language.diagnostics import counted
from compiler.model.keys import RAM_KEY_TO_NAME
from compiler.replay.bench import EngineResult, Row

# -- text rendering -----------------------------------------------------------------------
# Every piece of user text enters rich as a ``Text`` object, never as markup: a rule such as
# `vpc in ["a"]` would otherwise be read as a style tag and vanish, and `[/x]` raises
# MarkupError. ``text`` also shows control characters escaped (``printable``): an access key
# holding ESC sequences must not retitle or clear the user's terminal.


class stdout_console:
    """Where results go: a rich Console on a terminal; elsewhere (a pipe, a file) whole lines,
    never wrapped at 80 columns nor padded with trailing spaces, and no colour codes."""

    def __init__(self) -> None:
        import sys

        self._stream = sys.stdout
        self._terminal = self._stream.isatty()
        self._console = Console(file=self._stream, highlight=False)

    def print(self, renderable) -> None:
        if self._terminal:
            self._console.print(renderable)
            return
        import io

        buffer = io.StringIO()
        wide = Console(
            file=buffer, width=1_000_000, highlight=False, color_system=None, legacy_windows=False
        )
        wide.print(renderable)
        self._stream.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))


def text(value: object, style: str = "") -> Text:
    """User text (or anything) as a rich ``Text``: never markup, never raw control codes."""
    return Text(printable(str(value)), style=style)


def _append(line: Text, value: object, style: str = "") -> None:
    line.append(printable(str(value)), style=style)


def to_renderable(exp: Explanation) -> Tree:
    """A rich tree: the request, each rule considered with its conditions, the decision."""
    head = Text()
    _append(head, exp.action, style="bold")
    head.append(" → ")
    head.append(
        exp.decision.decision.upper(), style="bold red" if exp.decision.denied else "bold green"
    )
    if exp.context:
        shown = (f"{RAM_KEY_TO_NAME.get(k.lower(), k)}={v}" for k, v in exp.context)
        _append(head, "   context: " + ", ".join(shown))
    else:
        head.append("   context: (empty)")
    tree = Tree(head)
    scope = "all rules" if exp.all_rules else "rules whose service could apply"
    considered = tree.add(
        Text(
            f"{len(exp.rules)} of {counted(exp.total_rules, 'rule', grouped=False)} considered "
            f"({scope})",
            style="dim",
        )
    )
    for rule in exp.rules:
        _add_rule(considered, rule)
    verdict = Text()
    verdict.append("decision: ", style="bold")
    verdict.append(exp.decision.decision, style="bold")
    _append(verdict, f" — {exp.reason}")
    tree.add(verdict)
    return tree


def _add_rule(parent: Tree, rule: RuleTrace, verb: str = "DENIES") -> None:
    label = Text()
    _append(label, rule.location, style="cyan")
    label.append("  ")
    _append(label, rule.text)
    if rule.denies:  # the rule matches: an `allow` rule's verb is ALLOWS
        label.append(f"  {verb}", style="bold red" if verb == "DENIES" else "bold green")
    node = parent.add(label)
    if rule.not_actions:
        if not rule.actions_matched:
            node.add(text(f"actions: excepted by {rule.matched_pattern}", style="dim"))
            return
        node.add(Text("actions: no exception matches (NotAction)"))
    elif not rule.actions_matched:
        node.add(Text("actions: no pattern matches", style="dim"))
        return
    else:
        node.add(text(f"actions: match {rule.matched_pattern}"))
    if rule.resources != ("*",):
        if rule.resource_matched is None:
            node.add(Text("resource: unknown (the rule needs one to match)", style="yellow"))
        elif rule.resource_matched:
            node.add(Text("resource: matches"))
        else:
            node.add(Text("resource: matches none of the rule's ARNs", style="dim"))
            return
    if rule.unconditional:
        node.add(Text("conditions: none (unconditional)"))
        return
    many = len(rule.conjunctions) > 1
    for number, conj in enumerate(rule.conjunctions, 1):
        outcome = "holds" if conj.held else "fails"
        title = f"conjunction {number} of {len(rule.conjunctions)}" if many else "conditions"
        branch = node.add(Text(f"{title}: {outcome}", style="green" if conj.held else "yellow"))
        for cond in conj.conditions:
            line = Text()
            line.append(
                "held  " if cond.held else "failed", style="green" if cond.held else "yellow"
            )
            _append(line, f"  {cond.rules_form}")
            _append(line, f"  ({cond.operator} {cond.ram_key})", style="dim")
            line.append("\n")
            _append(line, cond.reason, style="dim")
            branch.add(line)


def chain_to_renderable(exp: ChainExplanation) -> Tree:
    """A rich tree of a request along its Resource Directory chain: each node (Root first)
    with its outcome, the rules that matched its action, and the decision."""
    head = Text()
    _append(head, exp.action, style="bold")
    _append(head, f" from account {exp.account} → ")
    denied = exp.decision.denied
    head.append(exp.decision.decision.upper(), style="bold red" if denied else "bold green")
    if exp.context:
        shown = (f"{RAM_KEY_TO_NAME.get(k.lower(), k)}={v}" for k, v in exp.context)
        _append(head, "   context: " + ", ".join(shown))
    tree = Tree(head)
    for node in exp.nodes:
        label = Text()
        _append(label, f"{node.kind} {node.node}", style="cyan")
        attached = list(node.policies) + (["FullAliyunAccess"] if node.full_aliyun_access else [])
        _append(label, f"  [{', '.join(attached) or 'nothing attached'}]", style="dim")
        label.append("  ")
        style = {"deny": "bold red", "allow": "green"}.get(node.outcome, "bold yellow")
        _append(label, node.outcome, style=style)
        _append(label, f" — {node.reason}", style="dim")
        branch = tree.add(label)
        for rule in node.denies:
            _add_rule(branch, rule)
        for rule in node.allows:
            _add_rule(branch, rule, "ALLOWS")
    verdict = Text()
    verdict.append("decision: ", style="bold")
    verdict.append(exp.decision.decision, style="bold")
    _append(verdict, f" — {exp.reason}")
    tree.add(verdict)
    return tree


def render_table(rows: Sequence[Row], title: str = "ramguard benchmarks"):
    """A rich Table of rows: measured value, target, met / missed."""
    table = Table(title=text(title))
    table.add_column("measure")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_column("status")
    table.add_column("note")
    for row in rows:
        measured = "n/a" if row.measured is None else f"{row.measured:,.2f}{row.unit}"
        if row.target is None:
            target = "-"
        else:
            target = f"{'≥' if row.higher_is_better else '≤'} {row.target:g}{row.unit}"
        status = {
            True: Text("met", style="green"),
            False: Text("missed", style="red"),
            None: Text("-"),
        }[row.met]
        table.add_row(text(row.name), text(measured), text(target), status, text(row.note))
    return table


def engine_table(results: dict[str, EngineResult], title: str = "engines"):
    table = Table(title=text(title))
    for col in ("engine", "decisions", "decisions/s", "per decision", "p50", "p99", "note"):
        table.add_column(col, justify="left" if col in ("engine", "note") else "right")

    def ns(v: float | None) -> str:
        if v is None:
            return "n/a"
        return f"{v / 1000:,.1f} µs" if v >= 10_000 else f"{v:,.0f} ns"

    for name, r in results.items():
        rate = r.decisions_per_second
        cells = (
            name,
            f"{r.decisions:,}",
            "n/a" if rate is None else f"{rate:,.0f}",
            ns(r.per_decision_ns),
            ns(r.p50_ns),
            ns(r.p99_ns),
            r.note,
        )
        table.add_row(*(text(c) for c in cells))
    return table
