"""``ramguard simulate``: replay ActionTrail traces through the trie and the RAM JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from compiler.cli.common import fail_at, rules_option
from compiler.cli.report import print_summary
from compiler.files import atomic_write
from compiler.policy import compile_rules
from compiler.ram import PolicyDocumentError, RamEvaluator
from compiler.replay import TraceError
from compiler.replay.simulate import Engines, StrictModeError, report_dict, simulate

EXIT_MISMATCH = 1
EXIT_DENIED = 3


@click.command("simulate")
@rules_option
@click.option(
    "--policy",
    "policy_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="RAM policy JSON for the evaluator (repeatable); default: the rules' "
    "emitted documents, compiled in memory.",
)
@click.option(
    "--trace",
    "traces",
    multiple=True,
    required=True,
    help='ActionTrail events: JSON array, {"Events": …}, or JSON lines; .gz too; '
    "'-' for stdin (repeatable).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the full report as JSON.",
)
@click.option("--strict", is_flag=True, help="Stop at the first malformed event (exit 1).")
@click.option("--fail-on-deny", is_flag=True, help="Exit 3 when any event is denied.")
@click.option("--quiet", "-q", is_flag=True, help="No summary table.")
def command(rules, policy_files, traces, report_path, strict, fail_on_deny, quiet) -> None:
    """Replay recorded API calls through both engines and compare.

    Every event is decided by the decision trie and by an independent RAM policy evaluator
    reading the JSON documents; they must agree. The report also sets the predictions against
    what ActionTrail recorded (the leaked-AccessKey `Forbidden` counts as a recorded deny).

    Exit: 0 no mismatch; 1 a mismatch (or an error); 3 with --fail-on-deny when an event is
    denied and there is no mismatch.
    """
    policy = compile_rules(rules)
    try:
        if policy_files:
            engines = Engines(policy, RamEvaluator.from_files(policy_files))
        else:
            engines = Engines.for_policy(policy)
    except PolicyDocumentError as exc:
        fail_at(exc.location, exc.detail)
    stderr = Console(stderr=True)
    try:
        if stderr.is_terminal and not quiet:
            with Progress(
                TextColumn("replaying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("events"),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            ) as bar:
                task = bar.add_task("replay", total=None)
                result = simulate(
                    traces,
                    engines,
                    strict=strict,
                    progress=lambda n: bar.advance(task, n),
                )
        else:
            result = simulate(traces, engines, strict=strict)
    except (TraceError, StrictModeError) as exc:
        # Both already read `PATH[:LINE[:COL]]: error: message`.
        click.echo(str(exc), err=True)
        sys.exit(1)
    except OSError as exc:
        fail_at(str(exc.filename or "-"), (exc.strerror or str(exc)).lower())
    data = report_dict(result, traces, engines)
    if report_path is not None:
        atomic_write(report_path, (json.dumps(data, indent=2) + "\n").encode())
    if not quiet:
        print_summary(data)
    if result.mismatches:
        sys.exit(EXIT_MISMATCH)
    if fail_on_deny and result.denied:
        sys.exit(EXIT_DENIED)
