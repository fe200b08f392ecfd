"""``ramguard explain``: why one request is denied or not."""

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
    resource_option,
    rules_option,
    text_or_json_option,
)
from compiler.cli.render import chain_to_renderable, stdout_console, to_renderable
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
@account_option
@org_option
@text_or_json_option
@catalog_option
def command(
    rules: tuple[Path, ...],
    action: str,
    resource: str | None,
    context: tuple[str, ...],
    all_rules: bool,
    account: str | None,
    org_path: Path | None,
    fmt: str,
    catalog,
) -> None:
    """Explain the decision for ACTION (`ecs:RunCommand`): each rule considered, whether its
    actions match, and each condition's outcome on the request.

    \b
    Example:
      ramguard explain --rules policies ecs:RunCommand -c source_ip=10.1.2.3 -c mfa=false
      ramguard explain --rules examples/org-allowlist --account 1111111111111111 fc:CreateFunction

    With --account: per node of the account's chain in org.toml (Root first), the policies
    attached, the Deny and Allow rules that match, and the node that ended the evaluation.
    """
    policy = compile_rules(rules, catalog)
    org = org_for_account(policy, rules, org_path, account)
    # After compiling: an acs: key is a key where an unchecked rule of the decision tests it.
    ctx = parse_context(context, policy.reads(action, org, account) if context else ())
    if org is not None and account is not None:
        from compiler.decide.explain_chain import explain_chain

        if all_rules:
            # The chain's explanation lists each node's matching rules, not every rule.
            raise click.UsageError("--all is for a request without --account")

        chained = explain_chain(policy, org, account, action, ctx, resource=resource)
        if fmt == "json":
            click.echo(json.dumps(chained.to_dict(), ensure_ascii=False, indent=2))
            return
        stdout_console().print(chain_to_renderable(chained))
        return
    result = explain(policy, action, ctx, all_rules=all_rules, resource=resource)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    stdout_console().print(to_renderable(result))
