"""``ramguard traces``: make realistic ActionTrail traces for demos, tests and benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from compiler.catalog import default_catalog
from compiler.cli.common import catalog_option, fail, refuse_clashes
from compiler.language.diagnostics import counted
from compiler.language.sources import expand_paths
from compiler.policy import compile_rules
from compiler.replay import generate_events, write_events, write_trace
from compiler.replay.generate import write_delivery_tree


@click.group("traces")
def command() -> None:
    """Generate ActionTrail traces."""


@command.command("generate")
@click.option(
    "--events", "count", type=click.IntRange(min=0), required=True, help="How many events."
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Random seed: the same seed gives the same bytes.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Output file (.gz compresses; `-`: stdout); with --layout actiontrail-oss, the root "
    "directory.",
)
@click.option(
    "--rules",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Rules whose denies the leaked keys' calls are blocked by (default: `policies` when "
    "that directory exists, else none: no call is recorded as blocked).",
)
@catalog_option
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "array"]), default="jsonl", show_default=True
)
@click.option(
    "--layout",
    type=click.Choice(["file", "actiontrail-oss"]),
    default="file",
    show_default=True,
    help="file: one trace file; actiontrail-oss: gzip'd arrays in ActionTrail's OSS delivery "
    "tree (AliyunLogs/Actiontrail/[rd/account/]region/YYYY/MM/DD/…).",
)
@click.option(
    "--accounts",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="actiontrail-oss: accounts (more than 1: a multi-account trail's tree).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="actiontrail-oss: days the events are spread over.",
)
@click.option(
    "--per-file",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="actiontrail-oss: events in one delivery file at most.",
)
def generate(
    count: int,
    seed: int,
    out: Path,
    rules: tuple[Path, ...],
    catalog,
    fmt: str,
    layout: str,
    accounts: int,
    days: int,
    per_file: int,
    quiet: bool,
) -> None:
    """Write COUNT realistic events: many principals and AccessKeys, a skewed mix of
    operations, IPs inside and outside corporate ranges, with and without MFA; calls by
    leaked keys that the rules deny carry the recorded `Forbidden` leaked-key error.

    \b
    Examples:
      ramguard traces generate --events 100000 --seed 7 --out /tmp/trace.jsonl
      ramguard traces generate --events 200000 --layout actiontrail-oss \\
          --accounts 3 --days 2 --out /tmp/trail
    """
    ctx = click.get_current_context()
    given = [
        f"--{name.replace('_', '-')}"
        for name in ("accounts", "days", "per_file")
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT
    ]
    if layout == "file" and given:
        # As simulate's --workers without --engine dask: an option that would change nothing.
        fail(f"{', '.join(given)}: for --layout actiontrail-oss only", 2)
    if layout == "actiontrail-oss" and ctx.get_parameter_source("fmt") is not (
        ParameterSource.DEFAULT
    ):
        fail("--format: --layout actiontrail-oss writes gzip'd JSON arrays, as ActionTrail does", 2)
    to_stdout = str(out) == "-"  # JSON lines (or an array) on stdout: `| simulate --trace -`
    if to_stdout and layout == "actiontrail-oss":
        raise click.BadParameter(
            "`-` is not stdout here: with --layout actiontrail-oss --out is the root directory "
            "of the delivery tree",
            param_hint="--out",
        )
    if not rules and Path("policies").is_dir():
        rules = (Path("policies"),)
    if not to_stdout and layout == "file":
        refuse_clashes([("--out", out)], [("--rules", p) for p in expand_paths(rules)])
    if rules:
        policy = compile_rules(rules, catalog)

        def denied(action: str) -> bool:
            return policy.decide(action).denied
    else:
        if not quiet:
            click.echo("note: no rules (no --rules, no ./policies): no call is blocked", err=True)

        def denied(action: str) -> bool:
            return False

    # An overlay's operations of the services a trace calls are called too.
    events = generate_events(count, seed, catalog or default_catalog(), denied)
    if layout == "actiontrail-oss":
        files = write_delivery_tree(
            out, events, accounts=accounts, days=days, seed=seed, per_file=per_file, total=count
        )
        if not quiet:
            click.echo(
                f"wrote {counted(count, 'event')} in {counted(len(files), 'delivery file')} "
                f"under {out}",
                err=True,
            )
        return
    if to_stdout:
        sys.stdout.flush()
        write_events(sys.stdout.buffer, events, fmt=fmt)
        sys.stdout.buffer.flush()
    else:
        write_trace(out, events, fmt=fmt)
    if not quiet:
        where = "stdout" if to_stdout else out
        click.echo(f"wrote {counted(count, 'event')} to {where}", err=True)
