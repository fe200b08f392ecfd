"""``ramguard bench``: decision speed on your own rules and trace, as ratios."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from compiler.catalog import default_catalog
from compiler.cli.common import (
    catalog_option,
    echo,
    fail_at,
    printable,
    rules_option,
    text_or_json_option,
)
from compiler.cli.render import engine_table, render_table
from compiler.language.diagnostics import counted
from compiler.policy import compile_rules
from compiler.replay import TraceError, is_plain_jsonl
from compiler.replay.bench import (
    DEFAULT_LIMIT,
    load_requests,
    measure_engines,
    ratio_rows,
    replay_row,
)


@click.command("bench")
@rules_option
@click.option(
    "--trace",
    "traces",
    multiple=True,
    required=True,
    help='ActionTrail events (JSON array, {"Events": …}, JSON lines; .gz too); repeatable.',
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Decide at most this many events (they are held in memory).",
)
@click.option("--no-cedar", is_flag=True, help="Leave Cedar out.")
@click.option(
    "--fail-on-miss",
    is_flag=True,
    help="Exit 3 when a ratio misses its target (for a CI step; the ratios are still printed).",
)
@catalog_option
@text_or_json_option
def command(rules, traces, limit, no_cedar, fail_on_miss, catalog, fmt) -> None:
    """Time the trie, the RAM evaluator and Cedar on your rules and trace.

    Prints decisions/s, p50 and p99 per engine, and the ratios DESIGN.md sets targets for:
    trie vs a bare dict.get on the same action strings, RAM evaluator vs trie, Cedar vs trie,
    and (for an uncompressed JSON-lines trace) replay vs decoding the same file.

    \b
    Example:
      ramguard bench --rules policies --trace tests/data/sample-trace.jsonl.gz
    """
    policy = compile_rules(rules, catalog)
    catalog = catalog or default_catalog()  # events are mapped to actions through it too
    try:
        requests, skipped, first_malformed = load_requests(traces, catalog, limit)
    except TraceError as exc:
        echo(printable(str(exc)), err=True)  # already `PATH: error: message`: one line
        sys.exit(1)
    except OSError as exc:
        fail_at(str(exc.filename or "-"), (exc.strerror or str(exc)).lower())
    if not requests:
        # Named as simulate names it: which file, and the first line that is no event.
        where = traces[0] if len(traces) == 1 else f"{len(traces)} files"
        if first_malformed is not None:
            path, line, col, reason = first_malformed
            fail_at(
                where,
                f"no decidable events: {skipped:,} skipped (first malformed at "
                f"{printable(path)}:{line}:{col}: {reason}); is this an ActionTrail trace?",
            )
        held = f"{skipped:,} skipped" if skipped else "the trace holds no events"
        fail_at(where, f"no decidable events: {held}")
    jsonl = [t for t in traces if is_plain_jsonl(t)]
    replay = None
    if len(jsonl) == 1:
        # Before the engines' timings: a line the decode floor refuses ends the run early.
        try:
            replay = replay_row(policy, jsonl[0], catalog)
        except TraceError as exc:
            echo(printable(str(exc)), err=True)  # `PATH:LINE:COL: error: …`: one line
            sys.exit(1)
    results = measure_engines(policy, requests, cedar=not no_cedar)
    rows = ratio_rows(results)
    if replay is not None:
        rows.append(replay)
    if fmt == "json":
        data = {
            "requests": len(requests),
            "skipped": skipped,
            "engines": {name: r.to_dict() for name, r in results.items()},
            "ratios": [row.to_dict() for row in rows],
        }
        click.echo(json.dumps(data, indent=2))
    else:
        console = Console()
        console.print(
            engine_table(results, f"{counted(len(requests), 'request')} ({skipped} skipped)")
        )
        console.print(render_table(rows, "ratios"))
    missed = [row for row in rows if row.met is False]
    if fail_on_miss and missed:
        names = ", ".join(row.name for row in missed)
        click.echo(
            f"bench: {counted(len(missed), 'target', grouped=False)} missed: {names}", err=True
        )
        sys.exit(3)
