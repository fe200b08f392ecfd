"""``ramguard explain``: why one request is denied or not."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.common import (
    action_argument,
    catalog_option,
    context_option,
    parse_context,
    resource_option,
    rules_option,
    text_or_json_option,
)
from compiler.cli.render import stdout_console, to_renderable
from compiler.decide.explain import explain
from compiler.policy import compile_rules


@click.command("explain")
@rules_option
@action_argument
@resource_option
@context_option
@click.option(
    "--all",
    "all_rules",
    is_flag=True,
    help="Trace every rule, not only those whose service could apply.",
)
@text_or_json_option
@catalog_option
def command(
    rules: tuple[Path, ...],
    action: str,
    resource: str | None,
    context: tuple[str, ...],
    all_rules: bool,
    fmt: str,
    catalog,
) -> None:
    """Explain the decision for ACTION (`ecs:RunCommand`): each rule considered, whether its
    actions match, and each condition's outcome on the request.

    \b
    Example:
      ramguard explain --rules policies ecs:RunCommand -c source_ip=10.1.2.3 -c mfa=false
    """
    ctx = parse_context(context)
    policy = compile_rules(rules, catalog)
    result = explain(policy, action, ctx, all_rules=all_rules, resource=resource)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    stdout_console().print(to_renderable(result))
