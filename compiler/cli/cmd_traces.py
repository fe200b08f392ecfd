"""``ramguard traces``: make realistic ActionTrail traces for demos, tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.catalog import default_catalog
from compiler.policy import compile_rules
from compiler.replay import generate_events, write_trace


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
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Output file; .gz compresses.",
)
@click.option(
    "--rules",
    multiple=True,
    type=click.Path(path_type=Path),
    default=[Path("policies")],
    show_default=True,
    help="Rules whose denies the leaked keys' calls are blocked by.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "array"]), default="jsonl", show_default=True
)
def generate(count: int, seed: int, out: Path, rules: tuple[Path, ...], fmt: str) -> None:
    """Write COUNT realistic events: many principals and AccessKeys, a skewed mix of
    operations, IPs inside and outside corporate ranges, with and without MFA; calls by
    leaked keys that the rules deny carry the recorded `Forbidden` leaked-key error.

    \b
    Example:
      ramguard traces generate --events 100000 --seed 7 --out /tmp/trace.jsonl
    """
    policy = compile_rules(rules)

    def denied(action: str) -> bool:
        return policy.decide(action).denied

    events = generate_events(count, seed, default_catalog(), denied)
    write_trace(out, events, fmt=fmt)
    click.echo(f"wrote {count:,} events to {out}", err=True)
