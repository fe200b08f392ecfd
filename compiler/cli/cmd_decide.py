"""``ramguard decide``: one request, one JSON decision."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..keys import ram_key
from ..policy import compile_rules
from .common import fail


def parse_context(pairs: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` options → a context dict; keys are RAM keys or language names."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"`{pair}`: expected KEY=VALUE", param_hint="--context")
        canonical = ram_key(key) or key
        if canonical in context:
            raise click.BadParameter(f"`{key}` given twice", param_hint="--context")
        context[canonical] = value
    return context


@click.command("decide")
@click.option(
    "--rules",
    "rules",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Rules file or directory (repeatable).",
)
@click.argument("action")
@click.option(
    "--context",
    "-c",
    "context",
    multiple=True,
    metavar="KEY=VALUE",
    help="Request context, e.g. source_ip=1.2.3.4 or acs:MFAPresent=true (repeatable).",
)
def command(rules: tuple[Path, ...], action: str, context: tuple[str, ...]) -> None:
    """Decide one ACTION (`ecs:RunInstances`) against the rules; print JSON.

    \b
    Example:
      ramguard decide --rules policies ecs:RunCommand -c source_ip=203.0.113.9 -c mfa=false
    """
    if ":" not in action:
        fail(f"`{action}` is not an action: expected CODE:Operation, e.g. ecs:RunInstances", 2)
    ctx = parse_context(context)
    policy = compile_rules(rules)
    click.echo(json.dumps(policy.decide(action, ctx).to_dict(), ensure_ascii=False))
