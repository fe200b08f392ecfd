"""``ramguard decide``: one request, one JSON decision."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.common import action_argument, context_option, parse_context, rules_option
from compiler.policy import compile_rules


@click.command("decide")
@rules_option
@action_argument
@context_option
def command(rules: tuple[Path, ...], action: str, context: tuple[str, ...]) -> None:
    """Decide one ACTION (`ecs:RunInstances`) against the rules; print JSON.

    \b
    Example:
      ramguard decide --rules policies ecs:RunCommand -c source_ip=203.0.113.9 -c mfa=false
    """
    ctx = parse_context(context)
    policy = compile_rules(rules)
    click.echo(json.dumps(policy.decide(action, ctx).to_dict(), ensure_ascii=False))
