"""``ramguard decide``: one request, one JSON decision."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.common import (
    action_argument,
    catalog_option,
    context_option,
    parse_context,
    quiet_option,
    resource_option,
    rules_option,
    warn_unknown_action,
)
from compiler.policy import compile_rules


@click.command("decide")
@rules_option
@action_argument
@resource_option
@context_option
@quiet_option
@catalog_option
def command(
    rules: tuple[Path, ...],
    action: str,
    resource: str | None,
    context: tuple[str, ...],
    quiet: bool,
    catalog,
) -> None:
    """Decide one ACTION (`ecs:RunInstances`) against the rules; print JSON.

    \b
    Example:
      ramguard decide --rules policies ecs:RunCommand -c source_ip=203.0.113.9 -c mfa=false
      ramguard decide --rules policies ecs:DeleteInstance \\
        --resource acs:ecs:cn-hangzhou:123:instance/i-prod1 -c resource_tag:env=prod
    """
    ctx = parse_context(context)
    policy = compile_rules(rules, catalog)
    if not quiet:
        warn_unknown_action(action, catalog)
    decision = policy.decide(action, ctx, resource).to_dict()
    if resource is not None:
        decision = {"action": action, "resource": resource, **decision}
    click.echo(json.dumps(decision, ensure_ascii=False))
