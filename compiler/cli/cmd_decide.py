"""``ramguard decide``: one request, one JSON decision."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.common import (
    account_option,
    action_argument,
    catalog_option,
    context_option,
    org_for_account,
    org_option,
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
@account_option
@org_option
@quiet_option
@catalog_option
def command(
    rules: tuple[Path, ...],
    action: str,
    resource: str | None,
    context: tuple[str, ...],
    account: str | None,
    org_path: Path | None,
    quiet: bool,
    catalog,
) -> None:
    """Decide one ACTION (`ecs:RunInstances`) against the rules; print JSON.

    \b
    Example:
      ramguard decide --rules policies ecs:RunCommand -c source_ip=203.0.113.9 -c mfa=false
      ramguard decide --rules policies ecs:DeleteInstance \\
        --resource acs:ecs:cn-hangzhou:123:instance/i-prod1 -c resource_tag:env=prod
      ramguard decide --rules examples/org-allowlist --account 1111111111111111 fc:CreateFunction

    With --account the request is decided along the account's chain in org.toml (Root →
    folders → account): the JSON adds `account`, `stopped_at` and per node its `outcome`.
    """
    policy = compile_rules(rules, catalog)
    org = org_for_account(policy, rules, org_path, account)
    # After compiling: an acs: key is a key where an unchecked rule of the decision tests it.
    ctx = parse_context(context, policy.reads(action, org, account) if context else ())
    if not quiet:
        warn_unknown_action(action, catalog)
    if org is not None and account is not None:
        decision = policy.decide_chain(org, account, action, ctx, resource).to_dict()
    else:
        decision = policy.decide(action, ctx, resource).to_dict()
    if resource is not None:
        decision = {"action": action, "resource": resource, **decision}
    click.echo(json.dumps(decision, ensure_ascii=False))
